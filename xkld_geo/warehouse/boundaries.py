"""Reading and checking boundary files, and precomputing the shapes the maps draw.

A province GIS office may hand over GeoParquet, GeoJSON, GeoPackage or a zipped Shapefile; all are
read alike, reprojected to EPSG:4326, checked for codes and geometry, and turned into a tidy
GeoDataFrame with the columns of ``admin_units``. Any problem raises :class:`BoundaryError` naming
the file, the row and the field, before anything is written to the database.
"""
from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from xkld_geo.errors import BoundaryError

log = logging.getLogger("xkld_geo.warehouse.boundaries")


@dataclass(frozen=True)
class LayerSpec:
    """How one source layer maps onto ``admin_units``: candidate column names for each field."""

    level: str
    era: str
    code_digits: int
    code: tuple[str, ...]
    name: tuple[str, ...]
    unit_type: tuple[str, ...] = ("type",)
    parent: tuple[str, ...] = ()
    parent_digits: int = 2
    population: tuple[str, ...] = ()
    area: tuple[str, ...] = ()


LAYERS: dict[str, LayerSpec] = {
    "communes_2025": LayerSpec("commune", "2025", 5, ("id", "ma_xa", "code", "commune_code"),
                               ("name", "ten_xa", "ten"), parent=("province_id", "ma_tinh"),
                               population=("population", "dan_so"), area=("area", "dien_tich")),
    "provinces_2025": LayerSpec("province", "2025", 2, ("id", "ma_tinh", "code", "province_code"),
                                ("name", "ten_tinh", "ten"),
                                population=("population", "dan_so"), area=("area", "dien_tich")),
    "provinces_pre2025": LayerSpec("province", "pre2025", 2, ("level1_id", "ma_tinh", "code"),
                                   ("name", "ten_tinh")),
    "districts_pre2025": LayerSpec("district", "pre2025", 3, ("level2_id", "ma_huyen", "code"),
                                   ("name", "ten_huyen"), parent=("level1_id", "ma_tinh")),
}

UNIT_COLUMNS = ["code", "name", "unit_type", "level", "parent_code", "era", "population",
                "area_km2", "geometry"]

LOD_TOLERANCE: dict[str, tuple[float, int]] = {
    # lod -> (simplification tolerance in degrees, decimals kept in GeoJSON)
    "outline": (0.02, 2),   # ~2 km: grey neighbouring provinces around a province view
    "coarse": (0.004, 3),   # ~400 m: the whole country at once
    "fine": (0.001, 4),     # ~100 m: one province's communes (a screen pixel is ~150 m there)
}


def read_any(path: Path) -> gpd.GeoDataFrame:
    """Read GeoParquet, GeoJSON, GeoPackage or a zipped Shapefile into a GeoDataFrame."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".geoparquet"}:
            return gpd.read_parquet(path)
        if suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
                shp = [n for n in zf.namelist() if n.lower().endswith(".shp")]
            if bad is not None:
                raise BoundaryError(f"Tệp {path.name}: tệp nén bị hỏng (mục {bad}).",
                                    file=str(path), field=bad, reason="corrupt_zip")
            if not shp:
                raise BoundaryError(f"Tệp {path.name}: trong tệp nén không có Shapefile (.shp).",
                                    file=str(path), reason="no_shapefile")
            return gpd.read_file(f"zip://{path}!{shp[0]}")
        if suffix in {".geojson", ".json", ".gpkg", ".shp"}:
            return gpd.read_file(path)
    except BoundaryError:
        raise
    except zipfile.BadZipFile as exc:
        raise BoundaryError(f"Tệp {path.name}: tệp nén bị hỏng, không mở được.",
                            file=str(path), reason="corrupt_zip") from exc
    except Exception as exc:  # pyogrio/pyarrow raise many kinds; all mean the same to a user
        if any(word in str(exc).upper() for word in ("CRS", "PROJ", "CONVERSION", "DATUM")):
            raise BoundaryError(f"Tệp {path.name}: hệ toạ độ (CRS) không nhận ra ({exc}).",
                                file=str(path), field="crs", reason="unknown_crs") from exc
        raise BoundaryError(f"Tệp {path.name}: không đọc được dữ liệu ranh giới ({exc}).",
                            file=str(path), reason="unreadable") from exc
    raise BoundaryError(f"Tệp {path.name}: định dạng {suffix or '(không có đuôi)'} không hỗ trợ.",
                        file=str(path), field="format", allowed=[".parquet", ".geojson", ".gpkg", ".zip"])


def to_wgs84(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Check the CRS is known and reproject to EPSG:4326 when it is another one."""
    if gdf.crs is None:
        raise BoundaryError(f"Tệp {Path(path).name}: không khai báo hệ toạ độ (CRS); "
                            "cần EPSG:4326 hoặc một hệ có mã EPSG (ví dụ VN-2000).",
                            file=str(path), field="crs", reason="missing_crs")
    try:
        crs = CRS.from_user_input(gdf.crs)
    except CRSError as exc:
        raise BoundaryError(f"Tệp {Path(path).name}: hệ toạ độ không nhận ra ({gdf.crs}).",
                            file=str(path), field="crs", reason="unknown_crs") from exc
    if crs.to_epsg() == 4326:
        return gdf
    if not crs.is_projected and not crs.is_geographic:
        raise BoundaryError(f"Tệp {Path(path).name}: hệ toạ độ không dùng được ({crs.name}).",
                            file=str(path), field="crs", reason="unknown_crs")
    try:
        return gdf.to_crs(4326)
    except Exception as exc:
        raise BoundaryError(f"Tệp {Path(path).name}: không chuyển được từ {crs.name} sang EPSG:4326.",
                            file=str(path), field="crs", reason="reprojection_failed") from exc


def _pick(gdf: pd.DataFrame, candidates: tuple[str, ...], field: str, path: Path,
          required: bool = True) -> str | None:
    lower = {c.lower(): c for c in gdf.columns}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    if required:
        raise BoundaryError(
            f"Tệp {Path(path).name}: thiếu cột {field} (một trong: {', '.join(candidates)}); "
            f"các cột có: {', '.join(map(str, gdf.columns))}.",
            file=str(path), field=field, allowed=list(candidates), reason="missing_column")
    return None


def normalise_codes(values: pd.Series, digits: int, field: str, path: Path,
                    unique: bool = True) -> pd.Series:
    """Zero-pad official codes to ``digits`` and refuse anything else, naming the first bad row.

    Integers, floats with no fraction ("123.0") and digit strings are accepted; rows count from 1
    as in a spreadsheet (row 1 = the first record).
    """
    text = values.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"\d{1,%d}" % digits).fillna(False)
    if not ok.all():
        pos = int(np.flatnonzero(~ok.to_numpy())[0])
        raise BoundaryError(
            f"Tệp {Path(path).name}, dòng {pos + 1}, cột {field}: mã '{values.iloc[pos]}' không hợp lệ "
            f"(cần {digits} chữ số).", file=str(path), row=pos + 1, field=field,
            value=str(values.iloc[pos]), reason="bad_code")
    padded = text.str.zfill(digits)
    dup = padded.duplicated(keep="first")
    if unique and dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise BoundaryError(f"Tệp {Path(path).name}, dòng {pos + 1}, cột {field}: mã {padded.iloc[pos]} "
                            "bị trùng.", file=str(path), row=pos + 1, field=field,
                            value=padded.iloc[pos], reason="duplicate_code")
    return padded.astype(object)


def check_geometry(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Refuse empty geometries (naming the row) and repair invalid ones with ``make_valid``."""
    geom = gdf.geometry
    empty = geom.isna() | geom.is_empty
    if empty.any():
        pos = int(np.flatnonzero(empty.to_numpy())[0])
        raise BoundaryError(f"Tệp {Path(path).name}, dòng {pos + 1}: không có hình (geometry rỗng).",
                            file=str(path), row=pos + 1, field="geometry", reason="empty_geometry")
    invalid = ~geom.is_valid
    if invalid.any():
        log.warning("%s: repairing %d invalid geometries", Path(path).name, int(invalid.sum()))
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(geom[invalid].to_numpy())
    polygonal = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon", "GeometryCollection"])
    if not polygonal.all():
        pos = int(np.flatnonzero(~polygonal.to_numpy())[0])
        raise BoundaryError(f"Tệp {Path(path).name}, dòng {pos + 1}: hình không phải vùng "
                            f"({gdf.geometry.iloc[pos].geom_type}).", file=str(path), row=pos + 1,
                            field="geometry", reason="not_polygon")
    return gdf


def load_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    """Read, check and tidy one boundary layer into the ``admin_units`` columns."""
    spec = LAYERS[layer]
    gdf = to_wgs84(read_any(path), path)
    code_col = _pick(gdf, spec.code, "mã", path)
    name_col = _pick(gdf, spec.name, "tên", path)
    assert code_col is not None and name_col is not None
    gdf = check_geometry(gdf, path)
    out = pd.DataFrame({
        "code": normalise_codes(gdf[code_col], spec.code_digits, code_col, path),
        "name": gdf[name_col].astype(str).str.strip(),
    })
    type_col = _pick(gdf, spec.unit_type, "loại", path, required=False)
    out["unit_type"] = gdf[type_col].astype(str) if type_col else None
    out["level"] = spec.level
    parent_col = _pick(gdf, spec.parent, "mã cấp trên", path, required=bool(spec.parent)) if spec.parent else None
    out["parent_code"] = (normalise_codes(gdf[parent_col], spec.parent_digits, parent_col, path,
                                          unique=False) if parent_col else None)
    out["era"] = spec.era
    pop_col = _pick(gdf, spec.population, "dân số", path, required=False) if spec.population else None
    out["population"] = pd.to_numeric(gdf[pop_col], errors="coerce").round().astype("Int64") if pop_col else pd.NA
    area_col = _pick(gdf, spec.area, "diện tích", path, required=False) if spec.area else None
    out["area_km2"] = pd.to_numeric(gdf[area_col], errors="coerce") if area_col else np.nan
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.to_numpy(), crs=4326)[UNIT_COLUMNS]


def _round_coords(coords: np.ndarray, decimals: int) -> list[list[float]]:
    rounded = np.round(coords[:, :2], decimals)
    keep = np.ones(len(rounded), dtype=bool)
    keep[1:] = np.any(rounded[1:] != rounded[:-1], axis=1)  # drop repeats created by rounding
    return rounded[keep].tolist()


def _polygon_rings(poly: shapely.Polygon, decimals: int) -> list[list[list[float]]] | None:
    shell = _round_coords(np.asarray(poly.exterior.coords), decimals)
    if len(shell) < 4:
        return None
    rings = [shell]
    for hole in poly.interiors:
        ring = _round_coords(np.asarray(hole.coords), decimals)
        if len(ring) >= 4:
            rings.append(ring)
    return rings


def compact_geojson(geom: shapely.Geometry, decimals: int) -> str | None:
    """Polygon/MultiPolygon GeoJSON text with rounded coordinates and no spaces.

    Rounding to 3–4 decimals (≈100 m / 10 m) is far below what a screen shows at the zoom the
    layer is drawn at, and it cuts the page payload several times over.
    """
    parts = [geom] if geom.geom_type == "Polygon" else [
        g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    polys = [r for r in (_polygon_rings(p, decimals) for p in parts) if r]
    if not polys:
        return None
    obj: dict[str, Any] = ({"type": "Polygon", "coordinates": polys[0]} if len(polys) == 1
                           else {"type": "MultiPolygon", "coordinates": polys})
    return json.dumps(obj, separators=(",", ":"))


def level_of_detail(gdf: gpd.GeoDataFrame, lod: str) -> pd.DataFrame:
    """Precomputed GeoJSON geometry text per unit for one level of detail (``coarse``/``fine``).

    Simplification is done once at build time and stored, never per request. A unit whose
    simplified shape collapses keeps a less simplified one, so every unit stays on the map.
    """
    tolerance, decimals = LOD_TOLERANCE[lod]
    simple = shapely.simplify(gdf.geometry.to_numpy(), tolerance, preserve_topology=True)
    texts: list[str | None] = []
    for original, simplified in zip(gdf.geometry.to_numpy(), simple):
        text = compact_geojson(simplified, decimals) or compact_geojson(original, decimals + 2)
        texts.append(text)
    return pd.DataFrame({"code": gdf["code"].to_numpy(), "lod": lod, "geojson": texts})
