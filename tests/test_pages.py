"""Every page of the menu, for every role, generated from the menu itself (xkld_geo/ui/navigation.py):
a page added to the menu is tested by being listed. A role the page's permission allows sees it
render with no exception and no error; any other role is refused with one message and sees no
table; the page's own script asks for the permission the menu declares."""
from __future__ import annotations

import re

import pytest

from tests.conftest import problems, run_page
from xkld_geo.access import auth
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.ui.navigation import MENU

ENTRIES = [entry for entries in MENU.values() for entry in entries]
ROLES = ["public", "viewer", "planner", "clerk", "admin"]


def test_every_page_file_is_in_the_menu() -> None:
    files = {p.name for p in (PROJECT_ROOT / "pages").glob("*.py")}
    assert files == {e.file for e in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.file for e in ENTRIES])
def test_the_page_asks_for_the_permission_the_menu_declares(entry) -> None:
    source = (PROJECT_ROOT / "pages" / entry.file).read_text(encoding="utf-8")
    assert entry.action in auth.PERMISSIONS
    if entry.action == "public_summary":
        assert "require(" not in source
    else:
        asked = re.findall(r"ui\.require\(([^)]*)\)", source)
        assert len(asked) == 1
        assert asked[0] == f'"{entry.action}"' or asked[0].endswith("_ACTION")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.file for e in ENTRIES])
def test_every_page_for_every_role(app_env: Settings, entry, role: str) -> None:
    at = run_page(f"pages/{entry.file}", role=None if role == "public" else role, query={"unit": "99"},
                  settings=app_env)
    assert not at.exception, problems(at)
    if auth.allowed(auth.User("x", "x", role), entry.action):
        assert not at.error, [e.value for e in at.error]
    else:
        assert len(at.error) + len(at.warning) >= 1 and not at.dataframe


def test_an_anonymous_menu_names_only_public_pages() -> None:
    import importlib

    navigation = importlib.import_module("xkld_geo.ui.navigation")   # (xkld_geo.ui.navigation is also a function)
    menu = navigation.anonymous_menu()
    public = {p.title for p in navigation.MENU[navigation.PUBLIC_SECTION]}
    titles = {p.title for entries in menu.values() for p, _ in entries}
    assert titles == public | {navigation.LOGIN_TITLE}                # no internal page's title at all
    assert set(menu) == {navigation.PUBLIC_SECTION, "Cán bộ"}          # no internal section's name either
    shown = [p.title for entries in menu.values() for p, visible in entries if visible]
    assert sorted(shown) == sorted(public | {navigation.LOGIN_TITLE})   # one login entry in the menu
    every = {p.url_path for entries in navigation.MENU.values() for p in entries}
    assert {p.url_path for entries in menu.values() for p, _ in entries} == every   # bookmarks still open


def test_the_anonymous_front_page_asks_for_the_login(app_env) -> None:
    at = run_page("app.py", role=None)
    assert not at.exception and any("dành cho cán bộ" in w.value for w in at.warning)
    assert at.text_input(key="login_user") is not None


def test_no_two_page_files_share_a_number() -> None:
    numbers = [p.name.split("_", 1)[0] for p in (PROJECT_ROOT / "pages").glob("*.py")]
    assert sorted(numbers) == sorted(set(numbers))
