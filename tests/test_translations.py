"""The German and Spanish catalogues (locale/<lang>/LC_MESSAGES/django.po) are complete and
faithful: every string marked in a template or an app's Python file has a translation in each
language that is neither empty nor fuzzy, and every translation keeps its original's
placeholders (%(name)s, {name}, the template's variables, which blocktranslate turns into
%(name)s) and its HTML tags.

Completeness is checked against what `make messages` would extract now: Django's makemessages
(GNU gettext's xgettext and msgmerge) runs over the project seen through a temporary directory
of links, into copies of the catalogues, so the repository's files are never touched. Run
`make messages`, translate what it adds, and this passes again.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

BASE = Path(settings.BASE_DIR)
LANGUAGES = ["de", "es"]
# The same as the Makefile's MESSAGES_IGNORE: tests, benchmarks, commands and the API (a
# program's interface, in English) are not translated.
SOURCES = ["accounts", "tickets", "messaging", "reports", "helpdesk_site", "templates"]
IGNORE = ["*/tests/*", "*/management/*", "tests/*"]

PYTHON_FORMAT = re.compile(r"%\((\w+)\)[sdfir]|%[sdfir]")
BRACE_FORMAT = re.compile(r"\{(\w*)\}")
HTML_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b")


def catalogue(language: str, base: Path = BASE) -> polib.POFile:
    return polib.pofile(str(base / "locale" / language / "LC_MESSAGES" / "django.po"))


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete and entry.msgid]


def untranslated(po: polib.POFile) -> list[str]:
    """The msgids without a usable translation: empty (any plural form) or fuzzy."""
    missing = []
    for entry in live_entries(po):
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if entry.fuzzy or not forms or not all(form.strip() for form in forms):
            missing.append(entry.msgid)
    return missing


def placeholders(text: str) -> tuple:
    """What a translation must keep: named and positional %-placeholders, {} fields and the
    names of the HTML tags, each as a sorted list (a repeated one counts once)."""
    return (
        sorted(set(PYTHON_FORMAT.findall(text))),
        sorted(set(BRACE_FORMAT.findall(text))),
        sorted(set(HTML_TAG.findall(text))),
    )


def placeholder_mismatches(po: polib.POFile) -> list[str]:
    problems = []
    for entry in live_entries(po):
        if entry.msgid_plural:
            # Every form keeps the plural's placeholders; a singular form may spell "one"
            # instead of its number, so it must only use placeholders the original has.
            wanted = placeholders(entry.msgid_plural)
            for index, form in sorted(entry.msgstr_plural.items()):
                got = placeholders(form)
                allowed = (wanted, placeholders(entry.msgid))
                if form and got not in allowed and not (index == 0 and _subset(got, wanted)):
                    problems.append(f"{entry.msgid!r} [{index}]: {got} instead of {wanted}")
        elif entry.msgstr and placeholders(entry.msgstr) != placeholders(entry.msgid):
            problems.append(
                f"{entry.msgid!r}: {placeholders(entry.msgstr)} "
                f"instead of {placeholders(entry.msgid)}"
            )
    return problems


def _subset(got: tuple, wanted: tuple) -> bool:
    return all(set(a) <= set(b) for a, b in zip(got, wanted, strict=True))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_its_placeholders(language):
    assert placeholder_mismatches(catalogue(language)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_in_the_repository_is_complete(language):
    po = catalogue(language)
    assert untranslated(po) == []
    assert po.metadata["Plural-Forms"].startswith("nplurals=2;")


def test_the_checks_catch_a_lost_placeholder_an_empty_and_a_fuzzy_translation():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Signed in as %(username)s.", msgstr="Angemeldet."))
    po.append(polib.POEntry(msgid="No longer in this list: {}.", msgstr="Nicht mehr: {name}."))
    po.append(polib.POEntry(msgid="<strong>Staff only</strong>", msgstr="Nur das Team"))
    po.append(
        polib.POEntry(
            msgid="%(count)d ticket",
            msgid_plural="%(count)d tickets",
            msgstr_plural={0: "ein Ticket", 1: "%(number)d Tickets"},
        )
    )
    po.append(polib.POEntry(msgid="Reply", msgstr=""))
    po.append(polib.POEntry(msgid="Send", msgstr="Senden", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Gone", msgstr="", obsolete=True))

    problems = placeholder_mismatches(po)

    assert [problem.split(":")[0] for problem in problems] == [
        "'Signed in as %(username)s.'",
        "'No longer in this list",
        "'<strong>Staff only</strong>'",
        "'%(count)d ticket' [1]",
    ]
    assert untranslated(po) == ["Reply", "Send"]


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext is not installed")
def test_every_marked_string_is_translated(tmp_path, settings):
    """makemessages over the sources as they are now, merged into copies of the catalogues:
    a string marked since the last `make messages` comes in empty and fails here."""
    tree = tmp_path / "project"
    tree.mkdir()
    for name in SOURCES:
        (tree / name).symlink_to(BASE / name, target_is_directory=True)
    shutil.copytree(BASE / "locale", tree / "locale")
    settings.LOCALE_PATHS = [tree / "locale"]

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tree)
        call_command(
            "makemessages",
            locale=LANGUAGES,
            symlinks=True,
            ignore_patterns=IGNORE,
            add_location="file",
            verbosity=0,
        )

    for language in LANGUAGES:
        po = catalogue(language, tree)
        assert len(live_entries(po)) >= len(live_entries(catalogue(language)))
        assert untranslated(po) == [], f"untranslated in {language}: run `make messages`"
        assert placeholder_mismatches(po) == []


def test_compile_translations_writes_mo_files_django_reads(tmp_path, settings):
    """polib's .mo, read by gettext as Django reads it: a translation and a plural form; a
    second run leaves an up-to-date file alone, --force writes it again, and a broken .po is an
    error that names it."""
    import gettext

    from django.core.management.base import CommandError

    shutil.copytree(BASE / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    mo = tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.mo"

    call_command("compile_translations", verbosity=0)
    german = gettext.GNUTranslations(mo.open("rb"))
    assert german.gettext("Reply sent.") == "Antwort gesendet."
    assert german.ngettext("%(count)d ticket", "%(count)d tickets", 3) == "%(count)d Tickets"

    from accounts.management.commands.compile_translations import compile_po

    assert compile_po(mo.with_suffix(".po")) is False
    assert compile_po(mo.with_suffix(".po"), force=True) is True
    broken = tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po"
    broken.write_text('msgid "a"\nmsgstr "b"\nthis is not a po file\n', encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("compile_translations", "--force", verbosity=0)
