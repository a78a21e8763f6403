"""Compile the project's translations (LOCALE_PATHS: locale/<lang>/LC_MESSAGES/django.po) to
the .mo files Django reads, with polib: no GNU gettext needed on the machine (Django's own
compilemessages calls msgfmt). Fuzzy entries are left out, as msgfmt does. A .mo newer than
its .po is left alone."""

import os
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogues() -> list[Path]:
    found = (Path(directory).glob("*/LC_MESSAGES/*.po") for directory in settings.LOCALE_PATHS)
    return sorted(po for pos in found for po in pos)


def compile_po(po_path: Path, *, force: bool = False) -> bool:
    """Write po_path's .mo beside it; False when it was up to date already."""
    mo_path = po_path.with_suffix(".mo")
    if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return False
    try:
        catalogue = polib.pofile(str(po_path))
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read {po_path}: {exc}") from None
    # Written beside it, then moved into place: a reader (or a second compiler, as test
    # workers start) never sees half a file.
    partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
    catalogue.save_as_mofile(str(partial))
    os.replace(partial, mo_path)
    return True


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/django.po to .mo (with polib; no gettext needed)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Compile even if up to date.")

    def handle(self, *args, force: bool = False, **options):
        found = catalogues()
        compiled = [po for po in found if compile_po(po, force=force)]
        if options["verbosity"] > 0:
            self.stdout.write(f"{len(compiled)} of {len(found)} catalogues compiled.")
