"""Streamlit glue shared by every page: connection, errors, labels, the shared filters.

``xkld_geo.ui`` is the only package of the library that imports streamlit; pages call it to read
inputs and render, and call the rest of ``xkld_geo`` for everything else. The filters (year, month,
province, commune) mirror the URL (``year``, ``month``, ``unit``) so any view can be bookmarked,
and they are kept in the session so that moving between pages keeps them.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

import duckdb
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from xkld_geo import DEMO_LABEL, maps
from xkld_geo.access import auth, scope
from xkld_geo.database import cache, db
from xkld_geo.errors import XkldError
from xkld_geo.figures import periods, queries
from xkld_geo.server import gateway
from xkld_geo.settings import Settings, current
from xkld_geo.text import collation
from xkld_geo.text.markup import markdown_text
from xkld_geo.ui import compat, map_component

log = logging.getLogger("xkld_geo.ui")
T = TypeVar("T")
FAVICON = "/app/static/favicon.png"
"""The tab's icon, served by the app's static route (static/favicon.png): a file path would be read
and registered as a media file again on every page run."""

PAGE_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 2.1rem; }
/* headline labels wrap instead of being cut ("Đã xuất cảnh (lũy…") */
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { overflow: visible !important; text-overflow: clip !important; }
/* Streamlit's file uploader writes its own texts in English ("Upload", "200MB per file",
   "Drag and drop a file here") and has no setting for them: they are hidden by the element ids
   Streamlit documents for testing (data-testid) and written in Vietnamese instead; the size limit
   is in each uploader's label (docs/vietnamese.md). The chosen file's chip is left alone: a rule
   over the dropzone's unnamed children hid the file's name once chosen */
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] > * { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "Chọn tệp"; }
[data-testid="stFileUploaderDropzoneInstructions"] > div > * { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after { content: "hoặc kéo thả tệp vào đây"; }
.xkld-demo-badge { background:#fff3cd; color:#664d03; border:1px solid #e0c36a; border-radius:6px;
  padding:2px 10px; font-weight:600; display:inline-block; }
</style>
"""


LIBRARY_TEXTS_VI: dict[str, str] = {
    "Search": "Tìm trong bảng", "Fullscreen": "Toàn màn hình", "Close fullscreen": "Thu nhỏ",
    "Show/hide columns": "Ẩn/hiện cột", "Download as CSV": "Tải về (CSV)", "No results": "Không có kết quả",
    "Clear selection": "Bỏ chọn", "Select all": "Chọn tất cả", "Clear all": "Xóa hết",
}
"""Texts Streamlit's own components write in English and no option changes (the table's toolbar
tooltips, a picker's empty list), with their Vietnamese: the page's translation layer
(:data:`TRANSLATION_SCRIPT`) writes these instead, as text and as ``aria-label``. Everything an
option covers is done by the option (docs/vietnamese.md)."""

TRANSLATION_SCRIPT = """<script>
(function () {
  var doc = window.parent && window.parent.document ? window.parent.document : document;
  var win = doc.defaultView || window;
  if (win.xkldTranslate) return;
  var texts = %s;
  function fix(node) {
    if (node.nodeType === 3) {
      var t = node.nodeValue.trim();
      if (texts[t]) node.nodeValue = node.nodeValue.replace(t, texts[t]);
      return;
    }
    if (node.nodeType !== 1) return;
    var label = node.getAttribute('aria-label');
    if (label && texts[label]) node.setAttribute('aria-label', texts[label]);
    var walker = doc.createTreeWalker(node, 5);
    var n;
    while ((n = walker.nextNode())) {
      if (n.nodeType === 3) { var v = n.nodeValue.trim(); if (texts[v]) n.nodeValue = n.nodeValue.replace(v, texts[v]); }
      else { var a = n.getAttribute('aria-label'); if (a && texts[a]) n.setAttribute('aria-label', texts[a]); }
    }
  }
  win.xkldTranslate = new win.MutationObserver(function (records) {
    records.forEach(function (r) {
      if (r.type === 'characterData') fix(r.target);
      else if (r.type === 'attributes') fix(r.target);
      else r.addedNodes.forEach(fix);
    });
  });
  win.xkldTranslate.observe(doc.body, {childList: true, subtree: true, characterData: true,
                                       attributes: true, attributeFilter: ['aria-label']});
  fix(doc.body);
})();
</script>"""
"""The translation layer: a ``MutationObserver`` that rewrites :data:`LIBRARY_TEXTS_VI` wherever
Streamlit writes them (a tooltip appears, a picker's list empties). Our own constant script, no
user text; installed once per browser tab (``st.html(..., unsafe_allow_javascript=True)``)."""


def translation_layer() -> None:
    """Install :data:`TRANSLATION_SCRIPT` in this browser tab (the menu calls it on every run; the
    script installs itself once)."""
    import json

    st.html(TRANSLATION_SCRIPT % json.dumps(LIBRARY_TEXTS_VI, ensure_ascii=False), unsafe_allow_javascript=True)


def plain(text: object) -> str:
    """``text`` (a URL parameter, a name, a notice, a message quoting a file) escaped so that
    Streamlit's Markdown shows it as it is: never a link, an image, a heading or emphasis. Every
    message, title, caption and label that interpolates such text goes through this."""
    return markdown_text(text)


def settings() -> Settings:
    """Settings resolved once per session (environment, then ``st.secrets``, then defaults)."""
    if "_xkld_settings" not in st.session_state:
        st.session_state["_xkld_settings"] = current()
    return st.session_state["_xkld_settings"]


def page_run() -> object | None:
    """An object that is the same (``is``) during one page run of this session and new on the
    next (:func:`compat.run_marker`), or None outside a page run (tests, bare mode). Work
    asked for several times per run (the cursor, the data-version check) is done once with it."""
    return compat.run_marker()


cache.per_run(page_run)   # one data-version check per page run, however many parts ask
_run_cursor = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared read-write DuckDB connection of this process, the same one for the
    whole page run (a new cursor and its liveness check cost about a millisecond each time).

    The app writes (plans, imports, users, audit), so it holds DuckDB's single-writer lock while it
    runs: command-line writes to the same file wait until the app is stopped.
    """
    marker, s = page_run(), settings()
    found = getattr(_run_cursor, "value", None)
    if marker is not None and found is not None and found[0] is marker and found[1] is s:
        return found[2]
    cur = db.connect(s)
    _run_cursor.value = (marker, s, cur)
    return cur


ANONYMOUS_TITLE = "Đăng nhập cán bộ"
"""The tab's title of an internal page for a visitor who is not logged in (the menu's login entry):
an internal page's own title never reaches an anonymous browser, not even in the tab."""


def guarded(render: Callable[[], T]) -> T | None:
    """Run a page body; a project error is shown once with ``st.error``, never as a traceback."""
    try:
        return render()
    except XkldError as exc:
        log.warning("page error: %s %s", exc.message, exc.details)
        st.error(plain(exc.message))
        return None


def geometry_fetched() -> bool:
    """Whether maps fetch their shapes as geometry files (sent once, cached by the browser): that
    needs serve.py's route, and ``XKLD_CACHE=off`` (the baseline) inlines them instead."""
    return settings().cache and gateway.mounted()


def repainting_map(spec: maps.ChoroplethSpec, key: str, height: int,
                   returned_objects: Sequence[str] = ()) -> dict[str, Any] | None:
    """A choropleth sent as shapes plus values: when only the figures change, the browser keeps
    the drawn map, its zoom and position, and repaints it (see :func:`maps.choropleth_parts`).
    Returns what the map component reports of ``returned_objects`` (e.g. the clicked shape)."""
    fetched = geometry_fetched()
    static_url = settings().static_url
    if spec.layers is not None:   # the shapes part drawn once per layers, the values once per spec
        return map_component.draw_layers(spec, (spec.layers, static_url, fetched),
                                         lambda: maps.shapes_map(spec, static_url, fetched),
                                         lambda: maps.values_element(spec), key, height, returned_objects)
    # the spec is shared by the cache: its map is rendered once, not on every rerun
    return map_component.draw(spec, lambda: maps.choropleth_parts(spec, static_url, fetched=fetched), key, height,
                              returned_objects, variant=(static_url, fetched))


def demo_badge(is_demo: bool) -> None:
    """The 'Dữ liệu minh họa' label wherever demo figures are shown."""
    if is_demo:
        st.markdown(f"<span class='xkld-demo-badge' data-testid='demo-badge'>{DEMO_LABEL}</span> "
                    "Số liệu do bộ sinh dữ liệu tạo ra, hiệu chỉnh theo số liệu quốc gia đã công bố; "
                    "không phải số liệu thật của xã.", unsafe_allow_html=True)


def sidebar() -> Any:
    """The sidebar container, for ``with ui.sidebar():``."""
    return st.sidebar


def title(text: str) -> None:
    """The page title (the pages' own constant titles; text from elsewhere goes through :func:`plain`)."""
    st.title(text)


# --- URL <-> widgets ---------------------------------------------------------------------------

def _query_value(name: str, options: list[Any], parse: Callable[[str], Any]) -> Any:
    """The option named by URL parameter ``name`` (None when absent or not an option).

    A value that is not an option is ignored with a warning, so a mistyped or hostile bookmark
    opens the default view instead of failing.
    """
    raw = st.query_params.get(name)
    if raw is None:
        return None
    try:
        value = parse(raw)
    except (TypeError, ValueError):
        value = object()
    if value in options:
        return value
    st.warning(f"Tham số '{plain(name)}' trong địa chỉ không hợp lệ ({plain(str(raw)[:40])}); dùng mặc định.")
    return None


def to_query(name: str, value: Any) -> None:
    """Mirror a selection into the URL so the view can be bookmarked."""
    if value is None or value is False:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def figures_choice(key: str, default: str = "received", url: str | None = None) -> bool:
    """The switch between every report received and approved figures only
    (:data:`approval.FIGURES`), shared by the overview, the periodic report and the thi đua page;
    ``url`` names a URL parameter that may set it on first load (``figures=approved``) and mirrors
    it. Returns whether only approved figures count."""
    from xkld_geo.reporting import approval

    if key not in st.session_state:
        wanted = st.query_params.get(url) if url else None
        st.session_state[key] = wanted if wanted in approval.FIGURES else default
    chosen = st.radio("Số liệu", list(approval.FIGURES), key=key, format_func=approval.FIGURES.get,
                      horizontal=True,
                      help="Thi đua cuối năm và báo cáo chính thức chỉ tính số liệu đã được phê duyệt.")
    if url:
        to_query(url, chosen if chosen != "received" else None)
    return chosen == "approved"


def _select(label: str, options: list[Any], key: str, url: str | None = None,
            parse: Callable[[str], Any] = str, default: int = 0, **kwargs: Any) -> Any:
    """A selectbox whose first value may come from URL parameter ``url`` and is written back."""
    if key not in st.session_state:
        from_url = _query_value(url, options, parse) if url else None
        kept = st.session_state.get(f"_keep_{key}")
        st.session_state[key] = (from_url if from_url is not None
                                 else kept if kept in options else options[default])
    elif st.session_state[key] not in options:
        st.session_state[key] = options[default]
    value = st.selectbox(label, options, key=key, **kwargs)
    st.session_state[f"_keep_{key}"] = value  # widget state is dropped when the page changes
    if url:
        to_query(url, value)
    return value


def _restore_after_page_change(keys: tuple[str, ...]) -> None:
    """On arriving from another page, put the filters back as they were there.

    Streamlit drops a widget's state when the page that drew it is left, even if the next page
    draws a widget with the same key; the values kept in ``_keep_*`` carry them across. The page
    is the one this run is for (:func:`compat.page_identity`), also in a part's own rerun.
    """
    page = compat.page_identity()
    if st.session_state.get("_filters_page") not in (None, page):
        for key in keys:
            if f"_keep_{key}" in st.session_state:
                st.session_state[key] = st.session_state[f"_keep_{key}"]
    st.session_state["_filters_page"] = page


def apply_pending() -> None:
    """Apply a selection made by a map click, breadcrumb or rotation before widgets are drawn."""
    pending = st.session_state.pop("_pending", None)
    if pending:
        st.session_state.update(pending)


def set_unit(province: str | None, commune: str | None) -> None:
    st.session_state["_pending"] = {"province": province or "", "commune": commune or ""}


def viewer() -> auth.User:
    """The account of this session (the public visitor when none), drawing nothing: what the
    shared filters need to apply its scope (:mod:`xkld_geo.access.scope`)."""
    token = st.session_state.get("auth_token")
    found = auth.session_user(connection(), token) if isinstance(token, str) and token else None
    return found or auth.PUBLIC


def _unit_from_url(con: duckdb.DuckDBPyConnection) -> None:
    """On first load, URL ``unit`` may name a province (2 digits) or a commune (5 digits); one
    outside the account's scope is refused (the page stops with the reason)."""
    if "unit" in st.query_params:
        try:
            scope.check_url_unit(con, viewer(), str(st.query_params.get("unit")))
        except XkldError as exc:
            st.error(plain(exc.message))
            st.stop()
    if "province" in st.session_state or "_keep_province" in st.session_state \
            or "unit" not in st.query_params:
        return
    raw = str(st.query_params.get("unit"))
    found = queries.unit(con, raw) if len(raw) in (2, 5) and raw.isascii() and raw.isdigit() else pd.DataFrame()
    if len(found) and found["level"].iloc[0] == "province":
        st.session_state["province"] = raw
    elif len(found) and found["level"].iloc[0] == "commune":
        st.session_state["province"] = found["parent_code"].iloc[0]
        st.session_state["commune"] = raw
    else:
        st.warning(f"Tham số 'unit' trong địa chỉ không hợp lệ ({plain(raw[:40])}); dùng mặc định.")


def _month_label(year: int, month: int, today: dt.date) -> str:
    """A month in the selector; the month in progress shows its cut-off day."""
    p = periods.period(year, month, today)
    return f"{month} (đến ngày {p.cutoff:%d/%m})" if p.in_progress else str(month)


@dataclass(frozen=True)
class Filters:
    """The filters every page shares."""

    year: int
    month: int
    province: str | None
    commune: str | None


def filters(con: duckdb.DuckDBPyConnection | None = None, bar: DeltaGenerator | None = None) -> Filters:
    """Year, month-to-date, province and commune from the sidebar, or from ``bar`` (the
    overview's controls above its map); also from the URL and from earlier pages."""
    con = con or connection()
    shared = cache.scope(con)   # months, provinces and communes: once per data version, for every session
    _restore_after_page_change(("year", "month", "province", "commune"))
    apply_pending()
    _unit_from_url(con)
    today = settings().effective_today
    reported = shared.get("reported_months", periods.reported_months)
    default = periods.default_month(reported, today)
    years = sorted({y for y, _ in reported if periods.months_offered(reported, y, today)}, reverse=True)
    if default is None or not years:
        raise XkldError("Cơ sở dữ liệu chưa có số liệu xuất cảnh nào. Hãy chạy: python -m xkld_geo build "
                        "hoặc nhập báo cáo của xã.")
    with bar if bar is not None else st.sidebar:
        year = int(_select("Năm", years, "year", "year", int, default=years.index(default[0])))
        months = periods.months_offered(reported, year, today)
        wanted = default[1] if year == default[0] else months[-1]
        month = int(_select("Lũy kế đến tháng", months, "month", "month", int, default=months.index(wanted),
                            format_func=lambda m: _month_label(year, m, today)))
        provinces = shared.get("provinces", queries.provinces, copy=False)   # read here, never changed
        names = dict(zip(provinces["code"], provinces["name"]))
        shown = scope.provinces_shown(con, viewer(), list(provinces["code"]))   # commune detail: inside the scope
        # "" stands for "all": a selectbox shows None as an empty placeholder
        province = _select("Tỉnh/thành", [""] + shown, "province",
                           format_func=lambda c: names.get(c, "Toàn quốc")) or None
        commune = None
        if province:
            communes = shared.get("period_attainment", queries.period_attainment, year, month, "commune", province,
                                  copy=False)
            cnames = dict(zip(communes["unit_code"], communes["unit_name"]))
            commune = _select("Xã/phường", [""] + collation.sorted_names(cnames, key=cnames.get), "commune",
                              format_func=lambda c: cnames.get(c, "Tất cả")) or None
        to_query("unit", commune or province)
    return Filters(year, month, province, commune)
