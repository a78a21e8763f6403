from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import InvalidPage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import trigger_client_event

from accounts.decorators import staff_required
from accounts.models import User
from messaging.models import Message
from messaging.selectors import files_by_message, messages_since, with_files
from messaging.services import (
    reply_and_close,
    ticket_create_with_files,
    ticket_open_for_with_files,
)

from .bulk import apply_to_each
from .forms import (
    AssignForm,
    BulkActionForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TicketCreateForm,
    TicketFilterForm,
    TriageForm,
)
from .models import Category, StaleTicketError, Ticket, TicketQuerySet
from .pagination import CappedPaginator
from .presence import also_viewing
from .search import BEST_MATCH, search_tickets, snippets
from .selectors import (
    customer_suggestions,
    customer_timeline,
    get_ticket_for,
    list_rows,
    other_tickets_of,
    staff_menus,
    ticket_list_for,
    ticket_timeline,
    triage_choices,
)
from .services import (
    TRIAGE_FIELDS,
    TriageConflict,
    ticket_add_tag,
    ticket_assign,
    ticket_mark_seen,
    ticket_set_category,
    ticket_set_priority,
    ticket_triage,
)

STATUS_DONE = {
    Ticket.Status.OPEN: gettext_lazy("The ticket is open again."),
    Ticket.Status.ACTIVE: gettext_lazy("The ticket is now active."),
    Ticket.Status.CLOSED: gettext_lazy("The ticket is closed."),
}


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _form_error_text(form) -> str:
    return " ".join(f"{error}" for errors in form.errors.values() for error in errors)


@login_required
@require_safe
def ticket_list(request: HttpRequest) -> HttpResponse:
    staff = request.user.is_staff
    # Staff filter by category and act on several tickets: the menus' choices.
    menus = staff_menus() if staff else {"agents": [], "categories": []}
    categories = menus["categories"]
    filter_form = TicketFilterForm(request.GET, staff=staff, categories=categories)
    status_code = 200
    if filter_form.is_valid():
        filters = {key: value for key, value in filter_form.cleaned_data.items() if value}
    else:
        messages.error(
            request,
            _("That filter is not valid: %(why)s") % {"why": _form_error_text(filter_form)},
        )
        filter_form = TicketFilterForm(staff=staff, categories=categories)
        filters = {}
        status_code = 400
    text = filters.pop("q", "")
    search = None
    if text:
        search = search_tickets(request.user, text, filters)
        if search.jump is not None:
            return redirect("tickets:detail", search.jump)
        tickets, limit = search.hits, search.limit
    else:
        tickets, limit = ticket_list_for(request.user, **filters), settings.TICKET_LIST_LIMIT
    paginator = CappedPaginator(tickets, settings.TICKETS_PER_PAGE, limit=limit)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        # Any page that is not one of 1..num_pages (0, -1, 1e9, abc, a huge number): a 404 that
        # says so, rather than guessing which page was meant.
        reason = ngettext(
            "That page of tickets does not exist: there is %(count)d page.",
            "That page of tickets does not exist: there are %(count)d pages.",
            paginator.num_pages,
        ) % {"count": paginator.num_pages}
        if paginator.capped and search:
            reason += " " + _("A search shows the newest %(limit)s tickets that match.") % {
                "limit": f"{paginator.limit:,}"
            }
        elif paginator.capped:
            reason += " " + _(
                "A list shows the first %(limit)s tickets in its order: filter it to see others."
            ) % {"limit": f"{paginator.limit:,}"}
        return render(request, "404.html", {"reason": reason}, status=404)
    query = request.GET.copy()
    query.pop("page", None)
    sort = filters.get("sort") or TicketQuerySet.DEFAULT_SORT
    if search:
        rows = search.rows(page.object_list, viewer=request.user)
        snippets(rows, search, user=request.user)
    else:
        rows = list_rows(page.object_list, viewer=request.user)
    context = {
        "page": page,
        "tickets": rows,
        "search": search,
        "is_staff": staff,
        "filter_form": filter_form,
        "query": query.urlencode(),
        "sort_label": SORT_LABELS[sort],
        "sort_links": _sort_links(query, sort),
    }
    if search:
        context.update(_search_links(query))
    if staff:
        # The bulk bar's menu (ticket_bulk checks what it posts against BulkActionForm).
        context["bulk_choices"] = BulkActionForm.action_choices(menus["agents"], categories)
    return render(request, "tickets/list.html", context, status=status_code)


# What each order is called under the list.
SORT_LABELS = {
    "-activity": gettext_lazy("most recent activity first"),
    "activity": gettext_lazy("least recent activity first"),
    "-created": gettext_lazy("newest first"),
    "created": gettext_lazy("oldest first"),
    "priority": gettext_lazy("most urgent first"),
    "-priority": gettext_lazy("least urgent first"),
    "status": gettext_lazy("open, then active, then closed"),
    "-status": gettext_lazy("closed, then active, then open"),
    BEST_MATCH: gettext_lazy("best match first"),
}
# The list's sortable columns, and the order a first click on each gives.
SORT_COLUMNS = {
    "status": "status",
    "priority": "priority",
    "created": "-created",
    "activity": "-activity",
}


def _search_links(query) -> dict[str, str]:
    """A search's other order, and the same search in every status."""
    best, newest, every = query.copy(), query.copy(), query.copy()
    best["sort"] = BEST_MATCH
    newest.pop("sort", None)
    every["status"] = "all"
    return {
        "best_query": best.urlencode(),
        "newest_query": newest.urlencode(),
        "all_statuses_query": every.urlencode(),
        "best_label": SORT_LABELS[BEST_MATCH],
    }


def _sort_links(query, sort: str) -> dict[str, dict]:
    """For each sortable column: the query string its header links to (the same filters, that
    column's order; the sorted column's turns it around) and its aria-sort state."""
    links = {}
    for column, first in SORT_COLUMNS.items():
        sorted_here = sort.lstrip("-") == column
        target = (sort[1:] if sort.startswith("-") else f"-{sort}") if sorted_here else first
        linked = query.copy()
        linked["sort"] = target
        state = "none"
        if sorted_here:
            state = "descending" if sort.startswith("-") else "ascending"
        links[column] = {"query": linked.urlencode(), "state": state}
    return links


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Report a ticket; staff may open it for a customer instead (the form's customer box)."""
    staff = request.user.is_staff
    if request.method != "POST":
        return render(request, "tickets/new.html", {"form": TicketCreateForm(staff=staff)})
    form = TicketCreateForm(request.POST, request.FILES, staff=staff)
    if form.is_valid():
        fields = {
            "title": form.cleaned_data["title"],
            "description": form.cleaned_data["description"],
            "priority": form.cleaned_data["priority"],
            "category": form.cleaned_data.get("category"),
            "client_token": form.cleaned_data.get("client_token"),
            "files": form.cleaned_data["files"],
        }
        customer = form.cleaned_data.get("customer") if staff else ""
        try:
            if customer:
                ticket = ticket_open_for_with_files(agent=request.user, customer=customer, **fields)
            else:
                ticket = ticket_create_with_files(reporter=request.user, **fields)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if customer:
                reporter = ticket.reporter
                messages.success(
                    request,
                    _("Ticket #%(id)s was opened for %(username)s (%(email)s).")
                    % {"id": ticket.pk, "username": reporter.username, "email": reporter.email},
                )
            else:
                messages.success(
                    request,
                    _("Ticket #%(id)s was created. We will be in touch.") % {"id": ticket.pk},
                )
            return redirect(ticket)
    return render(request, "tickets/new.html", {"form": form}, status=400)


@staff_required
@require_safe
def customer_search(request: HttpRequest) -> JsonResponse:
    """The customer box's suggestions (staff only): {"results": [{"username", "email",
    "name"}, ...]} for ?q=."""
    rows = customer_suggestions(request.GET.get("q", ""))
    results = [
        {
            "username": row["username"],
            "email": row["email"],
            "name": f"{row['first_name']} {row['last_name']}".strip(),
        }
        for row in rows
    ]
    return JsonResponse({"results": results})


def _render_detail(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    status: int = 200,
    **staff_parts,
) -> HttpResponse:
    """The ticket page. `staff_parts` (staff only): `triage_form` and `triage_conflicts` (a
    refused triage save), `held` (the messages a held reply did not know of) and `held_send`."""
    user = request.user
    files = files_by_message(ticket, user) if ticket.has_files else {}
    conversation = with_files(Message.receive(ticket, user).entries(), files)
    events = ticket_timeline(ticket, staff=user.is_staff)
    if not user.is_staff:
        events = customer_timeline(events, conversation)
    context = {
        "ticket": ticket,
        "conversation": conversation,
        "ticket_files": files.get(None, []),
        "events": events,
        "reply_form": reply_form or ReplyForm(allow_internal=user.is_staff),
        "is_staff": user.is_staff,
    }
    if user.is_staff:
        context.update(_staff_context(ticket, user, conversation, context["reply_form"]))
        context.update(staff_parts)
        context["triage"] = _triage_panel(
            ticket, staff_parts.get("triage_form"), staff_parts.get("triage_conflicts", {})
        )
    else:
        context["next_statuses"] = ticket.allowed_statuses_for(user)
    return render(request, "tickets/detail.html", context, status=status)


TRIAGE_LABELS = {
    "status": gettext_lazy("Status"),
    "priority": gettext_lazy("Priority"),
    "assignee": gettext_lazy("Assignee"),
    "category": gettext_lazy("Category"),
}
# The pages' refusals: what was refused, and why.
NOTHING_CHANGED = gettext_lazy("Nothing was changed: %(why)s")


def _triage_panel(ticket: Ticket, form: TriageForm | None, conflicts: dict[str, str]) -> dict:
    """The triage panel as the template draws it: each select's options as (value, label)
    strings and the value chosen, the tags, the hidden shown_* values, each field's errors and
    the other person's value after a conflict. Plain lists, not the form's widgets: the agents
    and categories come from the cached staff menus (triage_choices). No form (a plain view of
    the page): the ticket's values, without building one."""
    agents, categories = triage_choices()
    statuses = [
        (value, label)
        for value, label in Ticket.Status.choices
        if value == ticket.status or value in Ticket.TRANSITIONS[ticket.status]
    ]
    options = {
        "status": statuses,
        "priority": Ticket.Priority.choices,
        "assignee": [("", _("Unassigned")), *agents],
        "category": [("", _("No category")), *categories],
    }
    if not categories:
        del options["category"]  # none to choose from: no select
    if form is None:
        shown = TriageForm.values_of(ticket)
        values = {**shown, **{f"shown_{name}": value for name, value in shown.items()}}
    else:
        values = form.data  # a refused POST: what the agent sent

    def value(name: str) -> str:
        raw = values.get(name)
        return "" if raw is None else str(raw)

    errors = form.errors if form is not None else {}
    selects = [
        {
            "name": name,
            "label": TRIAGE_LABELS[name],
            "options": choices,
            "value": value(name),
            "errors": errors.get(name, []),
            "theirs": conflicts.get(name),
        }
        for name, choices in options.items()
    ]
    return {
        "selects": selects,
        "tags": {"value": value("tags"), "errors": errors.get("tags", [])},
        "tags_theirs": conflicts.get("tags"),
        "shown": [(f"shown_{name}", value(f"shown_{name}")) for name in TRIAGE_FIELDS],
        "non_field_errors": form.non_field_errors() if form is not None else [],
    }


def _staff_context(ticket: Ticket, user, conversation: list[dict], reply_form) -> dict:
    """What the staff side of the ticket page adds: the customer panel (one query), who else
    is viewing (one cache read), and the newest messages the page shows (for the held reply
    and the polling), from the conversation already read."""
    public = [entry["pk"] for entry in conversation if not entry["is_internal"]]
    note_tab = reply_form.is_bound and bool(reply_form.data.get("is_internal"))
    return {
        "customer": ticket.reporter,
        "customer_tickets": other_tickets_of(ticket),
        "viewers": also_viewing(ticket.pk, user),
        "last_message_id": max((entry["pk"] for entry in conversation), default=0),
        "last_public_id": max(public, default=0),
        "poll_seconds": settings.TICKET_POLL_SECONDS,
        "note_tab": note_tab,
    }


@login_required
@require_safe
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The staff's page shows the assignee and category in the triage panel, by id, from the
    # cached menus: only the reporter (the customer panel) is read with the ticket.
    if request.user.is_staff:
        ticket = get_ticket_for(request.user, pk, related=("reporter",))
    else:
        ticket = get_ticket_for(request.user, pk)
    if request.method == "GET":
        # Only a GET: a HEAD shows the reporter nothing, so it must not mark the reply seen.
        ticket_mark_seen(ticket=ticket, user=request.user)
    response = _render_detail(request, ticket)
    if request.htmx:
        # "new reply — show it" swapped the conversation in: the live line asks again, with
        # the newest message now shown.
        trigger_client_event(response, "live-refresh", after="settle")
    return response


@login_required
@require_POST
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """A reply, or (staff, the note tab's button) an internal note; "Send and close" closes the
    ticket with it, in one change and one email to the reporter. A staff reply is held, not
    sent, when a public message came after the newest one the page showed: the page says who
    wrote what, keeps the text, and its "Send anyway" sends it."""
    ticket = get_ticket_for(request.user, pk)
    staff = request.user.is_staff
    form = ReplyForm(request.POST, request.FILES, allow_internal=staff)
    if form.is_valid():
        is_internal = form.cleaned_data.get("is_internal", False)
        send = form.cleaned_data.get("send") or "reply"
        seen = form.cleaned_data.get("seen_message")
        held = [] if is_internal or seen is None else messages_since(ticket, seen, request.user)
        if held:
            # The same text again, on a page that shows these messages (and carries the newest
            # as seen): "Send anyway" sends it.
            held_form = ReplyForm(request.POST, allow_internal=True)
            messages.warning(request, _("Your reply was not sent: read what came meanwhile."))
            return _render_detail(
                request,
                ticket,
                reply_form=held_form,
                held=held,
                held_send=send,
                held_files=bool(form.cleaned_data["files"]),
                status=409,
            )
        closing = send == "close"
        message = {
            "ticket": ticket,
            "sender": request.user,
            "content": form.cleaned_data["content"],
            "is_internal": is_internal,
            "client_token": form.cleaned_data["client_token"],
            "files": form.cleaned_data["files"],
        }
        try:
            if closing:  # one change, one email (messaging.services.reply_and_close)
                reply_and_close(closed_by=request.user, **message)
            else:
                Message.send(**message)
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return _render_detail(request, ticket, reply_form=form, status=403)
        else:
            if closing:
                done = (
                    _("Internal note added and the ticket is closed.")
                    if is_internal
                    else _("Reply sent and the ticket is closed.")
                )
            else:
                done = _("Internal note added.") if is_internal else _("Reply sent.")
            messages.success(request, done)
            return redirect(ticket)
    messages.error(request, _("Your reply was not sent; see the form below."))
    return _render_detail(request, ticket, reply_form=form, status=400)


def _change(
    request: HttpRequest,
    pk: int,
    form_class: type,
    apply: Callable[[Ticket, dict], str],
    *,
    staff_action: str = "",
) -> HttpResponse:
    """Validate a change form and apply it; refusals are shown on the ticket page.

    The ticket page is re-rendered with the ticket as it is now, so a stale page is replaced by a
    fresh one; nothing is changed when the form is refused. A `staff_action` is refused to
    non-staff before the form is read, so its errors cannot tell them which user ids are staff.
    """
    ticket = get_ticket_for(request.user, pk)
    if staff_action and not request.user.is_staff:
        messages.error(
            request, _("Nothing was changed: Only staff may %(action)s.") % {"action": staff_action}
        )
        return _render_detail(request, ticket, status=403)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, NOTHING_CHANGED % {"why": _form_error_text(form)})
        return _render_detail(request, ticket, status=400)
    try:
        done = apply(ticket, form.cleaned_data)
    except StaleTicketError as exc:
        messages.error(request, _error_text(exc))
        ticket = get_ticket_for(request.user, pk)
        return _render_detail(request, ticket, status=409)
    except ValidationError as exc:
        messages.error(request, NOTHING_CHANGED % {"why": _error_text(exc)})
        return _render_detail(request, ticket, status=400)
    except PermissionDenied as exc:
        messages.error(request, NOTHING_CHANGED % {"why": exc})
        return _render_detail(request, ticket, status=403)
    messages.success(request, done)
    return redirect(ticket)


@login_required
@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(ticket: Ticket, data: dict) -> str:
        event = ticket.update_status(
            data["status"], by=request.user, expected_version=data["version"]
        )
        if event is None:
            return _("The ticket is already %(status)s.") % {
                "status": ticket.get_status_display().lower()
            }
        return STATUS_DONE[ticket.status]

    return _change(request, pk, StatusForm, apply)


@login_required
@require_POST
def ticket_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(ticket: Ticket, data: dict) -> str:
        assignee = data["assignee"]
        ticket_assign(
            ticket=ticket, assignee=assignee, by=request.user, expected_version=data["version"]
        )
        if assignee:
            return _("Assigned to %(name)s.") % {"name": assignee.username}
        return _("The ticket is unassigned.")

    return _change(request, pk, AssignForm, apply, staff_action=gettext_lazy("assign tickets"))


@login_required
@require_POST
def ticket_priority(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(ticket: Ticket, data: dict) -> str:
        ticket_set_priority(
            ticket=ticket,
            priority=data["priority"],
            by=request.user,
            expected_version=data["version"],
        )
        return _("Priority is %(priority)s.") % {"priority": ticket.get_priority_display().lower()}

    return _change(
        request, pk, PriorityForm, apply, staff_action=gettext_lazy("change the priority")
    )


@staff_required
@require_POST
def ticket_triage_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The triage panel's one Save (and "Take it", which sends the assignee only).

    Refused (409) only when a field this agent changed was changed by someone else since the
    page was shown: the page then shows their value beside each such field and keeps the agent's
    choices, now against the ticket as it is, so Save again keeps the agent's."""
    ticket = get_ticket_for(request.user, pk)
    form = TriageForm(request.POST, ticket=ticket)
    if not form.is_valid():
        messages.error(request, NOTHING_CHANGED % {"why": _form_error_text(form)})
        return _render_detail(request, ticket, triage_form=form, status=400)
    if not form.changes:
        messages.info(request, _("Nothing was changed: the form is as the ticket was."))
        return redirect(ticket)
    try:
        events = ticket_triage(
            ticket=ticket, by=request.user, changes=form.changes, shown=form.shown
        )
    except TriageConflict as exc:
        messages.error(request, _error_text(exc))
        ticket = get_ticket_for(request.user, pk)
        form = TriageForm(_triage_again(request.POST, form, ticket, exc.theirs), ticket=ticket)
        return _render_detail(
            request,
            ticket,
            triage_form=form,
            triage_conflicts=exc.theirs,
            triage_conflict_by=exc.changed_by,
            status=409,
        )
    except ValidationError as exc:
        messages.error(request, NOTHING_CHANGED % {"why": _error_text(exc)})
        return _render_detail(request, ticket, triage_form=form, status=400)
    if list(form.changes) == ["assignee"] and form.changes["assignee"] == request.user:
        messages.success(request, _("You took the ticket."))
    else:
        count = len(events)
        messages.success(
            request,
            ngettext("Saved: %(count)d change.", "Saved: %(count)d changes.", count)
            % {"count": count},
        )
    return redirect(ticket)


def _triage_again(posted, form: TriageForm, ticket: Ticket, conflicts: dict) -> dict:
    """The triage form after a conflict: the agent's changes kept, a conflicting field now
    measured against its new value (Save again keeps the agent's), every other field as the
    ticket is now (so Save again does not undo someone else's change the agent never touched)."""
    now = TriageForm.values_of(ticket)
    data = posted.copy()
    for field in TRIAGE_FIELDS:
        current = "" if now[field] is None else str(now[field])
        if field not in form.changes:
            data[field] = current
        if field not in form.changes or field in conflicts:
            data[f"shown_{field}"] = current
    return data


@staff_required
@require_safe
def ticket_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The staff ticket page's poll (htmx, every TICKET_POLL_SECONDS): who else is viewing, and
    the messages written by others after the newest one the page shows (?seen=). Opened
    without htmx (no JavaScript), it is the ticket page."""
    ticket = get_ticket_for(request.user, pk)
    if not request.htmx:
        return redirect(ticket)
    try:
        seen = int(request.GET.get("seen", "0"))
        if not 0 <= seen <= 2**63 - 1:
            raise ValueError
    except ValueError:
        return HttpResponse("seen: not a message id", status=400, content_type="text/plain")
    new = messages_since(ticket, seen, request.user, internal=True)
    context = {
        "ticket": ticket,
        "viewers": also_viewing(ticket.pk, request.user),
        "new_messages": new,
        "poll_seconds": settings.TICKET_POLL_SECONDS,
    }
    return render(request, "tickets/_live.html", context)


@login_required
@require_POST
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """The staff list's action on the tickets ticked on its page: each ticket through its own
    service (tickets.bulk); then back to the list, which says what was done and refused."""
    if not request.user.is_staff:
        raise Http404(_("No such page."))  # staff pages are not there for customers
    agents = User.objects.staff().values_list("pk", "username")
    categories = Category.objects.values_list("pk", "name")
    form = BulkActionForm(request.POST, agents=agents, categories=categories)
    back = request.POST.get("next", "")
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("tickets:list")
    if not form.is_valid():
        messages.error(request, NOTHING_CHANGED % {"why": _form_error_text(form)})
        return redirect(back)
    verb, change = _bulk_change(request.user, form.cleaned_data)
    ticked = [ticket.pk for ticket in form.cleaned_data["tickets"]]
    tickets = (
        Ticket.objects.visible_to(request.user)
        .filter(pk__in=ticked)
        .select_related("reporter", "assignee")
    )
    for level, text in apply_to_each(tickets.order_by("pk"), change).report(verb):
        messages.add_message(request, level, text)
    return redirect(back)


def _bulk_change(user, data: dict) -> tuple[str, Callable[[Ticket], object]]:
    """What the chosen action says it did, and the service call it makes on each ticket."""
    action, _colon, value = data["action"].partition(":")
    if action == "take":
        return _("Assigned to you:"), lambda t: ticket_assign(ticket=t, assignee=user, by=user)
    if action == "assign":
        agent = User.objects.get(pk=value) if value else None
        verb = (
            _("Assigned to %(name)s:") % {"name": agent.username}
            if agent
            else pgettext("done to tickets", "Unassigned")
        )
        return verb, lambda t: ticket_assign(ticket=t, assignee=agent, by=user)
    if action in ("close", "reopen"):
        status = Ticket.Status.CLOSED if action == "close" else Ticket.Status.OPEN
        verb = pgettext("done to tickets", "Closed") if action == "close" else _("Reopened")
        return verb, lambda t: t.update_status(status, by=user)
    if action == "priority":
        verb = _("Set the priority to %(priority)s on") % {
            "priority": str(Ticket.Priority(value).label).lower()
        }
        return verb, lambda t: ticket_set_priority(ticket=t, priority=value, by=user)
    if action == "category":
        category = Category.objects.get(pk=value) if value else None
        verb = (
            _("Put in %(name)s:") % {"name": category.name}
            if category
            else _("Took the category off")
        )
        return verb, lambda t: ticket_set_category(ticket=t, category=category, by=user)
    tag = data["tag"]
    return _("Tagged %(name)s:") % {"name": tag}, lambda t: ticket_add_tag(
        ticket=t, name=tag, by=user
    )
