"""The Leaflet layers and controls every map is made of (folium elements), fast and offline.

Three choices keep a national commune map small and quick to build:
- geometry comes precomputed from ``unit_shapes`` as compact GeoJSON text per level of detail and is
  spliced into the page as is (no parsing and re-serialising thousands of polygons per request), or,
  in the app, fetched by the browser from a content-hashed TopoJSON file it caches
  (:mod:`xkld_geo.maps.geometry`), so a rerun never sends shapes again;
- each feature carries only the few properties its tooltip and colour need, and the colour, the
  tooltip and the hover highlight are computed in the browser from those properties;
- Leaflet is served by the app itself (``static/vendor/leaflet``) and no tile layer is used: the
  map reads on a plain background with province outlines, with no internet at all.
"""
from __future__ import annotations

import json
from typing import Iterable, Sequence

import folium
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from xkld_geo import DEMO_LABEL
from xkld_geo.figures.metrics import NO_QUOTA, ColourClass
from xkld_geo.text.markup import html_text

BACKGROUND = "#e8eef3"
VIETNAM_CENTER = (16.0, 106.0)


def leaflet_assets(static_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Leaflet JS and CSS, and the TopoJSON decoder, served from the app's own static folder (never a CDN)."""
    base = static_url.rstrip("/") + "/vendor"
    return ([("leaflet", f"{base}/leaflet/leaflet.js"),
             ("topojson", f"{base}/topojson-client/topojson-client.min.js")],
            [("leaflet_css", f"{base}/leaflet/leaflet.css")])


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
    the map component as ``last_active_drawing`` with the feature's properties (its ``code``).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJson({{ this.data if this.data else "null" }}, {
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
window.xkldLayers = window.xkldLayers || {};
window.xkldLayers[{{ this._name|tojson }}] = {{ this.get_name() }};
{% if this.url %}
{{ this.get_name() }}._xkldLoading = true;
fetch({{ this.url|tojson }}).then(function(r) { return r.json(); }).then(function(topo) {
    var layer = {{ this.get_name() }}, name = Object.keys(topo.objects)[0];
    layer.addData(topojson.feature(topo, topo.objects[name]));
    layer._xkldLoading = false;
    var all = window.xkldLayers;  // files arrive in any order: keep context below and outlines above
    if (all.context && all.context._map) { all.context.bringToBack(); }
    if (all.overlay && all.overlay._map) { all.overlay.bringToFront(); }
    var pending = (window.xkldPending || {})[{{ this._name|tojson }}];
    if (pending) { delete window.xkldPending[{{ this._name|tojson }}]; pending(); }
    window.xkldFeatureCount[{{ this._name|tojson }}] = layer.getLayers().length;
});
{% else %}
window.xkldFeatureCount[{{ this._name|tojson }}] = {{ this.get_name() }}.getLayers().length;
{% endif %}
{% endmacro %}
""")

    def __init__(self, data: str, tooltip_fields: Sequence[tuple[str, str, str]] = (),
                 stroke: str = "#ffffff", weight: float = 0.6, fill_opacity: float = 0.9,
                 default_fill: str = NO_QUOTA.colour, interactive: bool = True,
                 fit: list[list[float]] | None = None, name: str = "choropleth", url: str | None = None) -> None:
        super().__init__()
        self._name = name
        self.data, self.url = data, url  # url: a TopoJSON file fetched by the browser instead of ``data``
        self.tooltip_fields = [[f[0], html_text(f[1]), html_text(f[2])] for f in tooltip_fields]
        self.stroke, self.weight, self.fill_opacity = stroke, weight, fill_opacity
        self.default_fill, self.interactive, self.fit = default_fill, interactive, fit


class ChoroplethValues(MacroElement):
    """The values of a :class:`ChoroplethLayer` drawn before, with its legend and caption.

    Handed to the map component (:mod:`xkld_geo.ui.map_component`) as its ``values``: when only
    the period or the indicator changes, the map itself (geometry, the component's identity) stays
    the same, so the browser keeps the drawn shapes, the zoom and the position, and only these
    values are applied: each feature's properties are replaced, its style recomputed, the legend
    and caption swapped. ``values`` is :func:`choropleth.values_json`'s object (codes, then the
    properties by column). When the layer's geometry is still being fetched, the values are
    applied as soon as it arrives.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var layer = (window.xkldLayers || {})[{{ this.layer|tojson }}];
    if (!layer || !layer._map) { return; }
    var values = {{ this.values }}, fields = {{ this.fields|tojson }}, map = layer._map, at = {};
    values.codes.forEach(function(c, i) { at[c] = i; });
    function value(k, i) {   // a column is a list, or a palette and indices
        var col = values.columns[k], v;
        if (col === undefined) { return null; }
        v = col.palette ? col.index[i] : col[i];
        return (v === null || v === undefined) ? null : (col.palette ? col.palette[v] : v);
    }
    if (layer._xkldLoading) {  // shapes still on their way: paint them when they arrive
        window.xkldPending = window.xkldPending || {};
        window.xkldPending[{{ this.layer|tojson }}] = apply;
    } else {
        apply();
    }
    function apply() {
    {% if this.drop_missing %}var missing = [];{% endif %}
    layer.eachLayer(function(l) {
        var p = l.feature.properties, i = at[p.code];
        {% if this.drop_missing %}if (i === undefined) { missing.push(l); return; }{% endif %}
        fields.forEach(function(k) { p[k] = (i === undefined) ? null : value(k, i); });
        layer.resetStyle(l);
    });
    {% if this.drop_missing %}missing.forEach(function(l) { layer.removeLayer(l); });
    window.xkldFeatureCount = window.xkldFeatureCount || {};
    window.xkldFeatureCount[{{ this.layer|tojson }}] = layer.getLayers().length;{% endif %}
    (window.xkldControls || []).forEach(function(c) { map.removeControl(c); });
    window.xkldControls = {{ this.controls|tojson }}.map(function(c) {
        var control = L.control({position: c[0]});
        control.onAdd = function() { var d = L.DomUtil.create("div", c[1]); d.innerHTML = c[2]; return d; };
        control.addTo(map);
        return control;
    });
    window.xkldRestyled = (window.xkldRestyled || 0) + 1;
    }
})();
{% endmacro %}
""")

    def __init__(self, values: str, fields: Sequence[str], controls: Sequence[tuple[str, str, str]],
                 layer: str = "choropleth", drop_missing: bool = False) -> None:
        super().__init__()
        self._name = "choropleth_values"
        self.values, self.fields, self.layer = values, list(fields), layer
        self.drop_missing = drop_missing   # remove the features without values (one file, a subset shown)
        self.controls = [list(c) for c in controls]

    def script(self) -> str:
        """This element's script alone, from its own macro: the map component runs it in the
        drawn map's frame. Rendered inside a map's page instead, branca would compile the text as a
        Jinja template of its own, which for the values of 3,321 communes costs more than the rest
        of the map."""
        return str(self._template.module.script(self, {}))  # type: ignore[attr-defined]


class MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres only (folium's ``control_scale`` adds miles too)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "metric_scale"


class KioskControls(MacroElement):
    """On a lobby screen (the page's address says ``mode=kiosk``) the map shows no zoom buttons:
    nobody is there to use them. The map's frame is served by the app itself, so it reads the
    page's address."""

    _template = Template("""
{% macro script(this, kwargs) %}
try {
    if (new URLSearchParams(window.parent.location.search).get("mode") === "kiosk" && {{ this._parent.get_name() }}.zoomControl) {
        {{ this._parent.get_name() }}.zoomControl.remove();
    }
} catch (e) {}
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "kiosk_controls"


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
    fmap = folium.Map(location=location, zoom_start=zoom, tiles=None, prefer_canvas=True, zoom_snap=0.25)
    fmap.default_js, fmap.default_css = leaflet_assets(static_url)
    MetricScale().add_to(fmap)
    KioskControls().add_to(fmap)
    fmap.get_root().header.add_child(folium.Element(STYLE), name="xkld_style")  # type: ignore[attr-defined]
    if demo:
        MapControl(DEMO_LABEL, position="topright", css_class="xkld-demo").add_to(fmap)
    return fmap
