"""The file field of the forms that take attachments (new ticket, reply or note, the admin)."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .attachments import ALLOWED_IN_WORDS
from .services import check_files


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


def _attachments_help() -> str:
    return _("Up to %(count)d files of at most %(size)s each: %(types)s.") % {
        "count": settings.ATTACHMENT_MAX_FILES,
        "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        "types": ALLOWED_IN_WORDS,
    }


def _attachment_words() -> str:
    """The words static/js/attachments.js shows, as JSON, in the active language."""
    return json.dumps(
        {
            "list": _("Files to send"),
            "remove": _("Remove"),
            "removeFile": _("Remove %(name)s"),
            "bytes": _("%(size)s bytes"),
            "tooLarge": _("too large: at most %(size)s"),
            "tooMany": _("%(count)s files: a message may carry at most %(max)s."),
        }
    )


class AttachmentsField(forms.FileField):
    """Several files (Django's documented multiple-upload field), each read and checked here:
    the count, the size and the type from the bytes. Cleans to a list of CheckedFile, which the
    services store without reading them again; a refusal names each refused file."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        # An empty file is refused by check_files, with its name.
        kwargs.setdefault("allow_empty_file", True)
        kwargs.setdefault("label", gettext_lazy("Attach files"))
        kwargs.setdefault("help_text", lazy(_attachments_help, str)())
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {
                "class": "form-control",
                "data-attachments": "",
                "data-max-files": settings.ATTACHMENT_MAX_FILES,
                "data-max-bytes": settings.ATTACHMENT_MAX_BYTES,
                # static/js/attachments.js's words, in the reader's language.
                "data-words": lazy(_attachment_words, str)(),
            }
        )

    def has_changed(self, initial, data) -> bool:
        return bool(data)  # files were sent

    def clean(self, data, initial=None):
        uploads = [
            super(AttachmentsField, self).clean(upload, initial)
            for upload in (data if isinstance(data, list | tuple) else [data])
            if upload
        ]
        try:
            return check_files(uploads)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["files"]) from None
