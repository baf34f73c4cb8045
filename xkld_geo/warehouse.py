"""Building the DuckDB warehouse: boundaries, level-of-detail shapes, demo statistics, views.

The build is atomic and idempotent. Every input is read and checked before anything is written;
the new database is written to a temporary file beside the target and moved into place only when
complete, so a bad file or a crash leaves the existing database exactly as it was. A fingerprint
of the inputs (file hashes, seed, month, schema version) is stored, and a second build with the
same inputs does nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from xkld_geo import boundaries, db, demo, schema, sources
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.warehouse")

VALID_FROM = {"2025": dt.date(2025, 7, 1), "pre2025": dt.date(2008, 8, 1)}
VALID_TO = {"2025": None, "pre2025": dt.date(2025, 6, 30)}


@dataclass(frozen=True)
class BuildResult:
    """What a build did: ``built`` is False when the database was already up to date."""

    path: Path
    built: bool
    fingerprint: str
    counts: dict[str, int]


def fingerprint(files: dict[str, Path | None], seed: int, today: dt.date) -> str:
    """Hash of everything the database content depends on."""
    parts = {"schema": schema.SCHEMA_VERSION, "seed": seed, "month": today.strftime("%Y-%m"),
             "files": {k: (sources.file_hash(p) if p else None) for k, p in sorted(files.items())}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stored_fingerprint(path: Path) -> str | None:
    """The fingerprint recorded in an existing database, or None if absent or unreadable."""
    if not path.exists():
        return None
    try:
        con = db.open_connection(path, read_only=True, spatial=False)
    except Exception:  # locked or corrupt: treat as not built
        return None
    try:
        row = con.execute("SELECT value FROM dataset_meta WHERE key = 'fingerprint'").fetchone()
        return row[0] if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def load_boundaries(files: dict[str, Path | None]) -> dict[str, gpd.GeoDataFrame]:
    """Read and check every available boundary layer (raises BoundaryError on the first problem)."""
    return {key: boundaries.load_layer(path, key) for key, path in files.items()
            if key in boundaries.LAYERS and path is not None}


def _insert_units(con: duckdb.DuckDBPyConnection, gdf: gpd.GeoDataFrame) -> None:
    era = gdf["era"].iloc[0]
    points = shapely.point_on_surface(gdf.geometry.to_numpy())
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["valid_from"] = VALID_FROM[era]
    frame["valid_to"] = VALID_TO[era]
    frame["center_lon"] = shapely.get_x(points).round(5)
    frame["center_lat"] = shapely.get_y(points).round(5)
    frame["wkb"] = shapely.to_wkb(gdf.geometry.to_numpy())
    frame["population"] = frame["population"].astype("Int64")
    con.register("units_in", frame)
    con.execute("""
        INSERT INTO admin_units
        SELECT code, name, unit_type, level, parent_code, era, valid_from, valid_to,
               population, area_km2, center_lon, center_lat, ST_GeomFromWKB(wkb)
        FROM units_in""")
    con.unregister("units_in")
    for lod in boundaries.LOD_TOLERANCE:
        shapes = boundaries.level_of_detail(gdf, lod)
        shapes["era"] = era
        shapes["level"] = gdf["level"].iloc[0]
        con.register("shapes_in", shapes)
        con.execute("INSERT INTO unit_shapes SELECT era, level, code, lod, geojson FROM shapes_in")
        con.unregister("shapes_in")


def write_demo(con: duckdb.DuckDBPyConnection, data: demo.DemoData) -> None:
    """Replace every demo row of the statistics tables with ``data`` (caller holds a transaction)."""
    for table in ("departures", "quotas", "job_fair_attendance"):
        con.execute(f"DELETE FROM {table} WHERE is_demo")  # table names are fixed literals
    con.register("dep_in", data.departures)
    con.execute("INSERT INTO departures SELECT month, commune_code, market, sex, channel, "
                "priority_group, departures, is_demo FROM dep_in")
    con.register("quota_in", data.quotas)
    con.execute("INSERT INTO quotas SELECT year, unit_code, unit_level, quota, is_demo, source "
                "FROM quota_in")
    con.register("fair_in", data.job_fairs)
    con.execute("INSERT INTO job_fair_attendance SELECT month, commune_code, attendees, "
                "orientation_registrations, is_demo FROM fair_in")
    for name in ("dep_in", "quota_in", "fair_in"):
        con.unregister(name)


def set_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    """Upsert keys of ``dataset_meta``."""
    con.executemany("INSERT OR REPLACE INTO dataset_meta VALUES (?, ?)", list(values.items()))


def generate_demo(communes: pd.DataFrame, files: dict[str, Path | None], seed: int,
                  today: dt.date) -> demo.DemoData:
    """Run the demo generator on the 2025 communes."""
    calibration = files["national_departures"]
    assert calibration is not None  # required source, checked by sources.resolve
    return demo.generate(communes, calibration, seed, today)


def build(settings: Settings, force: bool = False) -> BuildResult:
    """Build the warehouse at ``settings.db_path`` unless it is already current."""
    files = sources.resolve(settings)
    today = settings.effective_today
    fp = fingerprint(files, settings.demo_seed, today)
    target = Path(settings.db_path)
    if not force and stored_fingerprint(target) == fp:
        log.info("database %s is up to date", target)
        return BuildResult(target, False, fp, {})

    layers = load_boundaries(files)  # every check happens before anything is written
    communes = pd.DataFrame(layers["communes_2025"].drop(columns="geometry"))
    data = generate_demo(communes, files, settings.demo_seed, today)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = db.open_connection(tmp)
        try:
            schema.create_all(con)
            for gdf in layers.values():
                _insert_units(con, gdf)
            write_demo(con, data)
            set_meta(con, {"fingerprint": fp, "built_at": dt.datetime.now().isoformat(timespec="seconds"),
                           "demo_seed": str(settings.demo_seed), "demo_until": today.strftime("%Y-%m"),
                           "data_dir": str(sources.data_dir(settings)), "schema_version": schema.SCHEMA_VERSION,
                           "contains_demo": "true"})
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed names
                      for t in ("admin_units", "unit_shapes", "departures", "quotas", "job_fair_attendance")}
            con.execute("CHECKPOINT")
        finally:
            con.close()
        db.close_all()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    log.info("built %s: %s", target, counts)
    return BuildResult(target, True, fp, counts)


def regenerate_demo(settings: Settings, seed: int) -> int:
    """Replace the demo statistics of the existing database with a new seed, in one transaction."""
    files = sources.resolve(settings)
    con = db.open_connection(settings.db_path)
    try:
        communes = con.execute("SELECT code, parent_code, population FROM admin_units "
                               "WHERE era = '2025' AND level = 'commune'").df()
        data = generate_demo(communes, files, seed, settings.effective_today)
        con.execute("BEGIN TRANSACTION")
        try:
            write_demo(con, data)
            set_meta(con, {"demo_seed": str(seed),
                           "demo_until": settings.effective_today.strftime("%Y-%m"),
                           "fingerprint": fingerprint(files, seed, settings.effective_today)})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return int(data.departures["departures"].sum())
    finally:
        con.close()
