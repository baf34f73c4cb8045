"""The public summary screen: no login, aggregates only, made for a lobby screen and a phone.

``?mode=kiosk`` hides every control and rotates the panels on its own; ``?unit=40`` shows one
province's communes. Anything else in the URL that is not valid is ignored with a message.
"""
from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa
import streamlit as st

from xkld_geo.database import cache
from xkld_geo.errors import XkldError
from xkld_geo.figures import periods, queries, references
from xkld_geo.ui import access, shared_tables, tables
from xkld_geo.ui.common import connection, demo_badge, plain, repainting_map, settings
from xkld_geo.ui.navigation import home_page
from xkld_geo.views import public

KIOSK_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"] { display: none !important; }
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
h1 { font-size: 2.2rem !important; padding-top: 0 !important; } h2, h3 { font-size: 1.8rem !important; }
.block-container { padding-top: 0.5rem; max-width: 100%; }
</style>
"""
PANELS = ("map", "markets", "notices")
TABLE_WIDTHS = {"Mã": st.column_config.Column(width=44), "Tên": st.column_config.Column(width=120),
                "Số người đã đi": st.column_config.Column(width=84), "Đạt chỉ tiêu": st.column_config.Column(width=60)}
"""The public table's columns in pixels: 308 in all, inside a phone's 314 and a kiosk's narrowest panel."""
ROTATE_SECONDS = 15


def public_request() -> tuple[int, int, str | None, bool]:
    """Year and month (the latest), province (URL ``unit`` or the selector) and kiosk mode."""
    shared = cache.scope(connection())   # months and provinces: once per data version, for every visitor
    latest = periods.default_month(shared.get("reported_months", periods.reported_months), settings().effective_today)
    if latest is None:
        raise XkldError("Chưa có số liệu để công bố.")
    year, month = latest
    kiosk = st.query_params.get("mode") == "kiosk"
    provinces = shared.get("provinces", queries.provinces, copy=False)
    names = dict(zip(provinces["code"], provinces["name"]))
    if "public_province" not in st.session_state:
        wanted = str(st.query_params.get("unit") or "")
        if wanted and wanted not in names:
            st.warning(f"Tham số 'unit' trong địa chỉ không hợp lệ ({plain(wanted[:40])}); hiển thị cả nước.")
        st.session_state["public_province"] = wanted if wanted in names else ""
    province = st.session_state["public_province"]
    if not kiosk:   # officials log in here too: the bare address "/" leads every visitor to this page
        access.login_box(access.current_user(), home=home_page())
        province = st.selectbox("Tỉnh/thành", [""] + list(provinces["code"]), key="public_province",
                                format_func=lambda c: names.get(c, "Cả nước"))
    return year, month, province or None, kiosk


def _table(s: public.PublicSummary, name: str) -> pa.Table | pd.DataFrame:
    """A table of the shared summary as Arrow, converted once per summary, not once per run."""
    return shared_tables.arrow(s, name, lambda: getattr(s, name))


def _panel_map(s: public.PublicSummary, height: int) -> None:
    st.metric("Số người đã đi làm việc ở nước ngoài", public.as_text(pd.Series([s.total]))[0])
    left, right = st.columns([3, 2])
    with left:
        repainting_map(s.spec, "public_map", height)  # shapes sent once, then only the figures
    with right:
        tables.show(_table(s, "table"), hide_index=True, width="stretch", height=height, key="public_table",
                    column_config=TABLE_WIDTHS)   # every column on a 1366 screen and a phone
    st.caption(plain(s.note))


def _panel_markets(s: public.PublicSummary) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("### Thị trường lao động đến")
        tables.show(_table(s, "markets"), hide_index=True, width="stretch", key="public_markets")
        st.caption(plain(s.note))
    with right:
        st.markdown("### Thị trường an toàn, thu nhập cao: thu nhập và chi phí")
        tables.show(_table(s, "costs"), hide_index=True, width="stretch", key="public_costs")


def _panel_notices(s: public.PublicSummary) -> None:
    st.markdown(f"### ☎ {references.NOTICE_KEYS['hotline']}")
    st.info(plain(s.notices["hotline"]))
    st.markdown(f"### ⚠ {references.NOTICE_KEYS['fraud_warning']}")
    st.warning(plain(s.notices["fraud_warning"]))
    st.markdown("### Doanh nghiệp được cấp phép")
    if len(s.companies):
        tables.show(_table(s, "companies"), hide_index=True, width="stretch", key="public_companies")
    else:
        st.caption("Chưa có danh sách doanh nghiệp được cấp phép.")


def render_public(year: int, month: int, province: str | None, kiosk: bool) -> None:
    """Build and show the public screen; in kiosk mode one panel at a time, rotating."""
    summary = public.build_public(connection(), year, month, province, settings().static_url,
                                  settings().public_threshold)
    if kiosk:
        st.markdown(KIOSK_CSS, unsafe_allow_html=True)
    st.title(plain(summary.title))
    demo_badge(summary.demo)
    st.caption(plain(summary.notices["about"]))
    if not kiosk:
        _panel_map(summary, 520)
        _panel_markets(summary)
        _panel_notices(summary)
        return

    @st.fragment(run_every=ROTATE_SECONDS)
    def rotating() -> None:
        now = time.monotonic()
        last = st.session_state.setdefault("_panel_at", now)
        index = st.session_state.setdefault("_panel", 0)
        if now - last >= ROTATE_SECONDS * 0.9:
            index = (index + 1) % len(PANELS)
            st.session_state["_panel"], st.session_state["_panel_at"] = index, now
        st.markdown(f"<div data-testid='kiosk-panel' data-panel='{PANELS[index]}'></div>",
                    unsafe_allow_html=True)
        {"map": lambda: _panel_map(summary, 600), "markets": lambda: _panel_markets(summary),
         "notices": lambda: _panel_notices(summary)}[PANELS[index]]()
    rotating()
