"""Maps built with folium, fast and offline (issue #15 made this a package).

- :mod:`xkld_geo.maps.layers`: the Leaflet layers and controls (choropleth layer and values, legend);
- :mod:`xkld_geo.maps.choropleth`: what to draw (:class:`ChoroplethSpec`), legends, colours, the maps;
- :mod:`xkld_geo.maps.geometry`: shapes as content-hashed TopoJSON files the browser fetches once;
- :mod:`xkld_geo.maps.flows`: flow lines to destination markets.

Everything is re-exported here, so ``from xkld_geo import maps; maps.choropleth_map(...)`` works.
"""
from __future__ import annotations

from xkld_geo.figures.metrics import NO_QUOTA, ColourClass  # as the single module had them
from xkld_geo.maps import geometry
from xkld_geo.maps.choropleth import (
                                      CHANGE_TOOLTIP,
                                      LEGENDS,
                                      MAINLAND_MAX_LON,
                                      NO_DATA,
                                      PER_1000_CLASSES,
                                      TOOLTIP,
                                      ChoroplethSpec,
                                      change_map,
                                      change_spec,
                                      choropleth_map,
                                      choropleth_parts,
                                      colour_for,
                                      page_html,
                                      shapes_map,
                                      values_element,
                                      values_json,
                                      view_bounds,
)
from xkld_geo.maps.flows import FlowLayer
from xkld_geo.maps.layers import (
                                      BACKGROUND,
                                      STYLE,
                                      VIETNAM_CENTER,
                                      ChoroplethLayer,
                                      ChoroplethValues,
                                      MapControl,
                                      base_map,
                                      feature_collection,
                                      leaflet_assets,
                                      legend_html,
)

__all__ = ["BACKGROUND", "CHANGE_TOOLTIP", "LEGENDS", "MAINLAND_MAX_LON", "NO_DATA", "NO_QUOTA", "PER_1000_CLASSES",
           "STYLE", "TOOLTIP", "VIETNAM_CENTER", "ChoroplethLayer", "ChoroplethSpec", "ChoroplethValues", "ColourClass",
           "FlowLayer", "MapControl", "base_map", "change_map", "change_spec", "choropleth_map", "choropleth_parts",
           "colour_for", "feature_collection", "geometry", "leaflet_assets", "legend_html", "page_html", "shapes_map", "values_element",
           "values_json", "view_bounds"]
