"""Country outlines of the destination markets, from the world-atlas package (Natural Earth 1:50m).

The TopoJSON file ships with the app (``static/vendor/world-atlas``, ISC licence; Natural Earth is
public domain) and is turned into plain GeoJSON here at build time, so nothing is fetched at run time.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from xkld_geo.settings import PROJECT_ROOT

WORLD_ATLAS = PROJECT_ROOT / "static" / "vendor" / "world-atlas" / "countries-50m.json"
ISO_NUMERIC = {"VN": "704", "JP": "392", "TW": "158", "KR": "410", "DE": "276", "CN": "156", "HU": "348",
               "SG": "702", "RO": "642", "PL": "616", "HK": "344", "MY": "458", "SA": "682", "RU": "643",
               "MO": "446"}
"""Market code (ISO alpha-2) → ISO 3166-1 numeric id used by world-atlas."""


def _arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Decode the (delta-encoded, quantised) arcs into lon/lat points."""
    transform = topology.get("transform")
    out = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy in arc:
                x, y = x + dx, y + dy
                points.append((round(x * sx + tx, 4), round(y * sy + ty, 4)))
        else:
            points = [(round(p[0], 4), round(p[1], 4)) for p in arc]
        out.append(points)
    return out


def _ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    """Stitch a ring from arc indices (~i means arc i reversed), dropping repeated joints."""
    ring: list[tuple[float, float]] = []
    for i in indices:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points if not ring else points[1:])
    return [list(p) for p in ring]


def to_geojson(geometry: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> dict[str, Any]:
    """One TopoJSON Polygon/MultiPolygon as GeoJSON geometry."""
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(r, arcs) for r in geometry["arcs"]]}
    return {"type": "MultiPolygon", "coordinates": [[_ring(r, arcs) for r in poly] for poly in geometry["arcs"]]}


def load(path: Path = WORLD_ATLAS) -> pd.DataFrame:
    """Outline (compact GeoJSON text) of every market country and Vietnam: market, name, geojson."""
    topology = json.loads(Path(path).read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    wanted = {iso: code for code, iso in ISO_NUMERIC.items()}
    rows = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = wanted.get(str(geometry.get("id")))
        if code and geometry["type"] in ("Polygon", "MultiPolygon"):
            rows.append({"market": code, "name": geometry["properties"]["name"],
                         "geojson": json.dumps(to_geojson(geometry, arcs), separators=(",", ":"))})
    return pd.DataFrame(rows, columns=["market", "name", "geojson"])
