"""Reading and checking boundary files: formats, CRS, codes, geometry; clear errors on bad input."""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Polygon, box

from tests.conftest import tiny_communes
from xkld_geo.errors import BoundaryError
from xkld_geo.warehouse import boundaries


def _write(gdf: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    if fmt == "parquet":
        path = folder / "communes.parquet"
        gdf.to_parquet(path)
    elif fmt == "geojson":
        path = folder / "communes.geojson"
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "gpkg":
        path = folder / "communes.gpkg"
        gdf.to_file(path, driver="GPKG")
    else:
        shp_dir = folder / "shp"
        shp_dir.mkdir()
        gdf.to_file(shp_dir / "communes.shp")
        path = folder / "communes.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in shp_dir.iterdir():
                zf.write(part, part.name)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "geojson", "gpkg", "zip"])
def test_every_format_reads_alike(tmp_path: Path, fmt: str) -> None:
    gdf = tiny_communes()
    if fmt == "zip":  # shapefile field names are limited to 10 characters
        gdf = gdf.rename(columns={"province_id": "ma_tinh", "province_name": "ten_tinh"})
    layer = boundaries.load_layer(_write(gdf, tmp_path, fmt), "communes_2025")
    assert list(layer.columns) == boundaries.UNIT_COLUMNS
    assert layer["code"].tolist() == [f"99{i:03d}" for i in range(1, 7)] + ["98001", "98002"]
    assert set(layer["parent_code"]) == {"98", "99"}
    assert layer.crs.to_epsg() == 4326
    assert layer["population"].iloc[0] == 10000


def test_projected_crs_is_reprojected(tmp_path: Path) -> None:
    gdf = tiny_communes().to_crs(3405)  # VN-2000 / UTM 48N
    layer = boundaries.load_layer(_write(gdf, tmp_path, "parquet"), "communes_2025")
    minx, miny, _, _ = layer.total_bounds
    assert layer.crs.to_epsg() == 4326
    assert minx == pytest.approx(105.0, abs=1e-3) and miny == pytest.approx(20.0, abs=1e-3)


def test_integer_codes_are_zero_padded(tmp_path: Path) -> None:
    gdf = tiny_communes()
    gdf["id"] = [4, 5, 6, 7, 8, 9, 10, 11]
    gdf["province_id"] = 1
    layer = boundaries.load_layer(_write(gdf, tmp_path, "geojson"), "communes_2025")
    assert layer["code"].tolist()[:3] == ["00004", "00005", "00006"]
    assert set(layer["parent_code"]) == {"01"}


def test_invalid_geometry_is_repaired(tmp_path: Path) -> None:
    gdf = tiny_communes()
    bowtie = Polygon([(105, 20), (105.1, 20.1), (105.1, 20), (105, 20.1), (105, 20)])
    gdf.loc[0, "geometry"] = bowtie
    layer = boundaries.load_layer(_write(gdf, tmp_path, "parquet"), "communes_2025")
    assert layer.geometry.is_valid.all()


BAD_CASES = [
    # (description, mutate function, expected reason, expected field or row)
    ("missing code column", lambda g: g.drop(columns=["id"]), "missing_column", None),
    ("letters in a code", lambda g: g.assign(id=["99001", "9900X"] + list(g["id"][2:])), "bad_code", 2),
    ("code too long", lambda g: g.assign(id=["990011"] + list(g["id"][1:])), "bad_code", 1),
    ("duplicate code", lambda g: g.assign(id=["99001", "99001"] + list(g["id"][2:])), "duplicate_code", 2),
    ("empty geometry", lambda g: g.assign(geometry=[Polygon()] + list(g.geometry[1:])), "empty_geometry", 1),
    ("a line, not an area", lambda g: g.assign(geometry=list(g.geometry[:2])
                                               + [LineString([(0, 0), (1, 1)])] + list(g.geometry[3:])),
     "not_polygon", 3),
]


@pytest.mark.parametrize("name,mutate,reason,row", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_row_and_field(tmp_path: Path, name: str, mutate, reason: str,
                                            row: int | None) -> None:
    path = _write(mutate(tiny_communes()), tmp_path, "parquet")
    with pytest.raises(BoundaryError) as err:
        boundaries.load_layer(path, "communes_2025")
    assert err.value.details["reason"] == reason
    assert path.name in err.value.message
    if row is not None:
        assert err.value.details["row"] == row
        assert f"dòng {row}" in err.value.message


def _zipped_shapefile(folder: Path, name: str, prj: str | None) -> Path:
    shp = folder / name
    shp.mkdir()
    tiny_communes().rename(columns={"province_id": "ma_tinh", "province_name": "ten_tinh"}).to_file(
        shp / "x.shp")
    if prj is None:
        (shp / "x.prj").unlink()
    else:
        (shp / "x.prj").write_text(prj)
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    return path


def test_missing_crs_is_refused(tmp_path: Path) -> None:
    path = _zipped_shapefile(tmp_path, "nocrs", prj=None)
    with pytest.raises(BoundaryError) as err:
        boundaries.load_layer(path, "communes_2025")
    assert err.value.details["reason"] == "missing_crs"
    assert "nocrs.zip" in err.value.message and "CRS" in err.value.message


def test_unknown_crs_is_refused(tmp_path: Path) -> None:
    path = _zipped_shapefile(tmp_path, "odd", prj='PROJCS["nonsense",GEOGCS["x",DATUM["y",SPHEROID["z",1,0]]]]')
    with pytest.raises(BoundaryError) as err:
        boundaries.load_layer(path, "communes_2025")
    assert err.value.details["field"] == "crs"
    assert "odd.zip" in err.value.message


def test_corrupt_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(BoundaryError) as err:
        boundaries.load_layer(path, "communes_2025")
    assert err.value.details["reason"] == "corrupt_zip"
    assert "broken.zip" in err.value.message


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "communes.xlsx"
    path.write_bytes(b"not geo")
    with pytest.raises(BoundaryError) as err:
        boundaries.load_layer(path, "communes_2025")
    assert err.value.details["field"] == "format"


@pytest.mark.parametrize("lod", ["coarse", "fine"])
def test_level_of_detail_keeps_every_unit_and_rounds(lod: str) -> None:
    layer = tiny_communes().rename(columns={"id": "code"})
    layer = gpd.GeoDataFrame(layer, geometry="geometry", crs=4326)
    shapes = boundaries.level_of_detail(layer, lod)
    assert len(shapes) == len(layer) and shapes["geojson"].notna().all()
    decimals = boundaries.LOD_TOLERANCE[lod][1]
    assert '"type":"Polygon"' in shapes["geojson"].iloc[0]
    for number in shapes["geojson"].iloc[0].replace("[", ",").replace("]", ",").split(","):
        if number.replace(".", "").isdigit():
            assert len(number.split(".")[1]) <= decimals if "." in number else True


def test_tiny_shape_survives_coarse_simplification() -> None:
    tiny = gpd.GeoDataFrame({"code": ["99001"]}, geometry=[box(105, 20, 105.001, 20.001)], crs=4326)
    shapes = boundaries.level_of_detail(tiny, "coarse")
    assert shapes["geojson"].iloc[0] is not None
