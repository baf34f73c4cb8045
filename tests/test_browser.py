"""Real-browser tests: the running app in headless Chromium (Debian's, driven by Playwright).

What only a browser shows: the maps really draw (counted from Leaflet's layers, the renderer being
canvas), clicks drill down, the URL reopens a view, presentation mode hides the controls, and no
request leaves localhost. Without Chromium these tests skip, except under CI=true where they fail.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import click_unit, counts, login, map_frame

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


def commune_count(real_con, province: str) -> int:
    return real_con.execute("SELECT count(*) FROM admin_units WHERE era = '2025' AND level = 'commune' "
                            "AND parent_code = $p", {"p": province}).fetchone()[0]


def test_national_map_draws_34_provinces_offline(page: Any, app_url: str) -> None:
    login(page, app_url)
    assert counts(page, "choropleth", 34)["choropleth"] == 34
    assert page.get_by_text("Dữ liệu minh họa").first.is_visible()
    assert any("/app/static/vendor/leaflet/leaflet.js" in u and s == 200 for u, s in page.responses)
    assert page.external == []


def test_commune_map_of_a_chosen_province(page: Any, app_url: str, real_con) -> None:
    login(page, f"{app_url}/?unit=40")
    counts(page, "choropleth", commune_count(real_con, "40"))
    counts(page, "context", 34)   # every outline, its own geometry file: it may arrive after the communes'
    assert page.get_by_text("Nghệ An").first.is_visible()
    assert page.external == []


def test_drill_down_by_clicking(page: Any, app_url: str, real_con) -> None:
    login(page, app_url)
    counts(page, "choropleth", 34)
    click_unit(page, real_con, "46", 34)                      # Huế
    hue = commune_count(real_con, "46")
    counts(page, "choropleth", hue)
    page.wait_for_function("() => location.search.includes('unit=46')")
    code = real_con.execute("SELECT min(code) FROM admin_units WHERE era = '2025' AND level = 'commune' "
                            "AND parent_code = '46'").fetchone()[0]
    click_unit(page, real_con, code, hue)
    page.wait_for_function(f"() => location.search.includes('unit={code}')")
    bookmark = page.url
    page.goto(bookmark)                                       # the URL reopens the same view
    counts(page, "choropleth", commune_count(real_con, "46"))
    name = real_con.execute("SELECT name FROM admin_units WHERE code = $c", {"c": code}).fetchone()[0]
    assert page.locator("h3").filter(has_text=name).first.is_visible()


def test_presentation_mode_hides_the_controls(page: Any, app_url: str) -> None:
    login(page, f"{app_url}/?mode=present&unit=38")
    map_frame(page)
    page.get_by_text("Thoát trình chiếu").wait_for()
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert not page.locator(".st-key-overview_controls").is_visible()   # the bar above the map too
    assert page.get_by_text("Bảng xếp hạng (XLSX)").count() == 0
    page.get_by_text("Thoát trình chiếu").click()
    page.locator("[data-testid=stSidebar]").wait_for(state="visible")
    page.locator(".st-key-overview_controls").wait_for(state="visible")
    page.wait_for_function("() => !location.search.includes('mode=present')")


def test_tooltip_shows_quota(page: Any, app_url: str) -> None:
    login(page, f"{app_url}/?unit=46")
    frame = map_frame(page)
    box = frame.frame_element().bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    frame.locator(".xkld-tooltip").filter(has_text="Chỉ tiêu").first.wait_for(timeout=10_000)


def test_presentation_rotates_through_provinces(page: Any, app_url: str, real_con) -> None:
    login(page, f"{app_url}/?mode=present&unit=46&cycle=40,38&every=5")
    counts(page, "choropleth", commune_count(real_con, "46"))
    counts(page, "choropleth", commune_count(real_con, "40"), timeout=30)
    counts(page, "choropleth", commune_count(real_con, "38"), timeout=30)
    assert not page.locator("[data-testid=stSidebar]").is_visible()


def test_switching_a_2024_view_between_units_of_the_time_and_today(page: Any, app_url: str, real_con) -> None:
    old_hue = real_con.execute("""SELECT count(*) FROM admin_units a
        WHERE a.era = 'pre2025' AND a.level = 'commune' AND a.geom IS NOT NULL
          AND a.code IN (SELECT old_code FROM crosswalk WHERE new_province_code = '46')""").fetchone()[0]
    login(page, f"{app_url}/?year=2024&month=12&unit=46")
    counts(page, "choropleth", commune_count(real_con, "46"))           # today's 40 units of Huế
    assert "từ 1/7/2025" in map_frame(page).locator(".xkld-era").inner_text()
    page.get_by_text("Đơn vị thời điểm đó").click()
    counts(page, "choropleth", old_hue)                                 # the old Thừa Thiên Huế communes
    frame = map_frame(page, old_hue)
    assert "trước 1/7/2025" in frame.locator(".xkld-era").inner_text()
    page.wait_for_function("() => location.search.includes('units=then')")
    page.get_by_text("Đơn vị hiện nay").click()
    counts(page, "choropleth", commune_count(real_con, "46"))


def test_a_new_year_repaints_the_map_and_keeps_its_zoom(page: Any, app_url: str, real_con) -> None:
    """Only the values travel: the shapes drawn stay the same Leaflet layers, the zoom and centre
    the leader chose stay, while colours, tooltips and the legend follow the new year."""
    login(page, f"{app_url}/?unit=46&year=2026&month=6")
    hue = commune_count(real_con, "46")
    frame = map_frame(page, hue)
    frame.wait_for_function("() => window.xkldRestyled >= 1")
    frame.evaluate("""() => { window.map.setView([16.4, 107.6], 11, {animate: false});
                              window.xkldMarker = 'same map'; }""")
    colours = "() => window.xkldLayers.choropleth.getLayers().map(l => l.options.fillColor).join()"
    before = frame.evaluate(colours)
    assert "2026" in frame.locator(".xkld-legend:not(.xkld-era)").first.inner_text()
    page.locator("[data-testid=stSelectbox]").filter(has_text="Năm").first.click()
    page.keyboard.type("2025")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('year=2025')")
    frame.wait_for_function("() => window.xkldRestyled >= 2", timeout=30_000)
    assert frame.evaluate("() => window.xkldMarker") == "same map"      # not a new map
    assert frame.evaluate("() => window.map.getZoom()") == 11
    centre = frame.evaluate("() => [window.map.getCenter().lat, window.map.getCenter().lng]")
    assert abs(centre[0] - 16.4) < 1e-6 and abs(centre[1] - 107.6) < 1e-6
    assert frame.evaluate("() => window.xkldFeatureCount.choropleth") == hue
    assert "2025" in frame.locator(".xkld-legend:not(.xkld-era)").first.inner_text()
    assert frame.evaluate(colours) != before


def _metric(page: Any, label: str) -> str:
    box = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return box.locator("[data-testid=stMetricValue]").inner_text().strip()


def test_default_headline_is_the_last_complete_month(page: Any, app_url: str, real_con) -> None:
    from tests.test_trust import independent
    from xkld_geo.figures import metrics

    login(page, app_url)                                     # the real warehouse, built on 1 December 2026
    label = page.locator("[data-testid=period-label]").first
    label.wait_for(timeout=30_000)
    assert label.inner_text().strip() == "Lũy kế đến hết tháng 11/2026"
    quota, ytd, pace, _ = independent(real_con, 2026, 11)
    assert _metric(page, "Chỉ tiêu năm") == metrics.fmt_int(quota)
    assert _metric(page, "Đạt tiến độ") == metrics.fmt_pct(pace)
    # the backtested forecast with its range; the old one-number method is in its note
    from xkld_geo.foresight import forecast
    nation = forecast.forecast(real_con, 2026, 11).row("nation", forecast.NATION)
    assert _metric(page, "Dự báo cả năm").startswith(metrics.fmt_int(nation["forecast"]) + " (")
    assert 80 < pace < 130  # December's day of departures is not counted as a month


def test_public_screen_names_the_last_complete_month(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/Cong_khai")
    title = page.locator("h1").filter(has_text="Kết quả đưa lao động").first
    title.wait_for(timeout=30_000)
    assert "T1–11/2026" in title.inner_text().replace("\u2060", "")   # a word joiner keeps it on one line
