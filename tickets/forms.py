import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from messaging.forms import AttachmentsField

from .models import CUSTOMER_STATUS_LABELS, Category, Tag, Ticket, TicketQuerySet
from .services import TRIAGE_FIELDS, parse_tags, tag_key

User = get_user_model()


class HiddenFieldErrorsMixin:
    """A hidden field has nowhere to show its error: say it above the form instead."""

    def clean(self):
        cleaned = super().clean()
        if any(
            name in self._errors and isinstance(field.widget, forms.HiddenInput)
            for name, field in self.fields.items()
        ):
            self.add_error(None, _("This form is out of date or was altered; reload the page."))
        return cleaned


class TicketCreateForm(HiddenFieldErrorsMixin, forms.ModelForm):
    """What a reporter may set: nothing else in the POST is looked at."""

    client_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    files = AttachmentsField()

    class Meta:
        model = Ticket
        fields = ["title", "description", "category", "priority"]
        widgets = {
            "title": forms.TextInput(attrs={"autofocus": True, "maxlength": 200}),
            "description": forms.Textarea(attrs={"rows": 8, "maxlength": 20_000}),
        }
        labels = {
            "title": _("Title"),
            "description": _("Description"),
            "category": _("Category"),
            "priority": _("Priority"),
        }
        help_texts = {
            "title": _("A short summary, up to 200 characters."),
            "description": _("What happened, what you expected, and anything you already tried."),
            "category": _("Optional: what it is about, if one fits."),
        }

    def __init__(self, *args, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if staff:
            # Staff open tickets for customers; a customer's form has no such field, so a
            # "customer" in their POST is never read.
            self.fields["customer"] = forms.CharField(
                label=_("Customer"),
                required=False,
                max_length=254,
                help_text=_(
                    "Their username or email address. A new address gets an account (without a "
                    "password until they choose one). Leave empty to report it yourself."
                ),
                widget=forms.TextInput(
                    attrs={
                        "autofocus": True,
                        "autocomplete": "off",
                        "maxlength": 254,
                        "list": "customer-suggestions",
                        "data-customer-search": reverse_lazy("tickets:customers"),
                    }
                ),
            )
            self.fields["title"].widget.attrs.pop("autofocus", None)
            self.order_fields(["customer"])
        # Only the categories offered now; none at all hides the field.
        offered = Category.objects.filter(active=True)
        if offered.exists():
            self.fields["category"].queryset = offered
            self.fields["category"].empty_label = _("Not sure")
        else:
            del self.fields["category"]
        if not self.is_bound:
            self.initial.setdefault("client_token", uuid.uuid4())


class _TicketChangeForm(HiddenFieldErrorsMixin, forms.Form):
    """A change to an existing ticket carries the version the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


class StatusForm(_TicketChangeForm):
    status = forms.ChoiceField(choices=Ticket.Status.choices)


class PriorityForm(_TicketChangeForm):
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)


class AssignForm(_TicketChangeForm):
    assignee = forms.ModelChoiceField(
        # Only what the choices show: the users' other columns (password hashes) stay put.
        queryset=User.objects.staff().order_by("username").only("pk", "username"),
        required=False,
        empty_label=_("Unassigned"),
    )


class TriageForm(HiddenFieldErrorsMixin, forms.Form):
    """The staff ticket page's triage panel: status, priority, assignee, category and tags, one
    Save. Each field comes with its value as the page showed it (`shown_<field>`, hidden): a field
    whose value is still the shown one is not a change, and a field left out of the POST (the
    "Take it" button sends the assignee only) is not either. `changes` and `shown` are what
    tickets.services.ticket_triage takes."""

    status = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, required=False)
    assignee = forms.ModelChoiceField(
        # Only what the choices show: the users' other columns (password hashes) stay put.
        queryset=User.objects.staff().order_by("username").only("pk", "username"),
        required=False,
        empty_label=_("Unassigned"),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.only("pk", "name", "active"),
        required=False,
        empty_label=_("No category"),
    )
    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text=_("Separated by commas."),
        widget=forms.TextInput(attrs={"maxlength": 1000, "autocomplete": "off"}),
    )
    shown_status = forms.CharField(required=False, widget=forms.HiddenInput, max_length=16)
    shown_priority = forms.CharField(required=False, widget=forms.HiddenInput, max_length=16)
    shown_assignee = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    shown_category = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    shown_tags = forms.CharField(required=False, widget=forms.HiddenInput, max_length=1000)

    def __init__(self, *args, ticket: Ticket, **kwargs):
        """Bound to a POST: the page draws the panel from the ticket (tickets.views)."""
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (value, label)
            for value, label in Ticket.Status.choices
            if value == ticket.status or value in Ticket.TRANSITIONS[ticket.status]
        ]

    @staticmethod
    def values_of(ticket: Ticket) -> dict:
        """The fields' values for `ticket`, as the form shows them."""
        return {
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": ticket.assignee_id,
            "category": ticket.category_id,
            "tags": ", ".join(ticket.tag_names),
        }

    def clean_tags(self):
        return parse_tags(self.cleaned_data["tags"])

    def clean(self):
        cleaned = super().clean()
        self.changes, self.shown = {}, {}
        for field in TRIAGE_FIELDS:
            if field not in self.data or field in self.errors:
                continue
            value = cleaned.get(field)
            shown = cleaned.get(f"shown_{field}")
            if field == "tags":
                try:
                    shown = tag_key(parse_tags(shown or ""))
                except forms.ValidationError:
                    self.add_error(
                        None, _("This form is out of date or was altered; reload the page.")
                    )
                    continue
                key = tag_key(value or [])
            elif field in ("assignee", "category"):
                key = value.pk if value is not None else None
            else:
                key, shown = value or None, shown or None
                if key is None:
                    continue  # an empty status or priority is no change
            if key != shown:
                self.changes[field] = value
                self.shown[field] = shown
        return cleaned


class ReplyForm(HiddenFieldErrorsMixin, forms.Form):
    content = forms.CharField(
        label=_("Your reply"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 10_000, "class": "form-control"}),
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput)
    files = AttachmentsField()

    def __init__(self, *args, allow_internal: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if allow_internal:
            self.fields["is_internal"] = forms.BooleanField(
                label=_("Internal note (staff only; the reporter does not see it)"),
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )
            self.fields["files"].help_text = "{} {}".format(
                self.fields["files"].help_text, _("An internal note's files are internal too.")
            )
            # Staff: the newest public message the page showed (a reply is held when a newer one
            # came meanwhile), and "Send and close" (the split button's other half).
            self.fields["seen_message"] = forms.IntegerField(
                required=False, min_value=0, max_value=2**63 - 1, widget=forms.HiddenInput
            )
            self.fields["send"] = forms.ChoiceField(
                choices=[("reply", _("Send reply")), ("close", _("Send and close"))], required=False
            )
        if not self.is_bound:
            self.initial.setdefault("client_token", uuid.uuid4())


class TicketFilterForm(forms.Form):
    STATUS_CHOICES = [("", _("Not closed")), *Ticket.Status.choices, ("all", _("All"))]
    ASSIGNEE_CHOICES = [("", _("Anyone")), ("me", _("Assigned to me")), ("none", _("Unassigned"))]
    WAITING_CHOICES = [
        ("", _("Any")),
        ("replied", _("Customer replied")),
        ("customer", _("Waiting on customer")),
    ]

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    priority = forms.ChoiceField(
        choices=[("", _("Any priority")), *Ticket.Priority.choices], required=False
    )
    assignee = forms.ChoiceField(choices=ASSIGNEE_CHOICES, required=False)
    category = forms.ChoiceField(required=False)
    waiting = forms.ChoiceField(choices=WAITING_CHOICES, required=False, label=_("Last reply"))
    tag = forms.CharField(required=False, max_length=Tag.MAX_LENGTH, strip=True)
    # One customer's tickets (the ticket page's customer panel links here): their user id.
    reporter = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    # The search (tickets/search.py): any text is a search, longer than it reads is cut there.
    q = forms.CharField(required=False, strip=True, label=_("Search"))
    sort = forms.ChoiceField(
        choices=[(key, key) for key in [*TicketQuerySet.SORTS, "best"]],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, staff: bool = False, categories=(), **kwargs):
        """`categories`: (id, name) of every one, retired ones too (their tickets stay in
        them), for staff's category filter; none, no filter."""
        super().__init__(*args, **kwargs)
        if staff and categories:
            self.fields["category"].choices = [("", _("Any category")), *categories]
        else:
            del self.fields["category"]
        if not staff:
            # The customer's words for the statuses, and their default (for_reporter_default).
            self.fields["status"].choices = [
                ("", _("Not closed, or with a new reply")),
                *CUSTOMER_STATUS_LABELS.items(),
                ("all", _("All")),
            ]
            del self.fields["waiting"]
            del self.fields["tag"]
            del self.fields["reporter"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sort") == "best" and not cleaned.get("q"):
            # "Best match" means nothing without a search: the list's own order instead.
            cleaned["sort"] = ""
        return cleaned


class BulkActionForm(forms.Form):
    """The staff list's action on the tickets ticked on its page."""

    MAX_TICKETS = 100

    tickets = forms.ModelMultipleChoiceField(
        queryset=Ticket.objects.only("pk"),
        error_messages={"required": _("Tick the tickets to change first.")},
    )
    action = forms.ChoiceField(error_messages={"required": _("Choose what to do with them.")})
    tag = forms.CharField(required=False, max_length=Tag.MAX_LENGTH, strip=True)
    # Where the list was, to go back to it.
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, agents=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = self.action_choices(agents, categories)

    @staticmethod
    def action_choices(agents, categories) -> list:
        """The actions, grouped as the menu shows them; `agents` and `categories` (id, name)."""
        return [
            ("", _("Choose an action…")),
            (
                _("Assign"),
                [("take", _("Take them (assign to me)"))]
                + [
                    (f"assign:{pk}", _("Assign to %(name)s") % {"name": name})
                    for pk, name in agents
                ]
                + [("assign:", _("Unassign"))],
            ),
            (_("Status"), [("close", _("Close")), ("reopen", _("Reopen"))]),
            (
                _("Priority"),
                [
                    (
                        f"priority:{value}",
                        _("Priority %(priority)s") % {"priority": str(label).lower()},
                    )
                    for value, label in Ticket.Priority.choices
                ],
            ),
            (
                _("Category"),
                [
                    (f"category:{pk}", _("Put in %(name)s") % {"name": name})
                    for pk, name in categories
                ]
                + [("category:", _("No category"))],
            ),
            (_("Tag"), [("tag", _("Add the tag typed beside"))]),
        ]

    def clean_tickets(self):
        tickets = self.cleaned_data["tickets"]
        if len(tickets) > self.MAX_TICKETS:
            raise forms.ValidationError(
                _("At most %(count)d tickets at once.") % {"count": self.MAX_TICKETS}
            )
        return tickets

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "tag":
            try:
                names = parse_tags(cleaned.get("tag", ""))
            except forms.ValidationError as exc:
                self.add_error("tag", exc)
            else:
                if len(names) != 1:
                    self.add_error("tag", _("Type one tag to add (no commas)."))
                else:
                    cleaned["tag"] = names[0]
        return cleaned
