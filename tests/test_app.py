"""AppTest of the overview page (app.py): widgets found by key, numbers, errors shown once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import component_args, draws, run_page
from xkld_geo.database import db
from xkld_geo.figures import metrics
from xkld_geo.settings import PROJECT_ROOT, Settings

APP = str(PROJECT_ROOT / "app.py")






def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_national_overview(app_env: Settings) -> None:
    at = run_page()
    assert not at.exception and not at.error
    assert at.selectbox(key="year").value == 2026
    assert at.selectbox(key="month").value == 2          # 15 March 2026: February is the last complete month
    assert at.selectbox(key="province").value == ""
    con = db.connect(app_env)  # the app's own shared connection: one writer per file
    quota, dep = con.execute("""SELECT (SELECT SUM(quota) FROM quotas WHERE year = 2026 AND unit_level = 'commune'),
        (SELECT SUM(departures) FROM departures WHERE year(month) = 2026 AND month(month) <= 2)""").fetchone()
    con.close()
    assert _metrics(at)["Chỉ tiêu năm"] == metrics.fmt_int(quota)
    assert _metrics(at)["Đã xuất cảnh (lũy kế)"] == metrics.fmt_int(dep)
    assert len(at.dataframe[0].value) == 2
    assert any("Dữ liệu minh họa" in m.value for m in at.markdown)
    assert at.title[0].value.startswith("Xuất khẩu lao động")


def test_choosing_a_province_then_a_commune(app_env: Settings) -> None:
    at = run_page()
    at.selectbox(key="province").set_value("99").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 6 and set(table["Mã"]) == {f"99{i:03d}" for i in range(1, 7)}
    assert at.query_params["unit"] in (["99"], "99")
    at.selectbox(key="commune").set_value("99004").run()
    assert at.query_params["unit"] in (["99004"], "99004")
    assert "Xã Thử 4" in at.subheader[0].value
    assert _metrics(at)["Xã/phường dưới 50% tiến độ"].endswith("/1")
    at.button(key="crumb_0").click().run()              # "Toàn quốc ›" goes back up
    assert at.selectbox(key="province").value == ""
    assert len(at.dataframe[0].value) == 2


def test_url_reopens_the_same_view(app_env: Settings) -> None:
    at = run_page(query={"year": "2024", "month": "6", "unit": "99004"})
    assert not at.exception
    assert at.selectbox(key="year").value == 2024
    assert at.selectbox(key="month").value == 6
    assert at.selectbox(key="province").value == "99"
    assert at.selectbox(key="commune").value == "99004"
    assert "tháng 1–6/2024" in at.subheader[0].value


def test_presentation_mode_from_url(app_env: Settings) -> None:
    at = run_page(query={"mode": "present", "unit": "98"})
    assert not at.exception
    assert at.toggle(key="present").value is True
    assert not at.title                                  # the page title gives way to the map
    assert any("stSidebar" in m.value for m in at.markdown)  # the CSS that hides the controls
    at.button(key="exit_present").click().run()
    assert at.toggle(key="present").value is False and at.title


def test_indicator_switch(app_env: Settings) -> None:
    """Switching the colour indicator repaints the map with the per-1,000 legend and classes."""
    at = run_page(query={"unit": "99"})
    (before,) = component_args(at)
    assert draws(before, "Đạt tiến độ đến") and not draws(before, "Người đi / 1.000 người LĐ")
    at.radio(key="indicator").set_value("per_1000").run()
    assert not at.exception and not at.error
    (after,) = component_args(at)
    assert draws(after, "Người đi / 1.000 người LĐ") and not draws(after, "Đạt tiến độ đến")
    assert at.session_state["indicator"] == "per_1000"
    assert _metrics(at) == _metrics(run_page(query={"unit": "99"}))   # the headline does not depend on the colour


def test_a_rerun_reuses_the_drawn_map_and_a_switch_back_finds_it_again(app_env: Settings) -> None:
    """The map's component arguments are built once per shared view, not rendered on every rerun."""
    from xkld_geo.ui import map_component

    at = run_page(query={"unit": "99"})
    (first,) = component_args(at)
    built = map_component.stats()["built"]
    at.run()
    (again,) = component_args(at)
    assert again == first and map_component.stats()["built"] == built   # nothing rendered again
    at.radio(key="indicator").set_value("per_1000").run()
    (other,) = component_args(at)
    assert other != first and map_component.stats()["built"] == built + 1
    at.radio(key="indicator").set_value("attainment").run()
    assert component_args(at) == [first] and map_component.stats()["built"] == built + 1


def test_another_period_or_indicator_reuses_the_drawn_shapes_part(app_env: Settings) -> None:
    """The shapes part of a map (its script, hence the component's identity in the browser) is
    built once per layers: a switch of indicator or month sends the same shapes part, and only
    the values (``values``) differ."""
    from xkld_geo.ui import map_component

    at = run_page(query={"unit": "99"})
    (first,) = [json.loads(a) for a in component_args(at)]
    bases = map_component.stats()["bases"]
    at.radio(key="indicator").set_value("per_1000").run()
    at.selectbox(key="month").set_value(at.selectbox(key="month").options[0]).run()
    assert not at.exception and not at.error
    (other,) = [json.loads(a) for a in component_args(at)]
    assert map_component.stats()["bases"] == bases   # no new shapes part
    assert {k: v for k, v in other.items() if k != "values"} == {k: v for k, v in first.items() if k != "values"}
    assert other["values"] != first["values"]


def test_the_map_component_gets_the_shapes_page_and_the_values_script_apart(app_env: Settings) -> None:
    """``draw_layers`` sends the shapes part as folium's page of the shapes alone and the values as
    the element's own script (written from its macro, without rendering it in a page)."""
    from xkld_geo import maps
    from xkld_geo.database import cache, db
    from xkld_geo.ui import map_component
    from xkld_geo.views import overview

    con = db.connect(app_env)
    view = overview.build_overview(con, overview.Request(2024, 6, "99"), app_env.static_url)
    assert view.map_spec.layers is not None and cache.scope(con).enabled
    fmap, values = maps.choropleth_parts(view.map_spec, app_env.static_url)
    sent = map_component.arguments(fmap, values, "k", 500, ("last_active_drawing",))
    assert sent["values"] == values.script() and "var values = {" in sent["values"]
    assert sent["map"] in sent["page"] and "var values = {" not in sent["page"]
    assert "/app/static/vendor/leaflet/leaflet.js" in sent["page"] and "cdn" not in sent["page"].lower()
    assert sent["returned"] == ("last_active_drawing",) and sent["default"] == {"last_active_drawing": None}
    again = map_component.arguments(*maps.choropleth_parts(view.map_spec, app_env.static_url), "k", 500, ())
    assert again["key"] == sent["key"] and again["map"] != sent["map"]   # folium's random ids aside, one frame
    assert map_component.arguments(fmap, values, "other", 500, ())["key"] != sent["key"]


def test_the_ranking_marks_its_top_and_bottom_from_column_config(app_env: Settings) -> None:
    at = run_page()
    (table,) = at.dataframe
    shown = table.value
    assert shown.columns[1] == "Nhóm" and shown["Nhóm"].iloc[0].tolist() == ["10 đầu"]
    assert shown["Hạng"].iloc[0] == 1 and "Tên" in shown
    config = json.loads(table.proto.columns)       # colours and whole numbers from column_config
    assert [(o["value"], o["color"]) for o in config["Nhóm"]["type_config"]["options"]] == [
        ("10 đầu", "blue"), ("10 cuối", "red")]
    assert config["Chỉ tiêu năm"]["type_config"]["format"] == "%'.,d"              # 12.345
    # decimals keep their value and show a comma through the display values (sprintf-js has no decimal comma)
    assert "format" not in config["Đạt tiến độ (%)"].get("type_config", {})
    assert table.proto.arrow_data.HasField("styler")


@pytest.mark.parametrize("query", [{"unit": "../../etc/passwd"}, {"year": "2024; DROP TABLE quotas"},
                                   {"unit": "x" * 5000}, {"month": "13"}, {"unit": "99999"}])
def test_hostile_url_parameters_fall_back_with_a_message(app_env: Settings, query: dict[str, str]) -> None:
    at = run_page(query=query)
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "không hợp lệ" in at.warning[0].value
    assert at.selectbox(key="province").value == ""


def test_missing_database_shows_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XKLD_DB", str(tmp_path / "absent.duckdb"))
    db.close_all()
    at = run_page(role=None)
    assert not at.exception
    assert len(at.error) == 1 and "python -m xkld_geo build" in at.error[0].value


def test_rotation_list_from_url(app_env: Settings) -> None:
    at = run_page(query={"mode": "present", "cycle": "98,99,77", "every": "7"})
    assert not at.exception
    assert at.multiselect(key="cycle").value == ["98", "99"]
    assert at.number_input(key="cycle_every").value == 7
    assert len(at.warning) == 1 and "cycle" in at.warning[0].value


def test_a_long_ranking_opens_on_its_ends_and_shows_every_row_on_demand(app_env: Settings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from xkld_geo.ui import overview as page

    monkeypatch.setattr(page, "RANKING_ROWS", 3)
    monkeypatch.setattr(page, "RANKING_ENDS", 1)
    at = run_page(query={"unit": "99"})
    (table,) = at.dataframe
    assert len(table.value) == 2 and table.value["Hạng"].iloc[0] == 1
    at.toggle(key="ranking_all").set_value(True).run()
    assert not at.exception and len(at.dataframe[0].value) > 3


def test_the_tab_icon_is_a_file_the_static_route_serves() -> None:
    """The favicon is given as the static route's URL (no file read per run): the file must be there."""
    from xkld_geo.settings import PROJECT_ROOT
    from xkld_geo.ui.common import FAVICON

    assert FAVICON.startswith("/app/static/") and (PROJECT_ROOT / FAVICON.removeprefix("/app/")).is_file()
