"""What the directive pages share: a unit map (provinces, or one province's communes), the selected
commune's name and its headline box, and the figures a page shows as metrics.

The directive views (:mod:`~xkld_geo.views.priority`, :mod:`~xkld_geo.views.markets`,
:mod:`~xkld_geo.views.jobfairs`, :mod:`~xkld_geo.views.problems`) are built once per data version and
request and shared by every session (:mod:`xkld_geo.database.cache`); the shapes they draw come from the
same shared lookups as the overview's, so a province's communes are read once for every page.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache
from xkld_geo.figures import queries
from xkld_geo.figures.metrics import ColourClass


@dataclass(frozen=True)
class Figure:
    """One headline figure (``st.metric``): label, formatted value and an optional explanation."""

    label: str
    value: str
    help: str | None = None


@dataclass(frozen=True)
class CommuneHeadline:
    """The selected commune's own figures, shown in a box above its province's map and table;
    ``figures`` None when the commune has no figures in the period."""

    name: str
    figures: tuple[Figure, ...] | None


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds generated (demo) figures: the pages then show the demo badge."""
    return cache.scope(con).get("meta", queries.meta).get("contains_demo") == "true"


def selected_commune(province: str | None, commune: str | None) -> str | None:
    """The commune a directive page shows on its own: only one within a chosen province."""
    return commune if province else None


def unit_shapes(con: duckdb.DuckDBPyConnection, province: str | None) -> pd.DataFrame:
    """The provinces (coarse), or the communes of ``province`` (fine): the shared lookups of the overview."""
    shared = cache.scope(con)
    if province is None:
        return shared.get("shapes", queries.shapes, "2025", "province", "coarse")
    return shared.get("shapes", queries.shapes, "2025", "commune", "fine", province)


def unit_spec(con: duckdb.DuckDBPyConnection, province: str | None, commune: str | None, values: pd.Series,
              legend: str, title: str, tooltip: tuple[tuple[str, str, str], ...], demo: bool,
              classes: tuple[ColourClass, ...] | None = None, labels: pd.Series | None = None) -> maps.ChoroplethSpec:
    """A choropleth of ``values`` (indexed by unit code) over provinces or a province's communes.

    The selected commune (if any) is outlined on top of its province's communes.
    """
    shapes = unit_shapes(con, province)
    props = pd.DataFrame({"value": values}).reindex(shapes["code"])
    if labels is not None:
        props["label"] = labels.reindex(shapes["code"])
    props["fill"] = [maps.colour_for(v, classes) for v in props["value"]]
    selected = shapes[shapes["code"] == commune] if province and commune else None
    caption = f"Viền đậm: {selected['name'].iloc[0]}" if selected is not None and len(selected) else None
    shared = cache.scope(con)
    # maps of the same units, tooltip and selection share their drawn shapes part (ui/map_component)
    layers = (shared.path, shared.version, demo, tooltip, "units", province,
              commune if selected is not None and len(selected) else None) if shared.enabled else None
    return maps.ChoroplethSpec(shapes, props, None, title, demo, overlay=selected, classes=legend,
                               tooltip=tooltip, label=caption, layers=layers)


def commune_name(con: duckdb.DuckDBPyConnection, commune: str, rows: pd.DataFrame) -> str:
    """The selected commune's name, from the page's rows or else from the gazetteer."""
    found = rows.loc[rows["unit_code"] == commune, "unit_name"]
    if len(found):
        return str(found.iloc[0])
    unit = queries.unit(con, str(commune))
    return str(unit["name"].iloc[0]) if len(unit) else str(commune)


def commune_headline(con: duckdb.DuckDBPyConnection, commune: str, rows: pd.DataFrame,
                     figures: list[Figure] | None) -> CommuneHeadline:
    """The selected commune's box: its name and ``figures`` (None: no figures in the period)."""
    return CommuneHeadline(commune_name(con, commune, rows), tuple(figures) if figures is not None else None)
