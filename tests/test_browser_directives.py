"""Browser tests of the markets page: the flow map draws, and choosing a market redraws the origins."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser_support import login

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


def _counts(page: Any, layer: str, timeout: float = 45) -> list[dict[str, int]]:
    """Every map frame's layer counts once ``layer`` has been drawn somewhere."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = []
        for frame in page.frames:
            try:
                got = frame.evaluate("() => window.xkldFeatureCount || null")
            except Exception:
                continue
            if got:
                found.append(got)
        if any(layer in f for f in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"no map drew {layer}")


def _origin_total(page: Any) -> float | None:
    """Sum of the departures the origins map shows (from its features); None while it redraws."""
    for frame in page.frames:
        try:
            total = frame.evaluate("""() => {
                if (!window.xkldFeatureCount || window.xkldFeatureCount.flows !== undefined) return null;
                let s = 0; for (const l of Object.values(window.map._layers))
                    if (l.feature && typeof l.feature.properties.value === 'number') s += l.feature.properties.value;
                return s; }""")
        except Exception:
            continue
        if total is not None:
            return total
    return None


def _choose_market(page: Any, name: str) -> None:
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="Xem nơi đi").first
    box.click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")


def test_flow_map_draws_one_line_per_destination_and_the_countries(page: Any, app_url: str, real_con) -> None:
    login(page, f"{app_url}/Thi_truong?year=2026&month=11&unit=40")
    with_departures = real_con.execute("""SELECT count(DISTINCT d.market) FROM departures d
        JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE c.province_code = '40' AND d.month BETWEEN DATE '2026-01-01' AND DATE '2026-11-01'""").fetchone()[0]
    flows = next(f for f in _counts(page, "flows") if "flows" in f)
    assert flows["flows"] == with_departures
    assert flows["countries"] == with_departures  # every destination country is drawn and shaded
    assert page.external == []


def test_choosing_japan_changes_the_commune_map(page: Any, app_url: str, real_con) -> None:
    login(page, f"{app_url}/Thi_truong?year=2026&month=11&unit=40")
    _counts(page, "flows")
    for market, name in (("TW", "Đài Loan"), ("JP", "Nhật Bản")):
        _choose_market(page, name)
        expected = real_con.execute("""SELECT SUM(departures) FROM departures d JOIN v_communes c USING (commune_code)
            WHERE market = $m AND c.province_code = '40' AND d.month BETWEEN '2026-01-01' AND '2026-11-01'""",
                                    {"m": market}).fetchone()[0]
        deadline = time.time() + 30
        while time.time() < deadline and _origin_total(page) != expected:
            time.sleep(0.3)
        assert _origin_total(page) == expected, market
        if market == "TW":   # mark the drawn map: the next market repaints it rather than replacing it
            assert _origins_frame(page).evaluate("() => { window.xkldMarker = 'same map'; return true; }")
    assert _origins_frame(page).evaluate("() => window.xkldMarker") == "same map"


def _origins_frame(page: Any) -> Any:
    """The frame of the origins map (a choropleth, not the flow map)."""
    for frame in page.frames:
        try:
            if frame.evaluate("() => !!window.xkldFeatureCount && window.xkldFeatureCount.flows === undefined"):
                return frame
        except Exception:
            continue
    raise AssertionError("no origins map")
