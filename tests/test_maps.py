"""Map HTML from folium: offline assets, one feature per unit, colours by class, tooltips, legend."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from xkld_geo import maps
from xkld_geo.figures import metrics
from xkld_geo.views import overview


def _unescaped(html: str) -> str:
    """The page with JSON \\uXXXX escapes (as Jinja's tojson writes them) turned back into text."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def _collections(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r"L\.geoJson\((\{.*?\}), \{", html, flags=re.S)]





def test_national_map_has_one_feature_per_province_and_no_cdn(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 12), "/app/static")
    html = _unescaped(maps.page_html(view.fmap))
    assert "/app/static/vendor/leaflet/leaflet.js" in html
    assert "/app/static/vendor/leaflet/leaflet.css" in html
    assert not re.search(r"https?://(?!localhost)", re.sub(r"https?://leafletjs\.com", "", html))
    (layer,) = _collections(html)
    assert sorted(f["properties"]["code"] for f in layer["features"]) == ["98", "99"]
    assert "Dữ liệu minh họa" in html
    for label in ("Dưới 50%", "50–80%", "80–100%", "Từ 100% trở lên", "Không có chỉ tiêu"):
        assert label in html
    assert "Chỉ tiêu" in html and "Đã xuất cảnh" in html


def test_province_map_has_its_communes_and_context(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 12, "99"), "/app/static")
    context, layer = _collections(maps.page_html(view.fmap))
    assert [f["properties"]["code"] for f in context["features"]] == ["98", "99"]   # every outline
    assert len(layer["features"]) == 6
    stats = view.ranking.set_index("Mã")
    for feature in layer["features"]:
        props = feature["properties"]
        assert props["quota"] == stats.loc[props["code"], "Chỉ tiêu năm"]
        assert props["departures"] == stats.loc[props["code"], "Đã xuất cảnh (lũy kế)"]
        assert props["fill"] == metrics.attainment_class(props["pct"]).colour


def test_national_commune_map_has_province_outlines_on_top(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 6, national_level="commune"),
                                   "/app/static")
    layer, overlay = _collections(maps.page_html(view.fmap))
    assert len(layer["features"]) == 8 and len(overlay["features"]) == 2


def test_per_1000_indicator_uses_its_own_classes(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 12, "99", indicator="per_1000"),
                                   "/app/static")
    html = _unescaped(maps.page_html(view.fmap))
    assert "Từ 8 trở lên" in html and "Dưới 50%" not in html
    (_, layer) = _collections(html)
    for feature in layer["features"]:
        props = feature["properties"]
        assert props["fill"] == maps.colour_for(props["per1000"], maps.PER_1000_CLASSES)


def test_feature_collection_keeps_units_without_statistics() -> None:
    shapes = pd.DataFrame({"code": ["99001", "99002"], "name": ["A", "B"],
                           "geojson": ['{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'] * 2})
    props = pd.DataFrame({"quota": [10]}, index=["99001"])
    data = json.loads(maps.feature_collection(shapes, props))
    assert [f["properties"].get("quota") for f in data["features"]] == [10, None]


@pytest.mark.parametrize("pct,key", [(None, "none"), (0.0, "lt50"), (49.9, "lt50"), (50.0, "50to80"),
                                     (79.99, "50to80"), (80.0, "80to100"), (100.0, "ge100"), (250.0, "ge100")])
def test_attainment_classes(pct: float | None, key: str) -> None:
    assert metrics.attainment_class(pct).key == key


@pytest.mark.parametrize("value,text", [(1234567, "1.234.567"), (0, "0"), (None, "–")])
def test_vietnamese_numbers(value, text: str) -> None:
    assert metrics.fmt_int(value) == text


def test_headline_counts_units_below_half() -> None:
    rows = pd.DataFrame({"quota": [10, 10, 0], "departures": [4, 12, 3],
                         "attainment_pct": [40.0, 120.0, None]})
    h = metrics.headline(rows)
    assert (h.quota, h.departures, h.units, h.units_below_50) == (20, 19, 3, 1)
    assert h.attainment_pct == pytest.approx(95.0)


def _without_ids(html: str) -> str:
    """Folium names every element with a random id; two builds of one map differ only there."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", html)


def test_map_parts_keep_the_shapes_apart_from_the_values(tiny_con) -> None:
    """The shapes part is the same for two periods (so the browser keeps the drawn map and its zoom)
    and holds no figure; the values part holds each unit's figures, colour and the legend."""
    views = [overview.build_overview(tiny_con, overview.Request(year, 12, "99"), "/app/static") for year in (2024, 2025)]
    parts = [maps.choropleth_parts(view.map_spec, "/app/static") for view in views]
    shapes = [_without_ids(maps.page_html(fmap)) for fmap, _ in parts]
    assert shapes[0] == shapes[1]
    context, layer = _collections(shapes[0])
    assert len(layer["features"]) == 6 and set(layer["features"][0]["properties"]) == {"code", "name"}
    assert "xkld-legend" not in shapes[0].split("</style>")[-1]         # no legend in the shapes
    for view, (fmap, group) in zip(views, parts):
        script = _unescaped(group.script())
        values = decoded(re.search(r"var values = (\{.*?\}), fields", script, flags=re.S).group(1))
        stats = view.ranking.set_index("Mã")
        assert set(values) == set(stats.index)
        for code, props in values.items():
            assert props["quota"] == stats.loc[code, "Chỉ tiêu năm"]
            assert props["fill"] == metrics.attainment_class(props.get("pct")).colour
        assert f"T12/{view.request.year}" in script                       # the legend of that year


def decoded(text: str) -> dict[str, dict[str, object]]:
    """:func:`maps.values_json`'s columns read back as code → properties (nulls left out), as the
    map's script reads them."""
    data = json.loads(text)
    out: dict[str, dict[str, object]] = {}
    for i, code in enumerate(data["codes"]):
        props = {}
        for name, col in data["columns"].items():
            v = col["index"][i] if isinstance(col, dict) else col[i]
            if v is not None:
                props[name] = col["palette"][v] if isinstance(col, dict) else v
        out[code] = props
    return out


MANY = [f"#{i:06x}" for i in range(70)]


@pytest.mark.parametrize("column, expected", [
    ([10, 20, 30], [10, 20, 30]),
    ([1.0, 2.5, float("nan")], [1, 2.5, None]),                  # whole floats as integers, NaN as null
    ([12.3456, -0.004, 99.999], [12.35, 0, 100]),                # two decimals, as in the tooltips
    (["#d7191c", None, "#d7191c"], ["#d7191c", None, "#d7191c"]),
    (["<b>", "a&b", "<b>"], ["&lt;b&gt;", "a&amp;b", "&lt;b&gt;"]),   # text escaped for HTML
    (["x", 1, None], ["x", 1, None]),                             # mixed: a plain list
])
def test_values_travel_by_column_and_read_back_the_same(column: list[object], expected: list[object]) -> None:
    props = pd.DataFrame({"v": column}, index=["99001", "99002", "99003"])
    back = decoded(maps.values_json(props))
    assert [back[code].get("v") for code in props.index] == expected


def test_few_texts_travel_as_a_palette_and_many_as_a_list() -> None:
    few = json.loads(maps.values_json(pd.DataFrame({"fill": ["#a", "#b", "#a"]}, index=["1", "2", "3"])))
    assert few["columns"]["fill"] == {"palette": ["#a", "#b"], "index": [0, 1, 0]}
    many = json.loads(maps.values_json(pd.DataFrame({"fill": MANY}, index=[str(i) for i in range(70)])))
    assert many["columns"]["fill"] == MANY


XSS = '<img src=x onerror="window.__pwned=1">'


def test_names_reach_the_map_html_escaped(tiny_con) -> None:
    """A unit or market name an administrator typed is text in the tooltip, never markup."""
    from xkld_geo.views import markets

    shapes = pd.DataFrame({"code": ["99001"], "name": [XSS],
                           "geojson": ['{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}']})
    props = pd.DataFrame({"origin": [XSS]}, index=["99001"])
    data = json.loads(maps.feature_collection(shapes, props))
    assert data["features"][0]["properties"]["name"] == "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;"
    assert "<img" not in maps.values_json(props) and "<img" not in maps.legend_html(XSS, maps.PER_1000_CLASSES)
    mix = markets.by_market(tiny_con, 2025, 12, None, None).assign(name_vi=XSS)
    html = maps.page_html(markets.flow_map(tiny_con, mix, (16.0, 106.5), "/app/static", True))
    assert "onerror" in html and "<img src=x" not in html and "\\u003cimg" not in html
