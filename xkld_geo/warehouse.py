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
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from xkld_geo import (auth, boundaries, completeness, countries, db, demo, emulation, facts, history, ingest, people, plans,
                      profiles, programme, public, schema, sources)
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.warehouse")

PRESERVED_TABLES: tuple[str, ...] = ("users", "login_attempts", "audit_log", "public_notices",
                                     "licensed_companies", "import_log", "import_changes",
                                     "register_entries", "report_receipts", "people_in_charge",
                                     "classifications", "classification_criteria") + plans.PLAN_TABLES
"""Operational tables that a rebuild carries over from the old database: they are not derived
from the input files, and losing them (accounts, the audit trail, imports) would be losing work."""

ENTERED_FACTS: tuple[facts.Target, ...] = tuple(
    t for key, t in facts.TARGETS.items() if key != "register")
"""Statistics tables whose non-demo rows (imported reports, approved quotas) outrank the demo rows
a rebuild generates: those rows are carried over, replacing the demo rows of the same scope."""

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
    parts = {"schema": schema.SCHEMA_VERSION, "seed": seed, "today": today.isoformat(),
             "files": {k: (sources.file_hash(p) if p else None) for k, p in sorted(files.items())}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stored_seed(path: Path) -> int | None:
    """The demo seed recorded in an existing database (set by ``demo --seed``), if any."""
    if not path.exists():
        return None
    try:
        con = db.open_connection(path, read_only=True, spatial=False)
    except Exception:
        return None
    try:
        row = con.execute("SELECT value FROM dataset_meta WHERE key = 'demo_seed'").fetchone()
        return int(row[0]) if row else None
    except (duckdb.Error, ValueError):
        return None
    finally:
        con.close()


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


@dataclass(frozen=True)
class HistoryInput:
    """The crosswalk, its split weights and the old communes' shapes (when the files exist)."""

    crosswalk: history.Crosswalk
    weights: pd.DataFrame
    old_shapes: gpd.GeoDataFrame | None


def load_history(files: dict[str, Path | None], communes: gpd.GeoDataFrame) -> HistoryInput | None:
    """Read the crosswalk (and what goes with it) if the data folder has it."""
    primary = files.get("crosswalk_primary")
    if primary is None:
        return None
    crosswalk = history.load(primary, files.get("crosswalk_secondary"))
    weights = history.split_weights(crosswalk.pairs, pd.DataFrame(communes.drop(columns="geometry")))
    shapes = None
    if files.get("communes_c2010") is not None:
        changes_path = files.get("changes_2019_2024")
        changes = pd.read_csv(changes_path, dtype=str) if changes_path else None
        c2010 = boundaries.to_wgs84(boundaries.read_any(files["communes_c2010"]), files["communes_c2010"])
        shapes = history.old_commune_shapes(c2010, changes, set(crosswalk.pairs["old_code"]))
    return HistoryInput(crosswalk, weights, shapes)


def write_history(con: duckdb.DuckDBPyConnection, hist: HistoryInput, departures_old: pd.DataFrame) -> None:
    """Crosswalk, disagreements, old communes (with shapes where known) and old-unit departures."""
    con.execute(history.DDL)
    pairs = hist.crosswalk.pairs.merge(hist.weights, on=["old_code", "new_code"])
    con.register("xw_in", pairs)
    con.execute("INSERT INTO crosswalk SELECT old_code, old_name, old_province_code, old_district_code, "
                "new_code, new_province_code, merge_type, weight, basis FROM xw_in")
    con.register("dis_in", hist.crosswalk.disagreements)
    con.execute("INSERT INTO crosswalk_disagreements SELECT old_code, \"primary\", secondary, kind FROM dis_in")
    communes = pairs[pairs["merge_type"] != history.ISLAND_DISTRICT]  # island districts are districts
    old = communes.drop_duplicates("old_code")[["old_code", "old_name", "old_district_code"]]
    old = old.rename(columns={"old_code": "code", "old_name": "name", "old_district_code": "parent_code"})
    old["unit_type"] = old["name"].str.extract(r"^(Xã|Phường|Thị trấn)", expand=False)
    geometry = (hist.old_shapes.set_index("code").geometry if hist.old_shapes is not None
                else gpd.GeoSeries(dtype="geometry"))
    old["wkb"] = [shapely.to_wkb(g) if isinstance(g, shapely.Geometry) else None  # NaN: no polygon
                  for g in old["code"].map(geometry)]
    con.register("old_in", old)
    con.execute("""
        INSERT INTO admin_units
        SELECT code, name, unit_type, 'commune', parent_code, 'pre2025', DATE '2008-08-01', DATE '2025-06-30',
               NULL, NULL, NULL, NULL, CASE WHEN wkb IS NULL THEN NULL ELSE ST_GeomFromWKB(wkb) END
        FROM old_in""")
    con.execute("""
        UPDATE admin_units SET center_lon = ST_X(ST_PointOnSurface(geom)), center_lat = ST_Y(ST_PointOnSurface(geom))
        WHERE era = 'pre2025' AND level = 'commune' AND geom IS NOT NULL""")
    if hist.old_shapes is not None and len(hist.old_shapes):
        for lod in ("coarse", "fine"):
            shapes = boundaries.level_of_detail(hist.old_shapes, lod)
            shapes["era"], shapes["level"] = "pre2025", "commune"
            con.register("oshape_in", shapes)
            con.execute("INSERT INTO unit_shapes SELECT era, level, code, lod, geojson FROM oshape_in")
            con.unregister("oshape_in")
    con.register("dold_in", departures_old)
    con.execute("INSERT INTO departures_old SELECT month, old_commune_code, market, sex, channel, "
                "priority_group, departures, is_demo FROM dold_in")
    for name in ("xw_in", "dis_in", "old_in", "dold_in"):
        con.unregister(name)


def carry_over(con: duckdb.DuckDBPyConnection, old_path: Path) -> None:
    """Copy :data:`PRESERVED_TABLES` from the database being replaced into the new one."""
    if not old_path.exists():
        return
    try:
        con.execute(f"ATTACH '{old_path}' AS old_db (READ_ONLY)")  # path from settings, not input
    except duckdb.Error as exc:
        raise DatabaseError(
            f"Không đọc được cơ sở dữ liệu cũ {old_path} để giữ lại tài khoản và nhật ký "
            f"(ứng dụng đang chạy?). Hãy dừng ứng dụng rồi chạy lại. Chi tiết: {exc}",
            path=str(old_path)) from exc
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'old_db'").fetchall()}
        for table in PRESERVED_TABLES:
            if table in present:  # by name: a newer schema may have added (nullable) columns
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM old_db.{table}")  # whitelisted names
        for t in ENTERED_FACTS:
            if t.table not in present:
                continue
            on = " AND ".join(f"x.{c} = o.{c}" for c in t.scope)
            cols = ", ".join(f"o.{c}" for c in t.columns)
            con.execute(f"CREATE TEMP TABLE kept AS SELECT {cols} FROM old_db.{t.table} o WHERE NOT o.is_demo")
            con.execute(f"DELETE FROM {t.table} x USING kept o WHERE {on}")
            con.execute(f"INSERT INTO {t.table} BY NAME SELECT * FROM kept")
            con.execute("DROP TABLE kept")
    finally:
        con.execute("DETACH old_db")
    con.execute("""CREATE TEMP TABLE quota_provinces AS
                   SELECT DISTINCT q.year, u.parent_code AS province_code FROM quotas q
                   JOIN admin_units u ON u.era = '2025' AND u.level = 'commune' AND u.code = q.unit_code
                   WHERE q.unit_level = 'commune' AND NOT q.is_demo""")
    facts.sum_province_quotas(con)  # provinces with entered commune quotas: their sum, as before


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
    target = Path(settings.db_path)
    if not settings.seed_is_explicit:
        seed = stored_seed(target)  # keep the seed a user chose with `demo --seed`
        if seed is not None:
            settings = replace(settings, demo_seed=seed)
    fp = fingerprint(files, settings.demo_seed, today)
    if not force and stored_fingerprint(target) == fp:
        log.info("database %s is up to date", target)
        return BuildResult(target, False, fp, {})

    layers = load_boundaries(files)  # every check happens before anything is written
    communes = pd.DataFrame(layers["communes_2025"].drop(columns="geometry"))
    hist = load_history(files, layers["communes_2025"])
    data = generate_demo(communes, files, settings.demo_seed, today)
    departures_old = pd.DataFrame()
    if hist is not None:
        data.departures, departures_old = history.demo_history(data.departures, hist.weights)
    extra = programme.generate(communes, data.departures, settings.demo_seed, programme.mountain_provinces())
    profile = demo.departures_profile(data.departures, settings.demo_seed)
    receipts = completeness.generate_demo(communes["code"],
                                          settings.demo_seed, today, settings.report_due_day)
    demo_people = people.generate_demo(communes, settings.demo_seed)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = db.open_connection(tmp, create=True)
        try:
            schema.create_all(con)
            auth.create_tables(con)
            public.create_tables(con)
            plans.create_tables(con)
            programme.create_tables(con)
            ingest.create_tables(con)
            people.create_tables(con)
            emulation.create_tables(con)
            programme.write_countries(con, countries.load())
            for gdf in layers.values():
                _insert_units(con, gdf)
            write_demo(con, data)
            programme.write_demo(con, extra)
            profiles.write_demo(con, profile)
            if hist is not None:
                write_history(con, hist, departures_old)
            set_meta(con, {"fingerprint": fp, "built_at": dt.datetime.now().isoformat(timespec="seconds"),
                           "demo_seed": str(settings.demo_seed), "demo_until": today.isoformat(),
                           "data_dir": str(sources.data_dir(settings)), "schema_version": schema.SCHEMA_VERSION,
                           "contains_demo": "true", "has_history": str(hist is not None).lower()})
            tables = ["admin_units", "unit_shapes", "departures", "quotas", "job_fair_attendance",
                      "eligible_pools", "programme_monthly", "country_shapes"]
            if hist is not None:
                tables += ["crosswalk", "crosswalk_disagreements", "departures_old"]
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed names
                      for t in tables}
            counts["departures_total"] = int(data.departures["departures"].sum())
            carry_over(con, target)
            completeness.write_demo(con, receipts)   # after the carry-over: real receipts kept, demo ones anew
            people.write_demo(con, demo_people)
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
    """Make the demo statistics anew with ``seed``: a full, atomic rebuild that keeps accounts,
    plans and the audit log, and remembers the seed for later builds. Returns the total departures."""
    result = build(replace(settings, demo_seed=seed, seed_is_explicit=True), force=True)
    return int(result.counts.get("departures_total", 0))
