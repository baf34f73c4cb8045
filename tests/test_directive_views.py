"""The four directive pages as shared views (issue 15): the same figures as the page functions give,
built once per data version and request, never stale after a write, and a page run again (in the
same session or another) renders no map and converts no table again."""
from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pyarrow as pa
import pytest

from tests.conftest import component_args, draws, problems, run_page
from xkld_geo.access import auth
from xkld_geo.database import cache, dataversion, db
from xkld_geo.figures import metrics, references
from xkld_geo.settings import Settings
from xkld_geo.views import jobfairs, markets, priority
from xkld_geo.views import problems as problem_view
from xkld_geo.views import problems as problem_views

TODAY = dt.date(2026, 3, 15)
STATIC = "/app/static"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _figures(view) -> dict[str, str]:
    return {f.label: f.value for f in view.figures}


@pytest.mark.parametrize("province,commune,group", [
    (None, None, priority.ALL_PRIORITY), ("99", None, "ho_ngheo"), ("99", "99003", "bo_doi_xuat_ngu"),
])
def test_priority_view_has_the_page_figures(tiny_con, province, commune, group) -> None:
    view = priority.build_priority(tiny_con, 2025, 12, province, commune, group)
    rows = priority.shares(tiny_con, 2025, 12, province, group)
    assert _figures(view)["Số người đi thuộc nhóm"] == metrics.fmt_int(rows["in_group"].sum())
    assert _figures(view)["Tỷ lệ trong số người đi"] == priority.label(
        100.0 * rows["in_group"].sum() / rows["total"].sum())
    pd.testing.assert_frame_equal(view.table, priority.table(rows))
    assert view.title == f"{priority.GROUPS[group]}: tỷ lệ trong số người đi, tháng 1–12/2025"
    shares = rows.set_index("unit_code")["share_pct"]
    assert view.map.properties["value"].dropna().to_dict() == shares.dropna().to_dict()
    if commune is None:
        assert view.commune is None and view.map.overlay is None
    else:
        own = rows.set_index("unit_code").loc[commune]
        assert view.commune is not None and view.commune.name == "Xã Thử 3" and view.commune.figures is not None
        assert {f.label: f.value for f in view.commune.figures}["Tổng số người đi"] == metrics.fmt_int(own["total"])
        assert view.map.overlay is not None and view.map.overlay["code"].tolist() == [commune]


@pytest.mark.parametrize("province,commune", [(None, None), ("99", None), ("99", "99001")])
def test_markets_view_has_the_page_figures(tiny_con, province, commune) -> None:
    view = markets.build_markets(tiny_con, 2025, 12, province, commune, STATIC)
    mix = markets.by_market(tiny_con, 2025, 12, province, commune)
    assert _figures(view) == {"Số người đi": metrics.fmt_int(mix["departures"].sum()),
                              "Đến thị trường an toàn, thu nhập cao": metrics.fmt_pct(markets.safe_share(mix)),
                              "Số thị trường": str(int((mix["departures"] > 0).sum()))}
    assert list(view.choices) == mix.loc[mix["departures"] > 0, "market"].tolist()
    pd.testing.assert_frame_equal(view.flow.mix, mix)
    assert view.flow.origin == markets.origin_point(tiny_con, province)
    wide = view.monthly.pivot(index="Tháng", columns="color", values="value")
    expected = markets.monthly_mix(tiny_con, 2025, province)
    pd.testing.assert_frame_equal(wide, expected, check_names=False, check_dtype=False)
    pd.testing.assert_frame_equal(view.reference, references.read(tiny_con, "markets"))
    market = view.choices[0]
    spec = markets.build_origins(tiny_con, 2025, 12, province, commune, market)
    origins = markets.origins(tiny_con, 2025, 12, province, market).set_index("unit_code")["departures"]
    assert spec.properties["value"].dropna().to_dict() == origins.to_dict()
    assert spec.title == f"Số người đi {view.names[market]}"   # the market by its Vietnamese name, not its code


def test_jobfairs_views_have_the_page_figures(tiny_con) -> None:
    national = jobfairs.build_jobfairs(tiny_con, 2025, 5, None, None, TODAY, 5)
    rows = jobfairs.province_compliance(tiny_con, 2025, 5, TODAY, 5)
    assert national.table is not None and national.calendar is None and national.figures == ()
    pd.testing.assert_frame_equal(national.table, rows.rename(columns=jobfairs.PROVINCE_COLUMNS))
    view = jobfairs.build_jobfairs(tiny_con, 2025, 5, "99", "99002", TODAY, 5)
    comp = jobfairs.compliance(jobfairs.monthly(tiny_con, 2025, 5, "99", TODAY, 5))
    total = jobfairs.province_total(comp)
    assert _figures(view)["Toàn tỉnh: lượt xã-tháng đạt"] == f"{total['met']}/{total['elapsed']}"
    assert _figures(view)["Toàn tỉnh: lượt dự sàn"] == metrics.fmt_int(total["attendees"])
    assert view.table is not None and view.calendar is not None
    assert view.table["Số tháng đạt"].tolist() == [f"{m}/{e}" for m, e in zip(comp["met"], comp["elapsed"])]
    assert view.calendar["Mã"].iloc[0] == "99002" and len(view.calendar) == len(comp)   # selected commune first
    assert view.commune is not None and view.commune.name == "Xã Thử 2"
    assert view.missed == tuple(comp.loc[comp["missed_two"], "unit_name"])
    assert "Kỳ tính: tháng 1–5/2025" in view.caption
    later = jobfairs.build_jobfairs(tiny_con, 2027, 6, "99", None, TODAY, 5)   # nothing due yet
    assert later.empty == "Năm 2027: chưa đến hạn báo cáo tháng nào." and later.map is None


@pytest.mark.parametrize("province,commune", [(None, None), ("99", "99004")])
def test_problems_view_has_the_page_figures(tiny_con, province, commune) -> None:
    view = problem_views.build_problems(tiny_con, 2025, 12, province, commune)
    rows = problem_view.problems(tiny_con, 2025, 12, province)
    assert _figures(view) == {label: metrics.fmt_int(rows[key].sum()) for key, label in problem_view.PROBLEM_COLUMNS.items()}
    pd.testing.assert_frame_equal(view.table, rows.rename(columns={"unit_code": "Mã", "unit_name": "Tên"}
                                                          | problem_view.PROBLEM_COLUMNS))
    assert set(view.maps) == {"returnees", "breaches", "fraud_reports"}
    for measure, spec in view.maps.items():
        assert spec.properties["value"].to_dict() == rows.set_index("unit_code")[measure].to_dict()
        assert spec.title == problem_view.PROBLEM_COLUMNS[measure]
    assert (view.commune is None) == (commune is None)


def test_views_are_shared_until_a_write_bumps_the_version(tiny_con) -> None:
    first = markets.build_markets(tiny_con, 2025, 12, "99", None, STATIC)
    assert markets.build_markets(tiny_con, 2025, 12, "99", None, STATIC) is first          # served, not rebuilt
    assert priority.build_priority(tiny_con, 2025, 12, "99", None, "ho_ngheo") is \
        priority.build_priority(tiny_con, 2025, 12, "99", None, "ho_ngheo")
    assert jobfairs.build_jobfairs(tiny_con, 2025, 5, "99", None, TODAY, 5) is \
        jobfairs.build_jobfairs(tiny_con, 2025, 5, "99", None, TODAY, 5)
    assert problem_views.build_problems(tiny_con, 2025, 12, None, None) is \
        problem_views.build_problems(tiny_con, 2025, 12, None, None)
    # a commune outside a chosen province is not a selection: the same view
    assert priority.build_priority(tiny_con, 2025, 12, None, "99001", "ho_ngheo") is \
        priority.build_priority(tiny_con, 2025, 12, None, None, "ho_ngheo")
    table = references.read(tiny_con, "markets")
    table["safe_high_income"] = False                                   # an administrator's edit
    references.save(tiny_con, "markets", table, auth.User("qt", "qt", "admin"))
    after = markets.build_markets(tiny_con, 2025, 12, "99", None, STATIC)
    assert after is not first and _figures(after)["Đến thị trường an toàn, thu nhập cao"] == metrics.fmt_pct(0.0)
    assert _figures(first)["Đến thị trường an toàn, thu nhập cao"] != _figures(after)["Đến thị trường an toàn, thu nhập cao"]
    assert not after.reference["safe_high_income"].any()


def test_a_new_import_shows_at_once(tiny_con) -> None:
    before = problem_views.build_problems(tiny_con, 2025, 12, "99", None)
    with db.transaction(tiny_con):   # as an import does: the write and its version bump commit together
        tiny_con.execute("UPDATE programme_monthly SET loans = loans + 7 WHERE commune_code = '99001' "
                         "AND month = DATE '2025-03-01'")
        dataversion.bump(tiny_con, "import:programme")
    after = problem_views.build_problems(tiny_con, 2025, 12, "99", None)
    loans = tiny_con.execute("SELECT SUM(loans) FROM programme_monthly WHERE commune_code LIKE '99%' "
                             "AND year(month) = 2025").fetchone()[0]
    assert after is not before and _figures(after)["Số khoản vay"] == metrics.fmt_int(loans)
    assert _figures(before)["Số khoản vay"] != _figures(after)["Số khoản vay"]


PAGES = ["pages/2_Nhom_uu_tien.py", "pages/3_Thi_truong.py", "pages/4_San_viec_lam.py", "pages/5_Vay_von_van_de.py"]


@pytest.mark.parametrize("unit", ["99", None])
@pytest.mark.parametrize("path", PAGES)
def test_a_page_run_again_renders_no_map_and_converts_no_table(app_env: Settings, path: str, unit: str | None) -> None:
    from xkld_geo.ui import map_component, shared_tables

    at = run_page(path, query={"unit": unit} if unit else None)
    assert not problems(at)
    maps_drawn, tables = component_args(at), [d.value for d in at.dataframe]
    assert maps_drawn and tables
    built, converted = map_component.stats()["built"], shared_tables.stats()["built"]
    at.run()                                                            # the same session again
    assert not problems(at)
    assert map_component.stats()["built"] == built and shared_tables.stats()["built"] == converted
    assert component_args(at) == maps_drawn
    other = run_page(path, query={"unit": unit} if unit else None)      # another session, same filters
    assert not problems(other) and component_args(other) == maps_drawn
    assert map_component.stats()["built"] == built and shared_tables.stats()["built"] == converted
    for shown, again in zip(tables, [d.value for d in other.dataframe]):
        pd.testing.assert_frame_equal(shown, again)


def test_the_markets_page_draws_the_flow_map_and_the_chart(app_env: Settings) -> None:
    at = run_page("pages/3_Thi_truong.py", query={"unit": "99"})
    assert not problems(at)
    flow, origins = component_args(at)
    assert '"flows"' in flow or "FlowLayer" in flow or draws(flow, "An toàn, thu nhập cao")
    assert draws(origins, "Số người đi")
    (chart,) = at.get("vega_lite_chart")
    view = markets.build_markets(db.connect(app_env), at.selectbox(key="year").value, at.selectbox(key="month").value,
                                 "99", None, app_env.static_url)
    assert json.loads(chart.proto.spec)["encoding"] == view.chart["encoding"]
    sent = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()
    assert len(sent) and len(sent) == len(view.monthly)
    pd.testing.assert_frame_equal(sent, view.monthly.reset_index(drop=True))   # the months × markets, long
    picked = at.selectbox(key="market_pick")
    assert len(picked.options) > 1
    codes = references.read(db.connect(app_env), "markets").set_index("name_vi")["code"]
    picked.set_value(codes[picked.options[1]]).run()
    assert not problems(at) and at.selectbox(key="market_pick").value == codes[picked.options[1]]
    again, other = component_args(at)
    assert again == flow and other != origins                 # only the origins map changes


def test_a_saved_reference_edit_shows_at_once(app_env: Settings) -> None:
    at = run_page("pages/3_Thi_truong.py", query={"unit": "99"})
    before = at.dataframe[-1].value.set_index("code")
    con = db.connect(app_env)
    table = references.read(con, "markets")
    table.loc[table["code"] == "JP", "avg_income_usd"] = 4321
    references.save(con, "markets", table, auth.User("qt", "qt", "admin"))
    at.run()
    after = at.dataframe[-1].value.set_index("code")
    assert before.loc["JP", "avg_income_usd"] != 4321 and after.loc["JP", "avg_income_usd"] == 4321


def test_the_market_mix_chart_is_the_one_st_bar_chart_drew(tiny_con) -> None:
    """The plain spec says what st.bar_chart(stack=True) said of the wide table (its generated field
    names aside), so the chart reads as before without building an Altair chart on every run."""
    wide = markets.monthly_mix(tiny_con, 2025, "99")
    long = wide.reset_index().melt(id_vars="Tháng", var_name="color", value_name="value")
    for data in (wide, wide.astype("int64")):   # sums as the database gives them, and whole numbers
        _same_chart(data, markets.mix_spec(long if data is wide else long.astype({"value": "int64"})))


def _same_chart(wide: pd.DataFrame, spec: dict) -> None:
    from streamlit.elements.lib.built_in_chart_utils import ChartType, generate_chart

    drawn = json.dumps(generate_chart(ChartType.VERTICAL_BAR, wide, height=300, stack=True).to_dict()["encoding"])
    drawn = drawn.replace("value -- streamlit-generated", "value").replace("color -- streamlit-generated", "color")
    expected = json.loads(drawn)
    for channel in ("x", "y"):
        expected[channel].pop("scale", None)
    ours = json.loads(json.dumps(spec["encoding"]))
    # deliberate differences: Vietnamese tooltip titles and the markets in Vietnamese order
    assert [t.get("title") for t in ours.pop("tooltip")][1:] == ["Số người", "Thị trường"]
    expected.pop("tooltip", None)
    ours["color"].pop("sort", None)
    assert expected == ours and spec["height"] == 300


def test_the_reference_editor_saves_and_shows_the_saved_table(app_env: Settings) -> None:
    at = run_page("pages/3_Thi_truong.py", role="admin", query={"unit": "99"})
    assert not problems(at)
    at.button(key="reference_save").click().run()                       # the editor's table, saved as it is
    assert not problems(at) and any("Đã lưu" in s.value and "thị trường" in s.value for s in at.success)
    con = db.connect(app_env)
    table = references.read(con, "markets")
    table.loc[table["code"] == "JP", "avg_income_usd"] = 2468
    references.save(con, "markets", table, auth.User("qt", "qt", "admin"))
    at.run()
    (editor,) = [d for d in at.dataframe]
    assert editor.value.set_index("code").loc["JP", "avg_income_usd"] == 2468   # the new version's table


def test_flow_lines_end_on_each_country_as_before(tiny_con) -> None:
    import shapely

    shapes = markets.country_shapes(tiny_con)
    points = markets.country_points(tiny_con)
    assert set(points) == set(shapes["code"])
    for code, geojson in zip(shapes["code"], shapes["geojson"]):   # one country at a time, as the map did
        point = shapely.point_on_surface(shapely.from_geojson(geojson))
        assert points[code] == (round(point.y, 3), round(point.x, 3))


def test_a_fetched_flow_map_names_its_geometry_files_and_applies_the_figures(tiny_con) -> None:
    """Under serve.py the flow map's countries come from geometry files: its script carries no
    shape, and the destinations' figures are applied to the fetched layer when it arrives."""
    from xkld_geo import maps

    view = markets.build_markets(tiny_con, 2025, 12, None, None, STATIC)
    fetched = maps.page_html(markets.flow_map(tiny_con, view.flow.mix, view.flow.origin, STATIC, True, fetched=True))
    inline = maps.page_html(markets.flow_map(tiny_con, view.flow.mix, view.flow.origin, STATIC, True))
    assert '"coordinates"' in inline and maps.geometry.URL_PREFIX not in inline
    assert '"coordinates"' not in fetched and fetched.count(maps.geometry.URL_PREFIX + "/") >= 2   # Vietnam, countries
    used = view.flow.mix[view.flow.mix["departures"] > 0]
    assert '(window.xkldLayers || {})["countries"]' in fetched
    from tests.test_maps import decoded

    values = decoded(re.search(r"var values = (\{.*?\}), fields", fetched, flags=re.S).group(1))
    assert all(values[code]["departures"] == int(n) for code, n in zip(used["market"], used["departures"]))
