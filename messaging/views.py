"""The one way a stored file leaves the help desk (/tickets/<id>/files/<attachment id>/<name>),
and the whole mail a message came from (/tickets/<id>/messages/<message id>/mail/)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import content_disposition_header, quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts.decorators import staff_required
from tickets.selectors import get_ticket_for

from .attachments import INLINE_TYPES, attachment_storage, logger
from .export import personal_data
from .models import CannedReply
from .selectors import attachment_for, mail_of_message

# Whatever the bytes are, the browser runs nothing from them: no script, no plugin, no form,
# no same-origin access (sandbox), and it believes the type we send (nosniff).
FILE_CSP = "default-src 'none'; sandbox"
# How many canned replies the picker lists at most (typing narrows them).
PICKER_SIZE = 20


@login_required
@require_safe
def attachment_download(
    request: HttpRequest, pk: int, attachment_id: int, name: str
) -> HttpResponse:
    """The file, to someone who may see its ticket (and, for an internal note's file, staff).

    Streamed from the storage with the type sniffed from its bytes (never the uploaded one); a
    raster image is shown inline, anything else is a download. With S3 and ATTACHMENT_REDIRECT,
    the same checks and then a redirect to a signed URL that lasts a minute. `name` is for the
    browser's address bar and "save as" only: the id decides.
    """
    ticket = get_ticket_for(request.user, pk)
    return file_response(request, attachment_for(request.user, ticket, attachment_id))


def file_response(request: HttpRequest, attachment) -> HttpResponse:
    """The response that gives `attachment` (already checked for this person) to the browser or
    a program: the page's download and the API's."""
    inline = attachment.sniffed_type in INLINE_TYPES
    etag = quote_etag(attachment.sha256)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _private(not_modified)
    storage = attachment_storage()
    if settings.ATTACHMENT_REDIRECT and settings.ATTACHMENT_STORAGE_URL:
        url = storage.url(
            attachment.storage_name,
            parameters={
                "ResponseContentType": attachment.sniffed_type,
                "ResponseContentDisposition": content_disposition_header(
                    not inline, attachment.name
                ),
            },
            expire=60,
        )
        return _private(HttpResponseRedirect(url))
    try:
        stored = storage.open(attachment.storage_name, "rb")
    except FileNotFoundError:
        logger.error(
            "attachment %s: its file %s is missing", attachment.pk, attachment.storage_name
        )
        raise Http404(_("No such file.")) from None
    response = FileResponse(
        stored,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.sniffed_type,
    )
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # Kept by the browser only, and asked about again each time: a removed file or a lost
    # permission is not served from a cache (the ETag makes asking again cheap).
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
@require_safe
def message_mail(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """The whole text of the mail a message came from: the conversation shows the reply without
    its quotes and signature; this shows everything, as plain text."""
    ticket = get_ticket_for(request.user, pk)
    inbound = mail_of_message(request.user, ticket, message_id)
    return render(request, "messaging/mail.html", {"ticket": ticket, "inbound": inbound})


@staff_required
@require_safe
def canned_replies(request: HttpRequest, pk: int) -> HttpResponse:
    """The editor's canned-reply picker (staff): the shared replies and the agent's own whose
    title or text holds ?q=, at most PICKER_SIZE, each with its placeholders filled in for this
    ticket. htmx gets the list to put in the picker; without JavaScript it is a page to copy
    from."""
    ticket = get_ticket_for(request.user, pk)
    query = request.GET.get("q", "")[:100]
    replies = (
        CannedReply.objects.usable_by(request.user)
        .search(query)
        .only("pk", "title", "body", "owner_id")[:PICKER_SIZE]
    )
    rows = [
        {
            "title": reply.title,
            "shared": reply.is_shared,
            "text": reply.filled(customer=ticket.reporter, ticket_id=ticket.pk, agent=request.user),
        }
        for reply in replies
    ]
    template = "messaging/_canned_results.html" if request.htmx else "messaging/canned_replies.html"
    return render(request, template, {"ticket": ticket, "replies": rows, "query": query})


@login_required
@require_safe
def my_data(request: HttpRequest) -> StreamingHttpResponse:
    """ "Download my data" (the profile page): the account, its tickets and their public
    messages, as JSON, written as it is read (messaging.export). Routed at accounts/my-data/ by
    the site's URLconf: the accounts app knows nothing of tickets."""
    response = StreamingHttpResponse(personal_data(request.user), content_type="application/json")
    day = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="my-help-desk-data-{day}.json"'
    return response
