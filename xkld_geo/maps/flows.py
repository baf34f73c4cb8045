"""Flow lines: from an origin (a province, the country) to each destination market."""
from __future__ import annotations

from branca.element import MacroElement
from jinja2 import Template


class FlowLayer(MacroElement):
    """Lines from an origin to each destination, width by departures; counted for the browser tests."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.layerGroup().addTo({{ this._parent.get_name() }});
{{ this.flows|tojson }}.forEach(function(f) {
    L.polyline([{{ this.origin|tojson }}, [f.lat, f.lon]],
               {color: f.safe ? "#2c7bb6" : "#d95f02", weight: f.w, opacity: 0.75})
     .bindTooltip("<b>" + f.name + "</b><br>" + f.n.toLocaleString("vi-VN") + " người", {sticky: true})
     .addTo({{ this.get_name() }});
});
window.xkldFeatureCount = window.xkldFeatureCount || {};
window.xkldFeatureCount["flows"] = {{ this.get_name() }}.getLayers().length;
{% endmacro %}
""")

    def __init__(self, origin: tuple[float, float], flows: list[dict[str, object]]) -> None:
        super().__init__()
        self._name = "flows"
        self.origin, self.flows = list(origin), flows
