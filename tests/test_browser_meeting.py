"""The meeting room in a real browser (issue 15): geometry is fetched once and cached, and
presentation mode fills a 1920×1080 projector with uncut headline labels."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser_support import login, map_frame, wait_for
from xkld_geo.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.real_data]
SCREENSHOTS = PROJECT_ROOT / "bench" / "out"


@pytest.fixture()
def projector(browser: Any) -> Iterator[Any]:
    """A page at the projector's size, recording every geometry request and response."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    pg.geometry = []
    pg.geometry_headers = []
    pg.on("request", lambda r: pg.geometry.append(r.url) if "/xkld/geo/" in r.url else None)
    pg.on("response", lambda r: pg.geometry_headers.append(r.headers) if "/xkld/geo/" in r.url else None)
    yield pg
    context.close()


def _choose(page: Any, label: str, option: str) -> None:
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).first.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_a_year_switch_requests_no_geometry(projector: Any, app_url: str) -> None:
    page = projector
    login(page, f"{app_url}/?year=2026&month=6")
    frame = map_frame(page, 34)
    frame.wait_for_function("() => window.xkldRestyled >= 1")
    assert page.geometry, "the map's shapes come from a geometry file"
    assert all(h.get("cache-control", "").endswith("immutable") for h in page.geometry_headers)
    assert all(h.get("content-encoding") == "gzip" for h in page.geometry_headers)
    seen = len(page.geometry)
    _choose(page, "Năm", "2025")
    page.wait_for_function("() => location.search.includes('year=2025')")
    frame.wait_for_function("() => window.xkldRestyled >= 2", timeout=30_000)
    assert "2025" in frame.locator(".xkld-legend:not(.xkld-era)").first.inner_text()
    assert frame.evaluate("() => window.xkldFeatureCount.choropleth") == 34
    assert len(page.geometry) == seen, f"a year switch fetched geometry again: {page.geometry[seen:]}"


def _streamlit_frames(page: Any) -> tuple[list[Any], list[Any]]:
    """Lists that fill with the BackMsgs the page sends and the ForwardMsgs it receives."""
    sent: list[Any] = []
    received: list[Any] = []

    def parse(kind: type, into: list[Any]) -> Any:
        def read(frame: Any) -> None:
            if isinstance(frame, bytes):
                msg = kind()
                msg.ParseFromString(frame)
                into.append(msg)
        return read

    page.on("websocket", lambda ws: (ws.on("framesent", parse(BackMsg, sent)),
                                     ws.on("framereceived", parse(ForwardMsg, received))))
    return sent, received


def test_a_year_switch_reruns_the_overviews_own_part_only(projector: Any, app_url: str) -> None:
    """The period and unit controls belong to the overview's part (``ui.fragment``): the browser asks
    for that part's run, and the server answers with its elements only, not the page menu, the
    page config or the sidebar again, and the map is restyled in place."""
    page = projector
    sent, received = _streamlit_frames(page)
    login(page, f"{app_url}/?year=2026&month=6")
    frame = map_frame(page, 34)
    frame.wait_for_function("() => window.xkldRestyled >= 1")
    page.get_by_text("Chỉ số tô màu").first.wait_for(timeout=30_000)   # the sidebar's own controls
    sent.clear()
    received.clear()
    _choose(page, "Năm", "2025")
    frame.wait_for_function("() => window.xkldRestyled >= 2", timeout=30_000)
    page.wait_for_function("() => location.search.includes('year=2025')")
    def finished() -> list[int]:
        page.wait_for_timeout(50)   # Playwright hands over the frames received meanwhile
        return [m.script_finished for m in received if m.WhichOneof("type") == "script_finished"]

    ended = wait_for(finished, "the end of the year switch's run", timeout=30)
    reruns = [m.rerun_script for m in sent if m.WhichOneof("type") == "rerun_script"]
    assert reruns and all(r.fragment_id for r in reruns), "the year switch reran the whole page"
    kinds = [m.WhichOneof("type") for m in received]
    assert "navigation" not in kinds and "page_config_changed" not in kinds, kinds
    assert ended == [ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY]
    deltas = [m for m in received if m.WhichOneof("type") == "delta"]
    assert deltas and all(m.delta.fragment_id == reruns[0].fragment_id for m in deltas)
    assert "2025" in frame.locator(".xkld-legend:not(.xkld-era)").first.inner_text()
    assert page.get_by_text("Chỉ số tô màu").is_visible()          # the sidebar stays as it was


LABELS_CUT = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')].flatMap(label =>
    [label, ...label.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => label.innerText + ': ' + e.scrollWidth + ' > ' + e.clientWidth))"""


def test_presentation_mode_fills_a_projector_with_uncut_labels(projector: Any, app_url: str) -> None:
    page = projector
    login(page, f"{app_url}/?mode=present&year=2026&month=11")
    frame = map_frame(page, 34)
    frame.wait_for_function("() => window.xkldRestyled >= 1")
    page.get_by_text("Thoát trình chiếu").wait_for()
    page.wait_for_timeout(1500)   # the component sizes its frame after drawing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SCREENSHOTS) / "presentation_1920x1080.png"))
    labels = page.locator("[data-testid=stMetricLabel]")
    assert labels.count() == 6
    assert "Đã xuất cảnh (lũy kế)" in labels.nth(1).inner_text()
    assert page.evaluate(LABELS_CUT) == []
    box = frame.frame_element().bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 1080, box      # the whole map on screen
    assert box["height"] >= 600 and box["width"] >= 1000, box
    assert page.evaluate("() => document.scrollingElement.scrollHeight") <= 1080 + 400
