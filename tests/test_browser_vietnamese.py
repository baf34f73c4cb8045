"""Vietnamese everywhere, in a real browser: every page for every role, the public page and the
kiosk show no English interface word and no database identifier, and write numbers vi-VN; both
archipelagos are named on the national maps; presentation mode and the kiosk fit their screens
(checked from element boxes). Screenshots go to ``bench/out/screens/`` (for the user guides)."""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest

from tests.browser_support import login, map_frame, wait_for
from xkld_geo.access import auth
from xkld_geo.settings import PROJECT_ROOT
from xkld_geo.ui.navigation import MENU

pytestmark = [pytest.mark.browser, pytest.mark.real_data]
SCREENS = PROJECT_ROOT / "bench" / "out" / "screens"
ENGLISH = ("View", "more", "Choose options", "Choose an option", "Drag and drop", "Browse files", "Upload",
           "per file", "empty", "No data", "None", "NaN", "True", "False", "mi", "Download as CSV", "Search",
           "Fullscreen", "Show/hide columns", "No results", "Select all", "Clear selection")
"""Interface words of the libraries that must never show (as whole words)."""
CODES = ("draft", "submitted", "approved", "superseded", "population", "last_year", "blend", "departures", "ok",
         "partial", "rejected", "unchanged", "admin", "clerk", "planner", "viewer", "JP", "KR", "TW")
"""Stored codes that must reach a person by their Vietnamese label."""
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
"""A database identifier (plan_id, updated_at, v_attainment)."""
USERNAMES = re.compile(r"\bb_(viewer|planner|clerk|admin)\b")
ENGLISH_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\.\d{1,2}\b(?![.\d])")
"""1,234 or 254.5: a number written the English way (vi-VN writes 1.234 and 254,5)."""
BARE_NUMBER = re.compile(r"(?<![\d./:-])\d{5,}(?![\d./:-])")
"""A long number without thousands separators (codes of communes are 5 digits: checked separately)."""

VISIBLE_TEXT = """() => {
  const out = [];
  const docs = [document];
  for (const f of document.querySelectorAll('iframe')) { try { if (f.contentDocument) docs.push(f.contentDocument); } catch (e) {} }
  for (const d of docs) {
    if (!d.body) continue;   // a frame still loading (a map frame drawing afresh) has no body yet
    const walker = d.createTreeWalker(d.body, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const el = node.parentElement;
      if (!el || !node.textContent.trim()) continue;
      if (el.closest('[data-testid=stIconMaterial], script, style, .material-icons, [aria-hidden=true] svg')) continue;
      if (el.closest('[data-testid=stIconMaterial]')) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 2 || r.height < 2) continue;
      const s = d.defaultView.getComputedStyle(el);
      if (s.visibility === 'hidden' || s.display === 'none' || parseFloat(s.opacity) === 0) continue;
      out.push(node.textContent.trim());
    }
  }
  return out;
}"""


def settle(page: Any, seconds: float = 1.5) -> None:
    """Wait until Streamlit has finished running the page (no running indicator for a while)."""
    deadline = time.monotonic() + 60
    quiet = 0.0
    while time.monotonic() < deadline and quiet < seconds:
        running = page.locator("[data-testid=stStatusWidget]").count() > 0
        quiet = 0.0 if running else quiet + 0.25
        time.sleep(0.25)


def problems(texts: list[str]) -> list[str]:
    """Every English word, code, identifier or non-vi-VN number in ``texts``."""
    found: list[str] = []
    for text in texts:
        clean = USERNAMES.sub("", text)
        for word in ENGLISH + CODES:
            if re.search(rf"(?<![\w/.-]){re.escape(word)}(?![\w/.-])", clean):
                found.append(f"{word!r} in {text[:80]!r}")
        for hit in IDENTIFIER.findall(clean):
            if "/" not in clean:   # a folder path on the administrator's page is allowed
                found.append(f"identifier {hit!r} in {text[:80]!r}")
        for hit in ENGLISH_NUMBER.findall(clean):
            found.append(f"number {hit!r} in {text[:80]!r}")
        for hit in BARE_NUMBER.findall(clean):
            if len(hit) != 5:   # commune codes
                found.append(f"bare number {hit!r} in {text[:80]!r}")
    return found


def _pages_for(role: str) -> list[str]:
    user = auth.User(f"b_{role}", role, role)
    return [e.url_path for entries in MENU.values() for e in entries if auth.allowed(user, e.action)]


@pytest.fixture()
def wide(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("role", ["viewer", "planner", "clerk", "admin"])
def test_every_page_of_every_role_speaks_vietnamese(wide: Any, app_url: str, role: str) -> None:
    page = wide
    login(page, f"{app_url}/?unit=46", role)
    found: dict[str, list[str]] = {}
    for path in _pages_for(role):
        page.goto(f"{app_url}/{path}")
        settle(page)
        bad = problems(page.evaluate(VISIBLE_TEXT))
        if bad:
            found[path or "/"] = bad
    assert found == {}


def test_an_anonymous_visitor_lands_on_the_public_page_in_vietnamese(wide: Any, app_url: str) -> None:
    page = wide
    page.goto(app_url)
    page.wait_for_url("**/Cong_khai", timeout=30_000)
    page.get_by_text("Kết quả đưa lao động").first.wait_for(timeout=30_000)
    settle(page)
    assert page.get_by_text("Trang này dành cho cán bộ").count() == 0
    assert page.locator("[data-testid=stSidebarNavViewButton]").count() == 0        # no "View N more"
    assert problems(page.evaluate(VISIBLE_TEXT)) == []
    page.get_by_label("Tên đăng nhập").wait_for()                                    # officials log in here


def _archipelagos(page: Any) -> list[str]:
    script = "() => [...document.querySelectorAll('.xkld-archipelago span, span.xkld-archipelago')].map(e => e.textContent)"
    found = wait_for(lambda: [t for frame in page.frames for t in _safe(frame, script)], "archipelago labels", 45)
    return sorted(set(found))


def _safe(frame: Any, script: str) -> list[str]:
    try:
        return frame.evaluate(script) or []
    except Exception:  # noqa: BLE001 - a frame that detached while Streamlit rerendered
        return []


def test_the_overview_names_both_archipelagos(wide: Any, app_url: str) -> None:
    login(wide, app_url)
    map_frame(wide, 34)
    assert _archipelagos(wide) == ["Quần đảo Hoàng Sa", "Quần đảo Trường Sa"]


CHECKED = "[data-testid=stMetricLabel], [data-testid=stMetricValue], h1, h2, h3, [data-testid=stDataFrame], iframe"
UNCUT = """() => [...document.querySelectorAll('""" + CHECKED + """')].filter(e => e.offsetParent !== null).flatMap(e => {
    const r = e.getBoundingClientRect(), out = [];
    if (r.right > window.innerWidth + 1) out.push((e.innerText || e.tagName).slice(0, 40) + ' goes past the right edge');
    const box = e.matches('[data-testid=stDataFrame]') ? e.querySelector('.dvn-scroller') : e;   // a table: its grid
    if (box && box.tagName !== 'IFRAME' && box.scrollWidth > box.clientWidth + 1)
      out.push((e.innerText || 'a table').slice(0, 40) + ' is cut: ' + box.scrollWidth + ' > ' + box.clientWidth);
    return out; })"""


@pytest.mark.parametrize("viewport", [{"width": 1920, "height": 1080}, {"width": 1366, "height": 768}])
def test_presentation_mode_fits_the_room(browser: Any, app_url: str, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        login(page, f"{app_url}/?mode=present&year=2026&month=11")
        map_frame(page, 34)
        page.get_by_text("Thoát trình chiếu").wait_for()
        settle(page)
        page.wait_for_timeout(1500)
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"trinh-chieu-{viewport['width']}x{viewport['height']}.png"))
        assert page.evaluate(UNCUT) == []
        grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
        assert grid is not None and grid["x"] + grid["width"] <= viewport["width"] + 1          # every column on screen
        assert _archipelagos(page) == ["Quần đảo Hoàng Sa", "Quần đảo Trường Sa"]
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [{"width": 1920, "height": 1080}, {"width": 1366, "height": 768},
                                      {"width": 360, "height": 740}])
def test_the_kiosk_fits_and_names_both_archipelagos(browser: Any, app_url: str, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/Cong_khai?mode=kiosk")
        map_frame(page, 34)
        settle(page)
        page.wait_for_timeout(1000)
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"kiosk-{viewport['width']}x{viewport['height']}.png"))
        assert not page.locator("[data-testid=stSidebar]").is_visible()
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= viewport["width"] + 1
        assert page.evaluate(UNCUT) == []
        assert problems(page.evaluate(VISIBLE_TEXT)) == []
        assert _archipelagos(page) == ["Quần đảo Hoàng Sa", "Quần đảo Trường Sa"]
        zoom = [v for f in page.frames for v in _safe(f, "() => [...document.querySelectorAll('.leaflet-control-zoom')]"
                                                          ".filter(e => e.offsetParent !== null).map(e => 'zoom')")]
        assert zoom == []                                                             # no controls on a kiosk
    finally:
        context.close()


ARIA_LABELS = "() => [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))"


def test_table_toolbars_and_pickers_speak_vietnamese_when_used(wide: Any, app_url: str) -> None:
    """What shows only when used: a table's toolbar and its tooltips (hovered), a picker's empty
    list (a name typed that is not there). No "Download as CSV" at all (client.disableDataExport)."""
    page = wide
    page.goto(f"{app_url}/Cong_khai")
    table = page.locator("[data-testid=stDataFrame]").first
    table.wait_for(timeout=60_000)
    settle(page)
    table.scroll_into_view_if_needed()
    table.hover()
    buttons = table.locator("[data-testid=stElementToolbar] button")
    buttons.first.wait_for()
    labels = [buttons.nth(i).get_attribute("aria-label") for i in range(buttons.count())]
    assert labels == ["Ẩn/hiện cột", "Tìm trong bảng", "Toàn màn hình"]
    tips = []
    for i in range(buttons.count()):
        table.hover()
        buttons.nth(i).hover()
        tips.append(wait_for(lambda: page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=stTooltipContent]')].map(e => e.innerText).pop()"),
            "a tooltip", 10))
        assert problems(page.evaluate(VISIBLE_TEXT)) == []
    assert tips == ["Ẩn/hiện cột", "Tìm trong bảng", "Toàn màn hình"]
    page.mouse.move(5, 5)
    page.locator("[data-testid=stSelectbox]").first.click()
    page.keyboard.type("zzzz")
    page.get_by_text("Không có kết quả").wait_for(timeout=10_000)
    assert problems(page.evaluate(VISIBLE_TEXT)) == []
    english = {"Download as CSV", "Search", "Fullscreen", "Show/hide columns", "No results"}
    assert english.isdisjoint(page.evaluate(ARIA_LABELS))


GUIDE_SHOTS: dict[str, tuple[str | None, str]] = {
    "cong-khai.png": (None, "/Cong_khai"),
    "tong-quan.png": ("viewer", "/?year=2026&month=11"),
    "trinh-chieu.png": ("viewer", "/?mode=present&year=2026&month=11"),
    "phan-bo-chi-tieu.png": ("planner", "/Phan_bo_chi_tieu"),
    "nhap-du-lieu.png": ("clerk", "/Nhap_du_lieu"),
    "quan-tri.png": ("admin", "/Quan_tri"),
}
"""Screenshot of the user guides (docs/huong-dan/anh/) → (role logged in, address); every image a
guide shows is one of these (tests/test_vietnamese.py checks it)."""
MAX_SHOT_BYTES = 150_000


def guide_shot(page: Any, name: str) -> int:
    """Save the screen as the guide's screenshot ``name``: 1.000 px wide, 64 colours (a palette PNG
    stays far below :data:`MAX_SHOT_BYTES`, small enough to commit); returns its size in bytes."""
    import io

    from PIL import Image

    from xkld_geo.text import guides

    image = Image.open(io.BytesIO(page.screenshot()))
    image = image.resize((1000, round(image.height * 1000 / image.width)), Image.Resampling.LANCZOS)
    guides.SHOTS.mkdir(parents=True, exist_ok=True)
    target = guides.SHOTS / name
    image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    return target.stat().st_size


@pytest.mark.parametrize("role", ["public", "viewer", "planner", "clerk", "admin"])
def test_guide_screenshots(browser: Any, app_url: str, role: str) -> None:
    """The user guides' screenshots, taken from the screens themselves at 1.600×1.000."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    try:
        shots = {n: path for n, (r, path) in GUIDE_SHOTS.items() if (r or "public") == role}
        if role != "public":
            login(page, app_url, role)
            wait_for(lambda: [c for c in context.cookies() if c["name"] == "xkld_session"], "the session cookie", 60)
        for name, path in shots.items():
            page.goto(f"{app_url}{path}")
            settle(page)
            if "mode=present" in path or path.startswith("/?") or path == "/Cong_khai":
                map_frame(page, timeout=150)
            settle(page)
            page.wait_for_timeout(1000)
            assert guide_shot(page, name) < MAX_SHOT_BYTES
    finally:
        context.close()
