"""Browser tests of the markets page: the flow map draws, and choosing a market redraws the origins."""
from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import in_frames, login, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


def _counts(page: Any, layer: str, timeout: float = 45) -> list[dict[str, int]]:
    """Every map frame's layer counts once ``layer`` has been drawn somewhere."""
    def probe() -> list[dict[str, int]] | None:
        found = [got for _, got in in_frames(page, "() => window.xkldFeatureCount || null") if got]
        return found if any(layer in f for f in found) else None
    return wait_for(probe, f"a map drawing {layer}", timeout)


def _origin_total(page: Any) -> float | None:
    """Sum of the departures the origins map shows (from its features); None while it redraws."""
    totals = in_frames(page, """() => {
        if (!window.xkldFeatureCount || window.xkldFeatureCount.flows !== undefined) return null;
        let s = 0; for (const l of Object.values(window.map._layers))
            if (l.feature && typeof l.feature.properties.value === 'number') s += l.feature.properties.value;
        return s; }""")
    return next((total for _, total in totals if total is not None), None)


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
    # every destination country is drawn and shaded, and no other (its shapes file arrives on its own)
    wait_for(lambda: next((f for f in _counts(page, "flows") if f.get("countries") == with_departures), None),
             f"{with_departures} countries on the flow map")
    assert page.external == []


def test_choosing_japan_changes_the_commune_map(page: Any, app_url: str, real_con) -> None:
    login(page, f"{app_url}/Thi_truong?year=2026&month=11&unit=40")
    _counts(page, "flows")
    for market, name in (("TW", "Đài Loan"), ("JP", "Nhật Bản")):
        _choose_market(page, name)
        expected = real_con.execute("""SELECT SUM(departures) FROM departures d JOIN v_communes c USING (commune_code)
            WHERE market = $m AND c.province_code = '40' AND d.month BETWEEN '2026-01-01' AND '2026-11-01'""",
                                    {"m": market}).fetchone()[0]
        wait_for(lambda: _origin_total(page) == expected, f"the origins map to total {expected} for {market}", 30)
        if market == "TW":   # mark the drawn map: the next market repaints it rather than replacing it
            assert _origins_frame(page).evaluate("() => { window.xkldMarker = 'same map'; return true; }")
    assert _origins_frame(page).evaluate("() => window.xkldMarker") == "same map"


def _origins_frame(page: Any) -> Any:
    """The frame of the origins map (a choropleth, not the flow map)."""
    script = "() => !!window.xkldFeatureCount && window.xkldFeatureCount.flows === undefined"
    return wait_for(lambda: next((f for f, is_origins in in_frames(page, script) if is_origins), None),
                    "the origins map", 10)
