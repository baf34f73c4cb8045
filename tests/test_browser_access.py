"""Browser tests of the public screen and access control (Chromium via Playwright)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import _add_users, counts, login, serve
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.ui import map_component
from xkld_geo.ui.navigation import MENU, MENU_SELECTOR, PUBLIC_SECTION

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


def test_anonymous_visitor_reaches_the_public_screen(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/Cong_khai")
    counts(page, "choropleth", 34)
    page.get_by_text("Kết quả đưa lao động").first.wait_for()
    page.get_by_text("Cảnh báo lừa đảo").first.wait_for()
    assert page.external == []


@pytest.mark.parametrize("path", ["/Quan_tri", "/Phan_bo_chi_tieu", "/Thi_truong", "/Nhap_du_lieu",
                                  "/?unit=40&mode=present"])
def test_anonymous_visitor_is_refused_internal_pages_by_url(page: Any, app_url: str, path: str) -> None:
    page.goto(f"{app_url}{path}")
    page.get_by_text("Trang này dành cho cán bộ").wait_for(timeout=30_000)
    assert page.locator(f"iframe[title='{map_component.TITLE}']").count() == 0


def test_planner_cannot_open_user_administration(page: Any, app_url: str) -> None:
    login(page, f"{app_url}/Quan_tri", role="planner")
    page.get_by_text("không có quyền mở trang này").wait_for(timeout=30_000)
    assert page.get_by_text("Nhật ký").count() == 0


def test_admin_opens_user_administration(page: Any, app_url: str) -> None:
    login(page, f"{app_url}/Quan_tri", role="admin")
    page.get_by_text("Quản trị hệ thống").wait_for(timeout=30_000)
    page.get_by_text("b_admin").first.wait_for()


@pytest.mark.parametrize("viewport", [{"width": 1920, "height": 1080}, {"width": 390, "height": 844}])
def test_kiosk_and_phone(browser: Any, app_url: str, viewport: dict[str, int], tmp_path) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{app_url}/Cong_khai?mode=kiosk&unit=46")
    counts(page, "choropleth", 40)
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert page.locator("[data-testid=stSelectbox]").count() == 0
    page.screenshot(path=str(tmp_path / f"kiosk-{viewport['width']}.png"))
    context.close()


def test_menu_shows_vietnamese_titles_and_keeps_the_urls(page: Any, app_url: str) -> None:
    """The sidebar menu names pages as people say them (not after their files); URLs stay the same.
    An anonymous visitor's menu names only the public pages and the login entry; a bookmarked
    internal URL still opens its page (asking for the login), and the full menu comes with it."""
    page.goto(app_url)
    nav = page.locator(MENU_SELECTOR)
    nav.wait_for(timeout=30_000)
    nav.get_by_text("Thông tin công khai", exact=True).first.wait_for(timeout=60_000)
    nav.get_by_text("Đăng nhập cán bộ", exact=True).first.wait_for()
    for title in ("Tổng quan", "Nhóm ưu tiên", "Phân bổ chỉ tiêu", "Nhập dữ liệu", "Quản trị", "Lãnh đạo", "Nghiệp vụ"):
        assert nav.get_by_text(title, exact=True).count() == 0, title
    assert nav.get_by_text("app", exact=True).count() == 0 and nav.get_by_text("Cong khai").count() == 0
    page.goto(f"{app_url}/Nhap_du_lieu")                                  # a bookmark, before login
    page.get_by_text("Trang này dành cho cán bộ").wait_for(timeout=30_000)
    login(page, app_url)                                                 # the front page has the login form
    for title in ("Lãnh đạo", "Tổng quan", "Nhóm ưu tiên", "Thị trường"):    # the internal menu, once logged in
        nav.get_by_text(title, exact=True).first.wait_for()
    assert nav.get_by_text("Đăng nhập cán bộ", exact=True).count() == 0
    page.goto(f"{app_url}/Nhap_du_lieu")                                  # the same address, now with a role
    page.get_by_text("không có quyền mở trang này").wait_for(timeout=30_000)


INTERNAL_TITLES = sorted({e.title for section, entries in MENU.items() if section != PUBLIC_SECTION for e in entries}
                         | {section for section in MENU if section != PUBLIC_SECTION})
FILE_TITLES = sorted({p.stem.split("_", 1)[1].replace("_", " ") for p in (PROJECT_ROOT / "pages").glob("*.py")}
                     | {"app"})
"""The menu Streamlit would build from the files under pages/ ("Quan tri", "Nhap du lieu", "app")."""
SIDEBAR_AND_HEADER = """() => [...document.querySelectorAll('[data-testid=stSidebar], header, nav')]
    .map(e => e.innerText).join('\\n') + '\\n' + document.title"""


@pytest.mark.parametrize("path", ["/Quan_tri", "/Nhap_du_lieu"])
def test_an_anonymous_first_visitor_of_an_internal_url_never_sees_an_internal_title(
        browser: Any, real_settings: Settings, tmp_path: Path, path: str) -> None:
    """A server just started (the first visit of its life is the hostile one: until app.py has run
    once, Streamlit runs a file under pages/ by itself and would draw its menu of file names): the
    sidebar, header and title are sampled from the first paint until the page has settled, and never
    name an internal page, neither by its title nor by its file's name."""
    served = tmp_path / "served.duckdb"
    shutil.copyfile(real_settings.db_path, served)
    _add_users(served)
    for url in serve(served, real_settings, tmp_path):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        seen: list[str] = []
        try:
            page.goto(f"{url}{path}", wait_until="commit")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    seen.append(page.evaluate(SIDEBAR_AND_HEADER))
                except Exception:  # noqa: BLE001 - the document is being replaced while it loads
                    pass
                time.sleep(0.02)
            page.get_by_text("Trang này dành cho cán bộ").wait_for(timeout=30_000)
            seen.append(page.evaluate(SIDEBAR_AND_HEADER))
        finally:
            context.close()
        text = "\n".join(seen)
        assert len(seen) > 100                                             # sampled from the first paint on
        shown = [t for t in INTERNAL_TITLES if t in text] + [t for t in FILE_TITLES
                                                              if any(line.strip() == t for line in text.splitlines())]
        assert shown == [], shown
