"""Browser tests of hostile text and the session cookie (issue 13: items 6 and 11, and the
metrics endpoint): an administrator's market name and a unit name carrying a script are shown as
text when a viewer hovers the maps, page scripts cannot read the session token, a Markdown link
in the URL is not a link, and /_stcore/metrics answers nobody."""
from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest

from tests.browser_support import _add_users, in_frames, login, serve, wait_for
from xkld_geo.access import auth
from xkld_geo.figures import references
from xkld_geo.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.real_data]

XSS = '<img src=x onerror="window.__pwned=1">'
PROVINCE = "40"


@pytest.fixture(scope="module")
def hostile_url(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a copy of the real warehouse where an administrator named Japan ``XSS`` in the
    market table, and province 40 and its first commune carry ``XSS`` as a name (a hostile
    boundary file would do the same)."""
    from xkld_geo.database import db

    folder = tmp_path_factory.mktemp("hostile")
    served = folder / "hostile.duckdb"
    shutil.copyfile(real_settings.db_path, served)
    _add_users(served)
    con = db.open_connection(served)
    try:
        admin = auth.User("b_admin", "b_admin", "admin")
        table = references.read(con, "markets")
        table.loc[table["code"] == "JP", "name_vi"] = XSS
        references.save(con, 'markets', table, admin)
        con.execute("UPDATE admin_units SET name = $n WHERE era = '2025' AND code = $p", {"n": XSS, "p": PROVINCE})
        con.execute("""UPDATE admin_units SET name = $n WHERE era = '2025' AND code = (
            SELECT min(code) FROM admin_units WHERE era = '2025' AND level = 'commune' AND parent_code = $p)""",
                    {"n": XSS, "p": PROVINCE})
    finally:
        con.close()
    yield from serve(served, real_settings, folder)


def _map_frames(page: Any, layer: str, timeout: float = 60) -> list[Any]:
    """Every frame whose Leaflet map has drawn ``layer``."""
    script = f"() => !!(window.xkldFeatureCount && window.xkldFeatureCount[{layer!r}])"
    return wait_for(lambda: [f for f, drawn in in_frames(page, script) if drawn], f"a map drawing {layer}", timeout)


HOVER_ALL = """() => {
    // open the tooltip of every shape and line, as hovering each of them would
    let opened = 0;
    Object.values(window.map._layers).forEach(function(l) {
        if (!l.getTooltip || !l.getTooltip()) { return; }
        const at = l.getBounds ? l.getBounds().getCenter() : l.getLatLng();
        l.openTooltip(at); opened += 1; l.closeTooltip();
    });
    return opened;
}"""


def _hover(page: Any, frame: Any, lat: float, lon: float) -> None:
    """Move the real mouse over (lat, lon) of the map in ``frame``."""
    frame.frame_element().scroll_into_view_if_needed()
    point = frame.evaluate("""([lat, lon]) => {
        const p = window.map.latLngToContainerPoint(L.latLng(lat, lon));
        const r = window.map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top];
    }""", [lat, lon])
    box = frame.frame_element().bounding_box()
    page.mouse.move(box["x"] + point[0] - 3, box["y"] + point[1] - 3)
    page.mouse.move(box["x"] + point[0], box["y"] + point[1], steps=5)
    time.sleep(0.5)


def _no_script_ran(page: Any) -> None:
    for frame, pwned in in_frames(page, "() => window.__pwned"):
        assert pwned is None, f"the injected script ran in {frame.url}"
    assert page.evaluate("() => window.__pwned") is None


def test_hostile_market_name_is_text_on_the_flow_map(page: Any, hostile_url: str) -> None:
    login(page, f"{hostile_url}/Thi_truong?year=2026&month=11", role="viewer")
    frames = _map_frames(page, "flows")
    flow = next(f for f in frames if f.evaluate("() => window.xkldFeatureCount.flows > 0"))
    _hover(page, flow, 36.5, 138.5)                         # the real mouse over Japan
    texts = flow.evaluate("""() => Array.from(document.querySelectorAll('.leaflet-tooltip'))
                                        .map(t => t.textContent)""")
    assert any(XSS in t for t in texts), texts             # the hovered tooltip shows the name as text
    assert flow.evaluate(HOVER_ALL) > 0
    assert flow.evaluate("() => document.querySelectorAll('.leaflet-tooltip img').length") == 0
    _no_script_ran(page)


@pytest.mark.parametrize("path", [f"/?unit={PROVINCE}&year=2026&month=11",
                                  f"/Thi_truong?unit={PROVINCE}&year=2026&month=11",
                                  f"/San_viec_lam?unit={PROVINCE}&year=2026&month=11"])
def test_hostile_unit_names_are_text_on_the_unit_maps(page: Any, hostile_url: str, path: str) -> None:
    login(page, f"{hostile_url}{path}", role="viewer")
    frames = _map_frames(page, "choropleth")
    opened = sum(f.evaluate(HOVER_ALL) for f in frames)
    assert opened > 0
    for frame in frames:
        assert frame.evaluate("() => document.querySelectorAll('.leaflet-tooltip img, .xkld-legend img').length") == 0
    _no_script_ran(page)


def test_the_session_token_is_not_readable_by_page_scripts(page: Any, hostile_url: str) -> None:
    login(page, f"{hostile_url}/Quan_tri", role="admin")
    session = wait_for(lambda: [c for c in page.context.cookies() if c["name"] == "xkld_session"],
                       "the session cookie", 20)
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"
    for _, visible in in_frames(page, "() => document.cookie"):
        assert "xkld_session" not in visible and session[0]["value"] not in visible
    page.reload()                                            # the bookmark still opens logged in
    page.get_by_text("Đăng nhập:").first.wait_for(state="attached", timeout=30_000)
    page.get_by_role("button", name="Đăng xuất").click()
    wait_for(lambda: not [c for c in page.context.cookies() if c["name"] == "xkld_session"],
             "the session cookie to be cleared on logout", 20)


@pytest.mark.parametrize("payload", ["[Đăng nhập lại](http://evil.example/login)", "![x](http://evil.example/p.png)",
                                     "http://evil.example", "www.evil.example", "thu@evil.example"])
def test_markdown_in_the_url_is_not_a_link_nor_an_image(page: Any, hostile_url: str, payload: str) -> None:
    page.goto(f"{hostile_url}/Cong_khai?unit={payload}")
    warning = page.get_by_text("không hợp lệ").first
    warning.wait_for(timeout=60_000)  # the national public summary takes a while on a busy machine
    time.sleep(1)
    assert "evil" in warning.text_content()                  # shown, as text
    assert page.evaluate("() => Array.from(document.querySelectorAll('a[href], img[src]'))"
                         ".filter(e => (e.getAttribute('href') || e.getAttribute('src') || '').includes('evil')).length") == 0
    assert page.external == []                               # nothing was fetched from it


@pytest.mark.parametrize("path", ["/_stcore/metrics", "//_stcore/metrics", "/_stcore/./metrics/"])
def test_metrics_are_not_served(hostile_url: str, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{hostile_url}{path}", timeout=10)
    assert err.value.code == 404
