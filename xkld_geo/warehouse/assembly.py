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

from xkld_geo.database import dataversion, db, processes, schema
from xkld_geo.errors import DatabaseError
from xkld_geo.intake import writes
from xkld_geo.reporting import completeness, people, profiles
from xkld_geo.settings import Settings
from xkld_geo.warehouse import boundaries, countries, demo, demo_pipeline, demo_protection, history, programme, sources

log = logging.getLogger("xkld_geo.warehouse.assembly")

PRESERVED_TABLES: tuple[str, ...] = tuple(schema.KEPT_TABLES)
"""Operational tables that a rebuild carries over: :data:`schema.KEPT_TABLES`, the one list."""

ENTERED_FACTS: tuple[writes.Target, ...] = tuple(
    t for key, t in writes.TARGETS.items() if key != "register")
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
        row = db.run(con, "stored_seed", "SELECT value FROM dataset_meta WHERE key = 'demo_seed'")
        return int(row["value"].iloc[0]) if len(row) else None
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
        row = db.run(con, "stored_fingerprint", "SELECT value FROM dataset_meta WHERE key = 'fingerprint'")
        return str(row["value"].iloc[0]) if len(row) else None
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
    with db.registered(con, "units_in", frame):
        db.execute(con, "build_units", """
            INSERT INTO admin_units
            SELECT code, name, unit_type, level, parent_code, era, valid_from, valid_to,
                   population, area_km2, center_lon, center_lat, ST_GeomFromWKB(wkb)
            FROM units_in""")
    for lod in boundaries.LOD_TOLERANCE:
        shapes = boundaries.level_of_detail(gdf, lod)
        shapes["era"] = era
        shapes["level"] = gdf["level"].iloc[0]
        _insert_shapes(con, shapes)


def _insert_shapes(con: duckdb.DuckDBPyConnection, shapes: pd.DataFrame) -> None:
    """Store one level of detail of some units' shapes (columns era, level, code, lod, geojson)."""
    with db.registered(con, "shapes_in", shapes):
        db.execute(con, "build_shapes", "INSERT INTO unit_shapes SELECT era, level, code, lod, geojson FROM shapes_in")


def write_demo(con: duckdb.DuckDBPyConnection, data: demo.DemoData) -> None:
    """Replace every demo row of the statistics tables with ``data`` (caller holds a transaction)."""
    for table in ("departures", "quotas", "job_fair_attendance"):
        db.execute(con, f"demo_clear_{table}", f"DELETE FROM {db.quote_identifier(table)} WHERE is_demo")
    with db.registered(con, "dep_in", data.departures), db.registered(con, "quota_in", data.quotas), \
            db.registered(con, "fair_in", data.job_fairs):
        db.execute(con, "demo_departures", "INSERT INTO departures SELECT month, commune_code, market, sex, "
                   "channel, priority_group, departures, is_demo FROM dep_in")
        db.execute(con, "demo_quotas", "INSERT INTO quotas SELECT year, unit_code, unit_level, quota, is_demo, "
                   "source FROM quota_in")
        db.execute(con, "demo_job_fairs", "INSERT INTO job_fair_attendance SELECT month, commune_code, attendees, "
                   "orientation_registrations, is_demo FROM fair_in")


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
    c2010_path = files.get("communes_c2010")
    if c2010_path is not None:
        changes_path = files.get("changes_2019_2024")
        changes = pd.read_csv(changes_path, dtype=str) if changes_path else None
        c2010 = boundaries.to_wgs84(boundaries.read_any(c2010_path), c2010_path)
        shapes = history.old_commune_shapes(c2010, changes, set(crosswalk.pairs["old_code"]))
    return HistoryInput(crosswalk, weights, shapes)


def write_history(con: duckdb.DuckDBPyConnection, hist: HistoryInput, departures_old: pd.DataFrame) -> None:
    """Crosswalk, disagreements, old communes (with shapes where known) and old-unit departures."""
    pairs = hist.crosswalk.pairs.merge(hist.weights, on=["old_code", "new_code"])
    communes = pairs[pairs["merge_type"] != history.ISLAND_DISTRICT]  # island districts are districts
    old = communes.drop_duplicates("old_code")[["old_code", "old_name", "old_district_code"]]
    old = old.rename(columns={"old_code": "code", "old_name": "name", "old_district_code": "parent_code"})
    old["unit_type"] = old["name"].str.extract(r"^(Xã|Phường|Thị trấn)", expand=False)
    geometry = (hist.old_shapes.set_index("code").geometry if hist.old_shapes is not None
                else gpd.GeoSeries(dtype="geometry"))
    old["wkb"] = [shapely.to_wkb(g) if isinstance(g, shapely.Geometry) else None  # NaN: no polygon
                  for g in old["code"].map(geometry)]
    with db.registered(con, "xw_in", pairs), db.registered(con, "dis_in", hist.crosswalk.disagreements), \
            db.registered(con, "old_in", old), db.registered(con, "dold_in", departures_old):
        db.execute(con, "build_crosswalk", "INSERT INTO crosswalk SELECT old_code, old_name, old_province_code, "
                   "old_district_code, new_code, new_province_code, merge_type, weight, basis FROM xw_in")
        db.execute(con, "build_disagreements", "INSERT INTO crosswalk_disagreements "
                   "SELECT old_code, \"primary\", secondary, kind FROM dis_in")
        db.execute(con, "build_old_communes", """
            INSERT INTO admin_units
            SELECT code, name, unit_type, 'commune', parent_code, 'pre2025', DATE '2008-08-01', DATE '2025-06-30',
                   NULL, NULL, NULL, NULL, CASE WHEN wkb IS NULL THEN NULL ELSE ST_GeomFromWKB(wkb) END
            FROM old_in""")
        db.execute(con, "build_old_centres", """
            UPDATE admin_units SET center_lon = ST_X(ST_PointOnSurface(geom)), center_lat = ST_Y(ST_PointOnSurface(geom))
            WHERE era = 'pre2025' AND level = 'commune' AND geom IS NOT NULL""")
        db.execute(con, "build_departures_old", "INSERT INTO departures_old SELECT month, old_commune_code, market, "
                   "sex, channel, priority_group, departures, is_demo FROM dold_in")
    if hist.old_shapes is not None and len(hist.old_shapes):
        for lod in ("coarse", "fine"):
            shapes = boundaries.level_of_detail(hist.old_shapes, lod)
            shapes["era"], shapes["level"] = "pre2025", "commune"
            _insert_shapes(con, shapes)


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    """Column names of ``table`` in the attached ``database``, in order."""
    return db.run(con, "carry_columns", """SELECT column_name FROM duckdb_columns()
        WHERE database_name = $d AND schema_name = 'main' AND table_name = $t ORDER BY column_index""",
                  {"d": database, "t": table})["column_name"].tolist()


def carry_over(con: duckdb.DuckDBPyConnection, old_path: Path) -> None:
    """Copy :data:`schema.KEPT_TABLES` from the database being replaced into the new one
    (keyed reference tables by upsert, so edited rows replace the built-in defaults), and the
    entered rows of the statistics tables (:data:`ENTERED_FACTS`) by scope."""
    if not old_path.exists():
        return
    try:  # ATTACH takes no parameter: the path comes from the settings, quoted as a literal
        db.execute(con, "carry_attach", f"ATTACH '{str(old_path).replace(chr(39), chr(39) * 2)}' AS old_db (READ_ONLY)")
    except duckdb.Error as exc:
        raise DatabaseError(
            f"Không đọc được cơ sở dữ liệu cũ {old_path} để giữ lại tài khoản và nhật ký "
            f"(ứng dụng đang chạy?). Hãy dừng ứng dụng rồi chạy lại. Chi tiết: {exc}",
            path=str(old_path)) from exc
    here = db.run(con, "carry_current_db", "SELECT current_database() AS d")["d"].iloc[0]
    try:
        present = set(db.run(con, "carry_tables", "SELECT table_name FROM duckdb_tables() "
                                                  "WHERE database_name = 'old_db'")["table_name"])
        for table, key in schema.KEPT_TABLES.items():
            if table not in present:
                continue
            old_cols = set(_columns(con, "old_db", table))
            cols = [c for c in _columns(con, here, table) if c in old_cols]  # by name: columns may have been added
            names = ", ".join(db.quote_identifier(c) for c in cols)
            t = db.quote_identifier(table)
            conflict = ""
            if key:
                updates = ", ".join(f"{db.quote_identifier(c)} = excluded.{db.quote_identifier(c)}"
                                    for c in cols if c not in key)
                conflict = (f" ON CONFLICT ({', '.join(db.quote_identifier(k) for k in key)}) DO "
                            + (f"UPDATE SET {updates}" if updates else "NOTHING"))
            db.execute(con, f"carry_{table}", f"INSERT INTO {t} ({names}) SELECT {names} FROM old_db.{t}{conflict}")
        for f in ENTERED_FACTS:
            if f.table not in present:
                continue
            on = " AND ".join(f"x.{c} = o.{c}" for c in f.key)
            listed = ", ".join(f"o.{c}" for c in f.columns)
            t = db.quote_identifier(f.table)
            db.execute(con, f"carry_entered_{f.table}",
                       f"CREATE TEMP TABLE kept AS SELECT {listed} FROM old_db.{t} o WHERE NOT o.is_demo")
            # scopes an entered report covers lose their demo rows; kept keys are updated in place
            scope = " AND ".join(f"x.{c} = o.{c}" for c in f.scope)
            same = " AND ".join(f"k.{c} = x.{c}" for c in f.key)
            db.execute(con, f"carry_demo_{f.table}", f"DELETE FROM {t} x USING kept o WHERE {scope} "
                       f"AND NOT EXISTS (SELECT 1 FROM kept k WHERE {same})")
            values = ", ".join(f"{c} = o.{c}" for c in f.values + f.extra + ("is_demo",))
            db.execute(con, f"carry_update_{f.table}", f"UPDATE {t} x SET {values} FROM kept o WHERE {on}")
            db.execute(con, f"carry_insert_{f.table}", f"INSERT INTO {t} BY NAME SELECT * FROM kept o "
                       f"WHERE NOT EXISTS (SELECT 1 FROM {t} x WHERE {on})")
            db.execute(con, "carry_drop_kept", "DROP TABLE kept")
        if "schema_migrations" in present:   # the steps keep how they were done ('ran', 'found'), not 'built'
            db.execute(con, "carry_migrations_clear", "DELETE FROM schema_migrations WHERE number IN "
                                                      "(SELECT number FROM old_db.schema_migrations)")
            db.execute(con, "carry_migrations", "INSERT INTO schema_migrations SELECT * FROM old_db.schema_migrations")
    finally:
        db.execute(con, "carry_detach", "DETACH old_db")
    entered = db.run(con, "carry_quota_provinces", """
        SELECT DISTINCT q.year, u.parent_code AS province_code FROM quotas q
        JOIN admin_units u ON u.era = '2025' AND u.level = 'commune' AND u.code = q.unit_code
        WHERE q.unit_level = 'commune' AND NOT q.is_demo""")
    writes.sum_province_quotas(con, entered)  # provinces with entered commune quotas: their sum, as before


def set_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    """Upsert keys of ``dataset_meta``."""
    rows = pd.DataFrame({"key": list(values), "value": list(values.values())})
    with db.registered(con, "meta_in", rows):
        db.execute(con, "set_meta", "INSERT OR REPLACE INTO dataset_meta SELECT key, value FROM meta_in")


def generate_demo(communes: pd.DataFrame, files: dict[str, Path | None], seed: int,
                  today: dt.date) -> demo.DemoData:
    """Run the demo generator on the 2025 communes."""
    calibration = files["national_departures"]
    assert calibration is not None  # required source, checked by sources.resolve
    return demo.generate(communes, calibration, seed, today)


def remove_stale_builds(target: Path) -> list[Path]:
    """Delete the temporary files of builds that were killed midway (``.NAME.building-PID`` and its
    ``.wal``, whose process is gone); a build still running keeps its file. Returns what was removed."""
    removed = []
    for path in target.parent.glob(f".{target.name}.building-*"):
        pid = path.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if pid.isascii() and pid.isdigit() and int(pid) != os.getpid() and processes.alive(int(pid)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
        log.warning("removed %s, left by a build that did not finish", path)
    return removed


def upgrade_existing(target: Path) -> list[int]:
    """Run the migrations the database at ``target`` has not had, in place, before anything else
    reads it: a rebuild carries its rows over, and a step may move data (step 6 copies every
    register entry's group into ``worker_groups``), which marking the step built on the new file
    would skip. Returns the steps run (none for a missing file, or one that is current); a database
    of a newer version is refused here, before it would be replaced."""
    if not target.exists():
        return []
    try:
        con = db.open_connection(target)
    except duckdb.Error as exc:
        raise DatabaseError(
            f"Không mở được cơ sở dữ liệu cũ {target} để nâng cấp trước khi xây lại (ứng dụng đang chạy?). "
            f"Hãy dừng ứng dụng rồi chạy lại. Chi tiết: {exc}", path=str(target)) from exc
    try:
        ran = schema.migrate(con)
    finally:
        con.close()
    if ran:
        log.warning("database %s upgraded before the build: migrations %s", target, ran)
    return ran


def build(settings: Settings, force: bool = False) -> BuildResult:
    """Build the warehouse at ``settings.db_path`` unless it is already current. Either way the
    leftovers of killed builds are removed and the existing database has its pending migrations
    run first (:func:`upgrade_existing`)."""
    files = sources.resolve(settings)
    today = settings.effective_today
    target = Path(settings.db_path)
    if target.parent.exists():
        remove_stale_builds(target)
    from xkld_geo.database import store

    local = not store.enabled(settings)   # with the shared store, its own steps run in PostgreSQL (warehouse.seed)
    if not settings.seed_is_explicit:
        seed = stored_seed(target)  # keep the seed a user chose with `demo --seed`
        if seed is not None:
            settings = replace(settings, demo_seed=seed)
    fp = fingerprint(files, settings.demo_seed, today)
    if not force and stored_fingerprint(target) == fp:
        if local:
            try:
                upgrade_existing(target)
            except DatabaseError:   # held by the running app, which ran the steps when it opened the file
                log.warning("database %s is open elsewhere; its migrations run where it is open", target)
        log.info("database %s is up to date", target)
        return BuildResult(target, False, fp, {})
    if local:
        upgrade_existing(target)   # before its rows are carried over

    layers = load_boundaries(files)  # every check happens before anything is written
    communes = pd.DataFrame(layers["communes_2025"].drop(columns="geometry"))
    hist = load_history(files, layers["communes_2025"])
    data = generate_demo(communes, files, settings.demo_seed, today)
    departures_old = pd.DataFrame()
    if hist is not None:
        data.departures, departures_old = history.demo_history(data.departures, hist.weights)
    extra = programme.generate(communes, data.departures, settings.demo_seed, programme.mountain_provinces(),
                               today)
    profile = demo.departures_profile(data.departures, settings.demo_seed)
    receipts = completeness.generate_demo(communes["code"],
                                          settings.demo_seed, today, settings.report_due_day)
    demo_people = people.generate_demo(communes, settings.demo_seed)
    pipeline = demo_pipeline.generate(communes, data.job_fairs, data.departures, settings.demo_seed, today)

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(target)
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = db.open_connection(tmp, create=True)
        try:
            schema.create_all(con)
            schema.mark_current(con)
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
            counts = {t: int(db.run(con, f"count_{t}", f"SELECT count(*) AS n FROM {db.quote_identifier(t)}")["n"][0])
                      for t in tables}
            counts["departures_total"] = int(data.departures["departures"].sum())
            carry_over(con, target)
            dataversion.bump(con, "build")   # after the carry-over: the old database's versions come first
            completeness.write_demo(con, receipts)   # after the carry-over: real receipts kept, demo ones anew
            people.write_demo(con, demo_people)
            demo_pipeline.write_demo(con, pipeline)  # after the carry-over too: entered orders kept
            counts |= demo_protection.write_demo(con, settings.demo_seed, today)   # after the carry-over
            db.execute(con, "build_checkpoint", "CHECKPOINT")
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
