"""Choropleth maps built with folium, fast and offline.

Three choices keep a national commune map small and quick to build:
- geometry comes precomputed from ``unit_shapes`` as compact GeoJSON text per level of detail and is
  spliced into the page as is (no parsing and re-serialising thousands of polygons per request);
- each feature carries only the few properties its tooltip and colour need, and the colour, the
  tooltip and the hover highlight are computed in the browser from those properties;
- Leaflet is served by the app itself (``static/vendor/leaflet``) and no tile layer is used: the
  map reads on a plain background with province outlines, with no internet at all.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import folium
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from xkld_geo import DEMO_LABEL
from xkld_geo.markup import html_text
from xkld_geo.metrics import ATTAINMENT_CLASSES, NO_QUOTA, ColourClass, attainment_class

BACKGROUND = "#e8eef3"
VIETNAM_CENTER = (16.0, 106.0)


def leaflet_assets(static_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Leaflet JS and CSS served from the app's own static folder (never a CDN)."""
    base = static_url.rstrip("/") + "/vendor/leaflet"
    return [("leaflet", f"{base}/leaflet.js")], [("leaflet_css", f"{base}/leaflet.css")]


def feature_collection(shapes: pd.DataFrame, properties: pd.DataFrame | None = None) -> str:
    """A GeoJSON FeatureCollection text from precomputed geometry text and a few properties.

    ``shapes`` has ``code``, ``name`` and ``geojson``; ``properties`` (indexed by code) adds the
    columns to carry. Geometry text is spliced in, never parsed. Text properties (the name first:
    an administrator may edit it) are HTML-escaped here, because the tooltip shows them as HTML.
    """
    props = properties if properties is not None else pd.DataFrame(index=shapes["code"])
    aligned = props.reindex(shapes["code"])
    records = aligned.astype(object).where(aligned.notna(), None)
    columns = list(records.columns)
    parts: list[str] = []
    # to_numpy().tolist() keeps one (possibly empty) row per shape even with no property columns
    for code, name, geometry, values in zip(shapes["code"], shapes["name"], shapes["geojson"],
                                            records.to_numpy().tolist()):
        prop = {"code": code, "name": html_text(name)}
        prop.update({c: _plain(v) for c, v in zip(columns, values)})
        parts.append('{"type":"Feature","properties":' + json.dumps(prop, ensure_ascii=False,
                                                                    separators=(",", ":"))
                     + ',"geometry":' + geometry + "}")
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def _plain(value: object) -> object:
    """JSON-friendly scalar: numpy numbers to Python, floats rounded to two decimals, text
    HTML-escaped (tooltips and legends put properties into HTML)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, str):
        return html_text(value)
    if isinstance(value, float):
        return round(value, 2)
    return value


class ChoroplethLayer(MacroElement):
    """A GeoJSON layer styled, labelled and highlighted in the browser from feature properties.

    ``fill`` (a colour) styles each feature; ``tooltip_fields`` are (property, label) pairs shown
    in the tooltip, numbers formatted the Vietnamese way. Clicking a feature is reported by
    streamlit-folium as ``last_active_drawing`` with the feature's properties (its ``code``).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
    interactive: {{ this.interactive|tojson }},
    style: function(f) {
        return {fillColor: f.properties.fill || {{ this.default_fill|tojson }},
                fillOpacity: {{ this.fill_opacity }}, color: {{ this.stroke|tojson }},
                weight: {{ this.weight }}, opacity: 1};
    },
    onEachFeature: function(f, layer) {
        {% if this.tooltip_fields %}
        layer.bindTooltip(function() {  // read when shown: values may be replaced later
            var p = f.properties, rows = ["<b style='font-size:1.1em'>" + p.name + "</b>"];
            {{ this.tooltip_fields|tojson }}.forEach(function(fl) {
                var v = p[fl[0]];
                if (v === null || v === undefined) { v = "–"; }
                else if (typeof v === "number") { v = v.toLocaleString("vi-VN") + (fl[2] || ""); }
                rows.push(fl[1] + ": <b>" + v + "</b>");
            });
            return rows.join("<br>");
        }, {sticky: true, className: "xkld-tooltip"});
        layer.on("mouseover", function() { layer.setStyle({weight: {{ this.weight }} + 2, color: "#222"}); });
        layer.on("mouseout", function() { {{ this.get_name() }}.resetStyle(layer); });
        {% endif %}
    }
}).addTo({{ this._parent.get_name() }});
{% if this.fit %}{{ this._parent.get_name() }}.fitBounds({{ this.fit|tojson }}, {padding: [8, 8], animate: false});{% endif %}
window.xkldFeatureCount = window.xkldFeatureCount || {};
window.xkldFeatureCount[{{ this._name|tojson }}] = {{ this.get_name() }}.getLayers().length;
window.xkldLayers = window.xkldLayers || {};
window.xkldLayers[{{ this._name|tojson }}] = {{ this.get_name() }};
{% endmacro %}
""")

    def __init__(self, data: str, tooltip_fields: Sequence[tuple[str, str, str]] = (),
                 stroke: str = "#ffffff", weight: float = 0.6, fill_opacity: float = 0.9,
                 default_fill: str = NO_QUOTA.colour, interactive: bool = True,
                 fit: list[list[float]] | None = None, name: str = "choropleth") -> None:
        super().__init__()
        self._name = name
        self.data = data
        self.tooltip_fields = [[f[0], html_text(f[1]), html_text(f[2])] for f in tooltip_fields]
        self.stroke, self.weight, self.fill_opacity = stroke, weight, fill_opacity
        self.default_fill, self.interactive, self.fit = default_fill, interactive, fit


class ChoroplethValues(MacroElement):
    """The values of a :class:`ChoroplethLayer` drawn before, with its legend and caption.

    Put in a ``folium.FeatureGroup`` and handed to ``st_folium(feature_group_to_add=...)``: when only
    the period or the indicator changes, the map itself (geometry, the component's identity) stays
    the same, so the browser keeps the drawn shapes, the zoom and the position, and only these
    values are applied: each feature's properties are replaced, its style recomputed, the legend
    and caption swapped. ``values`` is a JSON object code → properties.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var layer = (window.xkldLayers || {})[{{ this.layer|tojson }}];
    if (!layer || !layer._map) { return; }
    var values = {{ this.values }}, fields = {{ this.fields|tojson }}, map = layer._map;
    layer.eachLayer(function(l) {
        var p = l.feature.properties, v = values[p.code] || {};
        fields.forEach(function(k) { p[k] = (k in v) ? v[k] : null; });
        layer.resetStyle(l);
    });
    (window.xkldControls || []).forEach(function(c) { map.removeControl(c); });
    window.xkldControls = {{ this.controls|tojson }}.map(function(c) {
        var control = L.control({position: c[0]});
        control.onAdd = function() { var d = L.DomUtil.create("div", c[1]); d.innerHTML = c[2]; return d; };
        control.addTo(map);
        return control;
    });
    window.xkldRestyled = (window.xkldRestyled || 0) + 1;
})();
{% endmacro %}
""")

    def __init__(self, values: str, fields: Sequence[str], controls: Sequence[tuple[str, str, str]],
                 layer: str = "choropleth") -> None:
        super().__init__()
        self._name = "choropleth_values"
        self.values, self.fields, self.layer = values, list(fields), layer
        self.controls = [list(c) for c in controls]


class MapControl(MacroElement):
    """A Leaflet control holding static HTML: the legend, or the demo-data label."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function() {
    var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
    div.innerHTML = {{ this.html|tojson }};
    return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, html: str, position: str = "bottomright", css_class: str = "xkld-legend") -> None:
        super().__init__()
        self._name = "map_control"
        self.html, self.position, self.css_class = html, position, css_class


STYLE = f"""
<style>
.leaflet-container {{ background: {BACKGROUND}; font-family: "Noto Sans", "Segoe UI", Arial, sans-serif; }}
.xkld-legend {{ background: rgba(255,255,255,.94); padding: 8px 12px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 15px; line-height: 1.5; }}
.xkld-legend i {{ display: inline-block; width: 18px; height: 14px; margin-right: 8px;
  vertical-align: middle; border: 1px solid #999; }}
.xkld-demo {{ background: #fff3cd; color: #664d03; padding: 4px 10px; border-radius: 6px;
  font-weight: 600; font-size: 14px; border: 1px solid #e0c36a; }}
.xkld-tooltip {{ font-size: 15px; line-height: 1.45; }}
</style>
"""


def legend_html(title: str, classes: Iterable[ColourClass]) -> str:
    """Legend box: a title and one swatch per class (the title may name a market or a unit: escaped)."""
    rows = [f"<b>{html_text(title)}</b>"] + [f"<i style='background:{html_text(c.colour)}'></i>"
                                             f"{html_text(c.label)}" for c in classes]
    return "<br>".join(rows)


def base_map(static_url: str, location: tuple[float, float] = VIETNAM_CENTER, zoom: int = 5,
             demo: bool = True) -> folium.Map:
    """An empty map with local Leaflet, no tiles, the project style and the demo label."""
    fmap = folium.Map(location=location, zoom_start=zoom, tiles=None, prefer_canvas=True,
                      control_scale=True, zoom_snap=0.25)
    fmap.default_js, fmap.default_css = leaflet_assets(static_url)
    fmap.get_root().header.add_child(folium.Element(STYLE), name="xkld_style")  # type: ignore[attr-defined]
    if demo:
        MapControl(DEMO_LABEL, position="topright", css_class="xkld-demo").add_to(fmap)
    return fmap


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
    labels = (f"Dưới {a}", f"{a}–{b - 1}", f"{b}–{c - 1}", f"{c}–{d - 1}", f"Từ {d} trở lên")
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
    "share": (ColourClass("s0", "Dưới 10%", -math.inf, "#ffffcc"), ColourClass("s10", "10–25%", 10, "#a1dab4"),
              ColourClass("s25", "25–50%", 25, "#41b6c4"), ColourClass("s50", "Từ 50% trở lên", 50, "#225ea8"),
              NO_DATA),
    "departures_market": _counts((100, 1000, 10000, 40000)) + (NO_DATA,),
    "open_cases": _counts((1, 3, 10, 30)) + (NO_DATA,),
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


def values_json(properties: pd.DataFrame) -> str:
    """Code → the feature properties a :class:`ChoroplethValues` applies (nulls left out)."""
    out: dict[str, dict[str, object]] = {}
    for code, row in zip(properties.index, properties.astype(object).to_numpy().tolist()):
        out[str(code)] = {c: _plain(v) for c, v in zip(properties.columns, row) if v is not None and not pd.isna(v)}
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def choropleth_parts(spec: ChoroplethSpec, static_url: str) -> tuple[folium.Map, folium.FeatureGroup]:
    """The map of ``spec`` in two parts for ``st_folium``: the shapes alone (the same for every
    period and indicator, so the browser keeps them, and its zoom, when only those change) and a
    feature group that applies the values, the colours, the legend and the caption."""
    shapes_only = replace(spec, properties=pd.DataFrame(index=spec.properties.index), title="", label=None)
    fmap = choropleth_map(shapes_only, static_url, controls=False)
    group = folium.FeatureGroup(name="values", control=False)
    ChoroplethValues(values_json(spec.properties), list(spec.properties.columns), _controls(spec)).add_to(group)
    return fmap, group


def choropleth_map(spec: ChoroplethSpec, static_url: str, controls: bool = True) -> folium.Map:
    """A choropleth with a legend, tooltips, grey context below and outlines above
    (``controls=False``: no legend nor caption, see :func:`choropleth_parts`)."""
    fmap = base_map(static_url, demo=spec.demo)
    if spec.context is not None and len(spec.context):
        ChoroplethLayer(feature_collection(spec.context), stroke="#8a8a8a", weight=1.0,
                        fill_opacity=1.0, default_fill="#f7f7f5", interactive=False,
                        name="context").add_to(fmap)
    data = feature_collection(spec.shapes, spec.properties)
    weight = 0.3 if len(spec.shapes) > 1000 else 0.6
    ChoroplethLayer(data, tooltip_fields=spec.tooltip or TOOLTIP, weight=weight,
                    fit=view_bounds(spec.shapes)).add_to(fmap)
    if spec.overlay is not None and len(spec.overlay):
        ChoroplethLayer(feature_collection(spec.overlay), stroke="#333333", weight=1.0,
                        fill_opacity=0.0, interactive=False, name="overlay").add_to(fmap)
    for position, css_class, html in (_controls(spec) if controls else []):
        MapControl(html, position=position, css_class=css_class).add_to(fmap)
    return fmap


def page_html(fmap: folium.Map) -> str:
    """The standalone HTML of a map (what a browser downloads), for tests and benchmarks."""
    return fmap.get_root().render()
