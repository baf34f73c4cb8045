"""The names of Quần đảo Hoàng Sa and Quần đảo Trường Sa on every map of the whole country.

Official Vietnamese maps name both archipelagos wherever the whole country is shown. The shapes
come with the provinces (Đà Nẵng, Khánh Hòa); their names are drawn here, the same way on the
screens and the kiosk (Leaflet), the PNG export and the report's figure (matplotlib) and the
release (its map.js reads :func:`release_config`). A whole-country frame is widened east so the
labels fall inside it at the map's default zoom (the mainland stays the frame's height).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

ARCHIPELAGOS: tuple[tuple[str, float, float], ...] = (
    ("Quần đảo Hoàng Sa", 16.55, 111.9),
    ("Quần đảo Trường Sa", 10.0, 114.3),
)
"""(name, latitude, longitude) of each label, near the middle of each group of islands."""
EAST = 116.2
"""The east edge of a whole-country frame: the labels and the islands inside it."""
LABEL_STYLE = ("color:#1f3f6e;font-style:italic;font-weight:600;font-size:13px;white-space:nowrap;"
               "text-shadow:0 0 3px #fff,0 0 3px #fff;transform:translate(-50%,-50%);display:inline-block")


def whole_country(shapes: pd.DataFrame) -> bool:
    """Whether ``shapes`` cover the country from the far north to the far south (a national map,
    by province or by commune), as opposed to one province's communes."""
    if not len(shapes) or "ymin" not in shapes or "ymax" not in shapes:
        return False
    return bool(shapes["ymin"].min() < 11.0 and shapes["ymax"].max() > 21.0)


def widen(bounds: list[list[float]] | None) -> list[list[float]] | None:
    """A whole-country frame ``[[south, west], [north, east]]`` reaching east to :data:`EAST`."""
    if bounds is None:
        return None
    (south, west), (north, east) = bounds
    return [[min(south, 8.3), west], [north, max(east, EAST)]]


class ArchipelagoLabels(MacroElement):
    """Both names as non-interactive Leaflet markers (text, not images: legible at any zoom)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this.places|tojson }}.forEach(function(p) {
    L.marker([p[1], p[2]], {interactive: false, keyboard: false, icon: L.divIcon({
        className: "xkld-archipelago", iconSize: null,
        html: "<span style='" + {{ this.style|tojson }} + "'>" + p[0] + "</span>"})
    }).addTo({{ this._parent.get_name() }});
});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "archipelago_labels"
        self.places = [list(p) for p in ARCHIPELAGOS]
        self.style = LABEL_STYLE


def label_axes(ax: Any) -> list[Any]:
    """Write both names on a matplotlib map (lon/lat axes); returns the text artists."""
    return [ax.text(lon, lat, name, ha="center", va="center", fontsize=9, fontstyle="italic",
                    fontweight="bold", color="#1f3f6e", zorder=5) for name, lat, lon in ARCHIPELAGOS]


def release_config() -> list[dict[str, object]]:
    """The labels for the release's map script (``map.js`` draws them as Leaflet markers)."""
    return [{"name": name, "lat": lat, "lon": lon} for name, lat, lon in ARCHIPELAGOS]
