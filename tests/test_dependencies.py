"""The apps depend on each other in one direction: accounts <- tickets <- messaging <- reports.

Read from the source (every import statement), not from what happens to be loaded:
- accounts imports no other app;
- a model, service, selector or notification module imports only from apps to its left;
- no app imports the project package (helpdesk_site: settings, URLs, site-wide views), except
  its tests.
Views, admin, forms, commands and the operations modules that compose tickets with their
conversations (tickets/demo.py, transfer.py, housekeeping.py) may use any app to their right too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["accounts", "tickets", "messaging", "reports"]
CORE_MODULES = {"models.py", "services.py", "selectors.py", "notifications.py"}


def app_imports(path: Path) -> set[str]:
    """The project packages a module imports (absolute imports; relative ones stay inside)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & {*ORDER, "helpdesk_site", "api"}


def modules(app: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


@pytest.mark.parametrize("app", ORDER)
def test_no_app_imports_the_project_package(app):
    offenders = [
        str(p.relative_to(ROOT)) for p in modules(app) if "helpdesk_site" in app_imports(p)
    ]
    assert offenders == []


def test_accounts_imports_no_other_app():
    offenders = {
        str(p.relative_to(ROOT)): sorted(app_imports(p) - {"accounts"}) for p in modules("accounts")
    }
    assert {path: apps for path, apps in offenders.items() if apps} == {}


@pytest.mark.parametrize("app", ORDER)
def test_models_and_services_import_only_apps_to_their_left(app):
    allowed = set(ORDER[: ORDER.index(app) + 1])
    offenders = {
        str(p.relative_to(ROOT)): sorted(app_imports(p) - allowed)
        for p in modules(app)
        if p.name in CORE_MODULES
    }
    assert {path: apps for path, apps in offenders.items() if apps} == {}


def test_the_scan_sees_imports():
    """The scan itself: it finds the imports a module really has."""
    assert app_imports(ROOT / "messaging" / "services.py") >= {"tickets"}
    assert app_imports(ROOT / "tickets" / "admin.py") >= {"accounts", "messaging"}


@pytest.mark.parametrize("app", [*ORDER, "helpdesk_site"])
def test_nothing_imports_the_api(app):
    """api/ sits on top of the apps (their services and selectors); nothing imports from it (the
    URLconf and the settings name it in strings)."""
    offenders = [str(p.relative_to(ROOT)) for p in modules(app) if "api" in app_imports(p)]
    assert offenders == []


def test_the_api_imports_no_project_package():
    offenders = [
        str(p.relative_to(ROOT)) for p in modules("api") if "helpdesk_site" in app_imports(p)
    ]
    assert offenders == []
