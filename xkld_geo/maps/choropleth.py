"""Choropleth specifications, their legends and colours, and the maps drawn from them.

A :class:`ChoroplethSpec` says what to draw; :func:`choropleth_map` draws it in one piece (geometry
inline: a standalone page, the PNG export, the tests), and :func:`choropleth_parts` in two parts for
the map component: the shapes, fetched by the browser from a content-hashed geometry file
(:mod:`xkld_geo.maps.geometry`) and cached by it, and the values per unit code.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import folium
import pandas as pd

from xkld_geo.figures.metrics import ATTAINMENT_CLASSES, NO_QUOTA, ColourClass, attainment_class
from xkld_geo.maps import archipelagos, geometry
from xkld_geo.maps.layers import (
    ChoroplethLayer,
    ChoroplethValues,
    MapControl,
    _plain,
    base_map,
    feature_collection,
    legend_html,
)
from xkld_geo.text.formats import fmt_int, fmt_range
from xkld_geo.text.markup import html_text

PER_1000_CLASSES: tuple[ColourClass, ...] = (
    # ColorBrewer YlGnBu (sequential, colour-blind safe)
    ColourClass("lt1", "Dưới 1", -math.inf, "#ffffcc"),
    ColourClass("1to2", "1–2", 1.0, "#a1dab4"),
    ColourClass("2to4", "2–4", 2.0, "#41b6c4"),
    ColourClass("4to8", "4–8", 4.0, "#2c7fb8"),
    ColourClass("ge8", "Từ 8 trở lên", 8.0, "#253494"),
)
NO_DATA = ColourClass("none", "Không có số liệu", math.nan, "#bdbdbd")


def _counts(bounds: tuple[int, int, int, int]) -> tuple[ColourClass, ...]:
    """Fixed classes of a head count (ColorBrewer PuBu, sequential, colour-blind safe)."""
    colours = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
    a, b, c, d = bounds
    labels = (f"Dưới {fmt_int(a)}", fmt_range(a, b - 1), fmt_range(b, c - 1), fmt_range(c, d - 1), fmt_range(d))
    lowers = (-math.inf, a, b, c, d)
    return tuple(ColourClass(f"c{i}", lab, low, col) for i, (lab, low, col) in enumerate(zip(labels, lowers, colours)))


LEGENDS: dict[str, tuple[ColourClass, ...]] = {
    "attainment": ATTAINMENT_CLASSES + (NO_QUOTA,),
    "per_1000": PER_1000_CLASSES + (NO_DATA,),
    "departures_district": _counts((50, 150, 400, 1000)) + (NO_DATA,),
    "departures_commune": _counts((5, 15, 40, 100)) + (NO_DATA,),
    "departures_province": _counts((200, 1000, 3000, 8000)) + (NO_DATA,),
    "compliance": (ColourClass("lt50", "Dưới 50% số tháng", -math.inf, "#d7191c"),
                   ColourClass("50to80", "50–80%", 50.0, "#fdae61"),
                   ColourClass("80to100", "80–99%", 80.0, "#abd9e9"),
                   ColourClass("all", "Đạt mọi tháng", 100.0, "#2c7bb6"), NO_DATA),
    # reports received on time: the target is all of them; 75% and 90% are the usual marks of a
    # weak and a good month (ColorBrewer RdYlBu, diverging, colour-blind safe)
    "on_time": (ColourClass("t0", "Dưới 50% đúng hạn", -math.inf, "#d7191c"),
                ColourClass("t50", "50–65%", 50.0, "#fdae61"), ColourClass("t65", "65–75%", 65.0, "#ffffbf"),
                ColourClass("t75", "75–90%", 75.0, "#abd9e9"), ColourClass("t90", "Từ 90% trở lên", 90.0, "#2c7bb6"),
                NO_DATA),
    "share": (ColourClass("s0", "Dưới 10%", -math.inf, "#ffffcc"), ColourClass("s10", "10–25%", 10, "#a1dab4"),
              ColourClass("s25", "25–50%", 25, "#41b6c4"), ColourClass("s50", "Từ 50% trở lên", 50, "#225ea8"),
              NO_DATA),
    "departures_market": _counts((100, 1000, 10000, 40000)) + (NO_DATA,),
    "open_cases": _counts((1, 3, 10, 30)) + (NO_DATA,),
    # probability (%) of reaching the quota by the backtested forecast (xkld_geo.foresight)
    "reach": (ColourClass("r0", "Dưới 20%: nhiều khả năng không đạt", -math.inf, "#d7191c"),
              ColourClass("r20", "20–49%: khó đạt", 20.0, "#fdae61"),
              ColourClass("r50", "50–79%: có thể đạt", 50.0, "#abd9e9"),
              ColourClass("r80", "Từ 80%: gần như chắc chắn đạt", 80.0, "#2c7bb6"), NO_QUOTA),
    # ColorBrewer RdBu (diverging, colour-blind safe): quota lost in red, gained in blue
    "change": (ColourClass("down20", "Giảm từ 20 trở lên", -math.inf, "#ca0020"),
               ColourClass("down", "Giảm 1–19", -19, "#f4a582"),
               ColourClass("same", "Không đổi", 0, "#f7f7f7"),
               ColourClass("up", "Tăng 1–19", 1, "#92c5de"),
               ColourClass("up20", "Tăng từ 20 trở lên", 20, "#0571b0"), NO_DATA),
}
"""Every legend a map can carry; the last class of each is the one for missing values."""


def colour_for(value: float | None, classes: tuple[ColourClass, ...] | None = None) -> str:
    """Fill colour of a value in fixed classes (attainment classes by default)."""
    if classes is None:
        return attainment_class(value).colour
    if value is None or pd.isna(value):
        return NO_DATA.colour
    chosen = classes[0]
    for cls in classes:
        if value >= cls.lower:
            chosen = cls
    return chosen.colour


@dataclass(frozen=True)
class ChoroplethSpec:
    """What to draw: shapes, their properties (with ``fill``), context below, outlines above."""

    shapes: pd.DataFrame              # code, name, geojson (+ center_lon, xmin.. for the view)
    properties: pd.DataFrame          # indexed by code: quota, departures, pct, change, per1000, fill
    context: pd.DataFrame | None      # grey neighbours drawn underneath (e.g. other provinces)
    title: str
    demo: bool = True
    overlay: pd.DataFrame | None = None   # outlines drawn on top (province borders over communes)
    classes: str = "attainment"           # a key of LEGENDS
    tooltip: tuple[tuple[str, str, str], ...] | None = None   # None: the attainment tooltip
    label: str | None = None              # a caption on the map (e.g. which units are shown)
    layers: tuple | None = None           # what identifies shapes, context and overlay (with the data
    # version), set by a view that knows it: maps of the same layers share their drawn shapes part


TOOLTIP = (("quota", "Chỉ tiêu năm", ""), ("departures", "Đã xuất cảnh", ""),
           ("pct", "Đạt tiến độ", "%"), ("change", "So cùng kỳ năm trước", "%"),
           ("per1000", "Trên 1.000 người LĐ", ""))

MAINLAND_MAX_LON = 110.0
"""Hoàng Sa and Trường Sa lie east of this; a view fitted to them would shrink the mainland."""


def view_bounds(shapes: pd.DataFrame) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the shapes, leaving out the far offshore archipelagos."""
    near = shapes[shapes["center_lon"] < MAINLAND_MAX_LON]
    near = near if len(near) else shapes
    if not len(near) or "xmin" not in near:
        return None
    return [[round(float(near["ymin"].min()), 4), round(float(near["xmin"].min()), 4)],
            [round(float(near["ymax"].max()), 4), round(float(near["xmax"].max()), 4)]]


CHANGE_TOOLTIP = (("before", "Trước", ""), ("after", "Sau", ""), ("change", "Chênh lệch", ""))


def change_spec(shapes: pd.DataFrame, before: pd.Series, after: pd.Series, title: str,
                demo: bool = True) -> ChoroplethSpec:
    """Diverging map of quota gained or lost per unit (``before``/``after`` indexed by code)."""
    props = pd.DataFrame({"before": before, "after": after}).reindex(shapes["code"])
    props["change"] = props["after"].fillna(0) - props["before"].fillna(0)
    props["fill"] = [colour_for(v, LEGENDS["change"][:-1]) for v in props["change"]]
    return ChoroplethSpec(shapes, props, None, title, demo, classes="change", tooltip=CHANGE_TOOLTIP)


def change_map(shapes: pd.DataFrame, before: pd.Series, after: pd.Series, title: str, static_url: str,
               demo: bool = True) -> folium.Map:
    """The :func:`change_spec` map in one piece."""
    return choropleth_map(change_spec(shapes, before, after, title, demo), static_url)


def _controls(spec: ChoroplethSpec) -> list[tuple[str, str, str]]:
    """(position, CSS class, HTML) of the legend and the caption of ``spec``."""
    controls = [("bottomright", "xkld-legend", legend_html(spec.title, LEGENDS[spec.classes]))]
    if spec.label:
        controls.append(("bottomleft", "xkld-legend xkld-era", html_text(spec.label)))
    return controls


PALETTE_MAX = 64
"""A text column with at most this many distinct values (the fill colours) travels as a palette."""


def values_json(properties: pd.DataFrame) -> str:
    """The feature properties a :class:`ChoroplethValues` applies, by column:
    ``{"codes": [code, ...], "columns": {name: [value per code] | {"palette": [...], "index": [...]}}}``,
    null where a unit has no value.

    By column, not code → object: a new period sends the values of every unit, and naming each
    field for each of the 3,321 communes made the national commune map's message about 63 KB on
    the wire (issue 15: a switch ≤ 50 KB); by column it is 37–46 KB. Text columns with few
    values, the fill colours, travel as a palette and indices; whole floats as integers (the
    same number in JavaScript)."""
    columns: dict[str, object] = {}
    for name in properties.columns:
        values = [_value(v) for v in properties[name].astype(object).tolist()]
        texts = {v for v in values if isinstance(v, str)}
        if texts and len(texts) <= PALETTE_MAX and all(v is None or isinstance(v, str) for v in values):
            palette = sorted(texts)
            at = {v: i for i, v in enumerate(palette)}
            columns[str(name)] = {"palette": palette, "index": [at[v] if isinstance(v, str) else None for v in values]}
        else:
            columns[str(name)] = values
    return json.dumps({"codes": [str(c) for c in properties.index], "columns": columns},
                      ensure_ascii=False, separators=(",", ":"))


def _value(value: object) -> object:
    """One property as :func:`values_json` sends it: null, a number, or escaped text."""
    if not isinstance(value, str) and pd.isna(value):   # None, NaN, NA
        return None
    plain = _plain(value)
    return int(plain) if isinstance(plain, float) and plain.is_integer() else plain


def shapes_map(spec: ChoroplethSpec, static_url: str, fetched: bool = False) -> folium.Map:
    """The first part of :func:`choropleth_parts`: the shapes alone, without values, legend or
    caption; the same for every period and indicator of the same layers."""
    shapes_only = replace(spec, properties=pd.DataFrame(index=spec.properties.index), title="", label=None)
    return choropleth_map(shapes_only, static_url, controls=False, fetched=fetched)


def values_element(spec: ChoroplethSpec) -> ChoroplethValues:
    """The second part of :func:`choropleth_parts`: the values, colours, legend and caption."""
    return ChoroplethValues(values_json(spec.properties), list(spec.properties.columns), _controls(spec))


def choropleth_parts(spec: ChoroplethSpec, static_url: str,
                     fetched: bool = False) -> tuple[folium.Map, ChoroplethValues]:
    """The map of ``spec`` in two parts for the map component (:mod:`xkld_geo.ui.map_component`):
    the shapes alone (the same for every period and indicator, so the browser keeps them, and its
    zoom, when only those change) and the element that applies the values, the colours, the legend
    and the caption.

    ``fetched``: the shapes are not in the map's script but in content-hashed files the browser
    fetches once and caches (:mod:`xkld_geo.maps.geometry`, served by ``serve.py``), so a rerun
    sends only the values per unit code."""
    return shapes_map(spec, static_url, fetched), values_element(spec)


def _layer_source(shapes: pd.DataFrame, properties: pd.DataFrame | None, fetched: bool) -> tuple[str, str | None]:
    """(inline GeoJSON, geometry file URL) of ``shapes`` for a ``ChoroplethLayer``: the URL when
    ``fetched`` (properties then arrive with the values), else the GeoJSON text."""
    if fetched and (properties is None or properties.columns.empty):
        return "", geometry.publish(shapes).url
    return feature_collection(shapes, properties), None


def choropleth_map(spec: ChoroplethSpec, static_url: str, controls: bool = True,
                   fetched: bool = False) -> folium.Map:
    """A choropleth with a legend, tooltips, grey context below and outlines above
    (``controls=False``: no legend nor caption; ``fetched``: geometry by URL, see
    :func:`choropleth_parts`)."""
    fmap = base_map(static_url, demo=spec.demo)
    if spec.context is not None and len(spec.context):
        data, url = _layer_source(spec.context, None, fetched)
        ChoroplethLayer(data, url=url, stroke="#8a8a8a", weight=1.0,
                        fill_opacity=1.0, default_fill="#f7f7f5", interactive=False,
                        name="context").add_to(fmap)
    weight = 0.3 if len(spec.shapes) > 1000 else 0.6
    data, url = _layer_source(spec.shapes, spec.properties, fetched)
    national = archipelagos.whole_country(spec.shapes)
    fit = view_bounds(spec.shapes)
    ChoroplethLayer(data, url=url, tooltip_fields=spec.tooltip or TOOLTIP,
                    weight=weight, fit=archipelagos.widen(fit) if national else fit).add_to(fmap)
    if national:   # official maps name both archipelagos wherever the whole country is shown
        archipelagos.ArchipelagoLabels().add_to(fmap)
    if spec.overlay is not None and len(spec.overlay):
        data, url = _layer_source(spec.overlay, None, fetched)
        ChoroplethLayer(data, url=url, stroke="#333333", weight=1.0,
                        fill_opacity=0.0, interactive=False, name="overlay").add_to(fmap)
    for position, css_class, html in (_controls(spec) if controls else []):
        MapControl(html, position=position, css_class=css_class).add_to(fmap)
    return fmap


def page_html(fmap: folium.Map) -> str:
    """The standalone HTML of a map (what a browser downloads), for tests and benchmarks."""
    return fmap.get_root().render()
