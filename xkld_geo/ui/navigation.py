"""The page menu: Vietnamese titles grouped by who uses them, the same URLs as the page files.

Streamlit would name pages after their files ("Cong khai", "app"); ``st.navigation`` gives them
their real titles. A logged-in user's menu lists every page (each page checks the role itself on
the server). An anonymous visitor's menu names only the public pages and one "Đăng nhập cán bộ"
entry (the overview's address, where the login form is): no internal page's title reaches their
browser, in the menu or in the list of pages Streamlit sends. The other internal pages are still
registered (a bookmarked URL opens its page, which asks for the login), hidden from the menu and
under the same neutral title.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import streamlit as st

from xkld_geo.settings import PROJECT_ROOT
from xkld_geo.ui import access, compat
from xkld_geo.ui.common import ANONYMOUS_TITLE, translation_layer


@dataclass(frozen=True)
class PageEntry:
    """One page of the menu: its file under ``pages/``, title, icon, URL path and the permission
    (a key of :data:`xkld_geo.access.auth.PERMISSIONS`) the page asks for. Icons are Material Symbols
    names, whose font ships inside Streamlit's own package: they draw offline and on a kiosk
    without an emoji font (emoji showed as empty boxes there); see :func:`icon_css`."""

    file: str
    title: str
    icon: str
    url_path: str
    action: str


MENU: dict[str, tuple[PageEntry, ...]] = {
    "Lãnh đạo": (
        PageEntry("0_Tong_quan.py", "Tổng quan", ":material/map:", "", "overview"),
        PageEntry("18_Du_bao_cuoi_nam.py", "Dự báo cuối năm", ":material/trending_up:", "Du_bao_cuoi_nam",
                  "overview"),
        PageEntry("2_Nhom_uu_tien.py", "Nhóm ưu tiên", ":material/groups:", "Nhom_uu_tien", "programme"),
        PageEntry("3_Thi_truong.py", "Thị trường", ":material/flight_takeoff:", "Thi_truong", "programme"),
        PageEntry("4_San_viec_lam.py", "Sàn việc làm", ":material/event:", "San_viec_lam", "programme"),
        PageEntry("5_Vay_von_van_de.py", "Vay vốn, về nước, vi phạm", ":material/account_balance:",
                  "Vay_von_van_de", "programme"),
        PageEntry("14_Tuyen_chon_dao_tao.py", "Tuyển chọn, đào tạo", ":material/school:", "Tuyen_chon_dao_tao",
                  "programme"),
        PageEntry("15_Bao_ho_cong_dan.py", "Bảo hộ công dân, vụ việc", ":material/shield_person:",
                  "Bao_ho_cong_dan", "programme"),
        PageEntry("16_Cau_lac_bo_ve_nuoc.py", "Câu lạc bộ gia đình, về nước", ":material/diversity_3:",
                  "Cau_lac_bo_ve_nuoc", "programme"),
        PageEntry("10_Tinh_hinh_bao_cao.py", "Tình hình báo cáo", ":material/inbox:", "Tinh_hinh_bao_cao",
                  "programme"),
        PageEntry("12_Bao_cao_dinh_ky.py", "Báo cáo định kỳ", ":material/description:", "Bao_cao_dinh_ky",
                  "overview"),
        PageEntry("13_Thi_dua.py", "Thi đua cuối năm", ":material/military_tech:", "Thi_dua", "overview"),
    ),
    "Công khai": (
        PageEntry("1_Cong_khai.py", "Thông tin công khai", ":material/campaign:", "Cong_khai", "public_summary"),
    ),
    "Nghiệp vụ": (
        PageEntry("6_Phan_bo_chi_tieu.py", "Phân bổ chỉ tiêu", ":material/calculate:", "Phan_bo_chi_tieu",
                  "plan_quotas"),
        PageEntry("17_Bao_cao_thang_xa.py", "Báo cáo tháng của xã", ":material/edit_note:", "Bao_cao_thang_xa",
                  "monthly_reports"),
        PageEntry("7_Nhap_du_lieu.py", "Nhập dữ liệu", ":material/upload_file:", "Nhap_du_lieu", "import_data"),
        PageEntry("19_Doanh_nghiep.py", "Doanh nghiệp", ":material/business:", "Doanh_nghiep", "company"),
        PageEntry("11_Nguoi_phu_trach.py", "Người phụ trách", ":material/contact_phone:", "Nguoi_phu_trach",
                  "overview"),
        PageEntry("20_Thong_bao.py", "Thông báo", ":material/notifications:", "Thong_bao", "overview"),
        PageEntry("9_Quan_tri.py", "Quản trị", ":material/settings:", "Quan_tri", "manage_users"),
    ),
}
"""Sections of the menu and their pages; the first page is the default (the overview). A page
listed here is tested by being listed (tests/test_pages.py)."""


MENU_KEY = "xkld_menu"
"""The key of the sidebar container holding the menu: Streamlit gives it the class ``st-key-xkld_menu``
(the supported way to address an element from CSS or a test, see :data:`MENU_SELECTOR`)."""
MENU_SELECTOR = f".st-key-{MENU_KEY}"
NAV_LINK = 'a[data-testid="stPageLink-NavLink"]'
"""Streamlit internals the menu's style relies on (the element id Streamlit puts on a page link);
kept here, in one constant, for the compatibility module to take over."""

ICON_CSS = """
<style>
%(menu)s %(link)s::before {
  font-family: "Material Symbols Rounded"; font-size: 1.25rem; line-height: 1; margin-right: 0.5rem;
  font-feature-settings: "liga"; -webkit-font-feature-settings: "liga"; color: inherit;
}
%(rules)s
</style>
"""


def icon_css() -> str:
    """The menu's icons as ligatures of the Material Symbols font that Streamlit ships (drawn
    offline, no emoji font needed). They are not given to ``st.Page``: Streamlit turns a page's
    Material icon into a favicon fetched from Google's font server, a request that must not leave."""
    rules = []
    for entries in MENU.values():
        for p in entries:
            href = f"/{p.url_path}" if p.url_path else "/"
            name = p.icon.removeprefix(":material/").removesuffix(":")
            rules.append(f'{MENU_SELECTOR} {NAV_LINK}[href$="{href}"]::before {{ content: "{name}"; }}')
    return ICON_CSS % {"menu": MENU_SELECTOR, "link": NAV_LINK, "rules": "\n".join(rules)}


@functools.cache
def _icon_css() -> str:
    return icon_css()


def _pages() -> dict[str, list[Any]]:
    """The menu's ``st.Page`` objects, made once per session: making sixteen of them (each resolves
    and checks its file) cost about 4% of the server's CPU when made again on every run."""
    pages = st.session_state.get("_xkld_pages")
    if pages is None:
        pages = {section: [st.Page(str(PROJECT_ROOT / "pages" / p.file), title=p.title,
                                   url_path=p.url_path or None, default=not p.url_path)
                           for p in entries]
                 for section, entries in MENU.items()}
        st.session_state["_xkld_pages"] = pages
    return pages


PUBLIC_SECTION = "Công khai"
LOGIN_TITLE = ANONYMOUS_TITLE
"""The one title an anonymous visitor sees for the internal pages."""


def anonymous_menu() -> dict[str, list[tuple[PageEntry, bool]]]:
    """The menu of a visitor who is not logged in, as (entry as shown, visible): the public pages;
    the front page as the login entry; every other internal page under the same neutral title and
    hidden from the menu, so that a bookmarked address still opens its page (which asks for the
    login). The pages and their addresses are those of the full menu: only titles and visibility
    differ."""
    public = list(MENU[PUBLIC_SECTION])
    internal = [p for section, entries in MENU.items() if section != PUBLIC_SECTION for p in entries]
    staff = [(PageEntry(p.file, LOGIN_TITLE, p.icon, p.url_path, p.action), not p.url_path)
             for p in sorted(internal, key=lambda p: bool(p.url_path))]      # the front page first
    return {PUBLIC_SECTION: [(p, True) for p in public], "Cán bộ": staff}


def _anonymous_pages() -> dict[str, list[Any]]:
    """:func:`anonymous_menu` as ``st.Page`` objects, made once per session."""
    pages = st.session_state.get("_xkld_anonymous_pages")
    if pages is None:
        pages = {section: [st.Page(str(PROJECT_ROOT / "pages" / p.file), title=p.title, url_path=p.url_path or None,
                                   default=not p.url_path, visibility="visible" if shown else "hidden")
                           for p, shown in entries]
                 for section, entries in anonymous_menu().items()}
        st.session_state["_xkld_anonymous_pages"] = pages
    return pages


PUBLIC_PAGE = "Cong_khai"
"""Where an anonymous visitor of the bare address ``/`` lands: the public page, not a refusal."""


def home_page() -> Any:
    """The default page (the overview), where an official arrives after logging in elsewhere."""
    return next(p for entries in _pages().values() for p in entries if not p.url_path)


def _menu(pages: dict[str, list[Any]]) -> None:
    """The sidebar menu, drawn by the app with ``st.page_link`` (Streamlit's own menu is off:
    ``client.showSidebarNavigation = false`` in ``.streamlit/config.toml``, because on the first
    paint of a new session Streamlit drew it from the file names under ``pages/``, every internal
    page named to an anonymous visitor, before app.py's ``st.navigation`` ran). Each section is a
    caption over its visible pages; every entry is shown (no "View N more")."""
    with st.sidebar.container(key=MENU_KEY):
        translation_layer()
        for section, entries in pages.items():
            shown = [p for p in entries if getattr(p, "visibility", "visible") != "hidden"]
            if not shown:
                continue
            st.caption(section)
            for p in shown:
                st.page_link(p, label=p.title)


def navigation() -> None:
    """Register the pages (all once logged in, the public ones and the login entry before), draw the
    app's own menu in the sidebar and run the page the URL asks for; a visitor without a session who
    opens ``/`` goes to the public page, whose sidebar has the login."""
    compat.check_versions()   # once per process (also without serve.py): logged when a library differs
    st.markdown(_icon_css(), unsafe_allow_html=True)
    signed = access.signed_in()
    pages = _pages() if signed else _anonymous_pages()
    page = st.navigation(pages, position="hidden")
    _menu(pages)
    if not signed and not page.url_path and not st.query_params and access.anonymous():
        st.switch_page(next(p for entries in pages.values() for p in entries if p.url_path == PUBLIC_PAGE))
    page.run()
