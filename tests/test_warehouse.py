"""The warehouse build: idempotent, atomic, complete, and honest about missing data."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import frame, settings_for
from xkld_geo.access import auth
from xkld_geo.cli import main
from xkld_geo.database import db
from xkld_geo.errors import BoundaryError, DataMissingError
from xkld_geo.figures import references
from xkld_geo.settings import Settings
from xkld_geo.warehouse import assembly


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_loads_units_shapes_and_demo(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    units = frame(con, "SELECT level, count(*) AS n FROM admin_units GROUP BY level ORDER BY level")
    assert dict(zip(units["level"], units["n"])) == {"commune": 8, "province": 2}
    assert frame(con, "SELECT count(*) AS n FROM unit_shapes")["n"][0] == 30  # 10 units × 3 LODs
    geom = frame(con, "SELECT ST_GeometryType(geom) AS t, ST_Area(geom) AS a FROM admin_units "
                      "WHERE code = '99001'")
    assert geom["t"][0] == "POLYGON" and geom["a"][0] == pytest.approx(0.01)
    assert frame(con, "SELECT bool_and(is_demo) AS d FROM departures")["d"][0]
    assert frame(con, "SELECT value FROM dataset_meta WHERE key = 'contains_demo'")["value"][0] == "true"
    con.close()


def test_views_are_consistent(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    sums = frame(con, """
        SELECT year, unit_level, SUM(quota) AS quota, SUM(departures) AS departures
        FROM v_attainment GROUP BY ALL ORDER BY year, unit_level""")
    by_year = sums.pivot(index="year", columns="unit_level")
    assert (by_year["quota"]["province"] == by_year["quota"]["commune"]).all()
    assert (by_year["departures"]["province"] == by_year["departures"]["commune"]).all()
    monthly = frame(con, "SELECT year(month) AS year, SUM(departures) AS d FROM v_departures_monthly "
                         "GROUP BY ALL ORDER BY year")
    assert monthly["d"].tolist() == by_year["departures"]["commune"].tolist()
    cols = frame(con, "SELECT * FROM v_attainment LIMIT 0").columns.tolist()
    assert cols[:8] == ["year", "unit_code", "unit_level", "unit_name", "province_code", "quota",
                        "departures", "attainment_pct"]
    cols = frame(con, "SELECT * FROM v_departures_monthly LIMIT 0").columns.tolist()
    assert cols[:7] == ["month", "unit_code", "market", "sex", "channel", "priority_group", "departures"]
    con.close()


def test_second_build_changes_nothing(tiny_db: Settings) -> None:
    before = _digest(tiny_db.db_path)
    result = assembly.build(tiny_db)
    assert result.built is False
    assert _digest(tiny_db.db_path) == before


def test_force_rebuilds_same_content(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    before = frame(con, "SELECT * FROM departures ORDER BY ALL")
    con.close()
    assert assembly.build(tiny_db, force=True).built
    con = db.open_connection(tiny_db.db_path, read_only=True)
    after = frame(con, "SELECT * FROM departures ORDER BY ALL")
    con.close()
    assert before.equals(after)


def test_new_seed_rebuilds(tiny_db: Settings) -> None:
    assert assembly.build(replace(tiny_db, demo_seed=99)).built


def test_bad_boundary_file_leaves_database_untouched(tiny_db: Settings, tiny_data_dir: Path) -> None:
    before = _digest(tiny_db.db_path)
    bad = tiny_data_dir / "boundaries" / "vn_communes_2025.parquet"
    import geopandas as gpd
    gdf = gpd.read_parquet(bad).drop(columns=["id"])
    gdf.to_parquet(bad)
    with pytest.raises(BoundaryError) as err:
        assembly.build(tiny_db, force=True)
    assert "vn_communes_2025.parquet" in err.value.message and "thiếu cột" in err.value.message
    assert _digest(tiny_db.db_path) == before
    assert not list(tiny_db.db_path.parent.glob(".*building*"))


def test_corrupt_zip_leaves_database_untouched(tiny_db: Settings, tiny_data_dir: Path) -> None:
    before = _digest(tiny_db.db_path)
    (tiny_data_dir / "boundaries" / "vn_communes_2025.parquet").unlink()
    (tiny_data_dir / "boundaries" / "vn_communes_2025.zip").write_bytes(b"PK\x03\x04broken")
    with pytest.raises(BoundaryError) as err:
        assembly.build(tiny_db, force=True)
    assert "vn_communes_2025.zip" in err.value.message
    assert _digest(tiny_db.db_path) == before


def test_missing_data_says_what_and_where(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "empty", tmp_path / "x.duckdb")
    (tmp_path / "empty" / "boundaries").mkdir(parents=True)
    with pytest.raises(DataMissingError) as err:
        assembly.build(settings)
    assert "vn_communes_2025" in err.value.message and "lamngockhuong" in err.value.message
    assert str(tmp_path / "empty") in err.value.message
    assert not (tmp_path / "x.duckdb").exists()


def test_cli_build_reports_error_without_traceback(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XKLD_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XKLD_DB", str(tmp_path / "x.duckdb"))
    assert main(["build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: ") and "Traceback" not in err


def test_cli_build_and_demo(tiny_settings: Settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XKLD_DATA_DIR", str(tiny_settings.data_dir))
    monkeypatch.setenv("XKLD_DB", str(tiny_settings.db_path))
    monkeypatch.setenv("XKLD_TODAY", tiny_settings.today.isoformat())
    assert main(["build"]) == 0
    assert "Đã xây" in capsys.readouterr().out
    assert main(["build"]) == 0
    assert "không có gì thay đổi" in capsys.readouterr().out
    con = db.open_connection(tiny_settings.db_path, read_only=True)
    before = frame(con, "SELECT SUM(departures) AS d FROM departures")["d"][0]
    con.close()
    assert main(["demo", "--seed", "7"]) == 0
    con = db.open_connection(tiny_settings.db_path, read_only=True)
    after = frame(con, "SELECT SUM(departures) AS d, count(*) AS n FROM departures")
    seed = frame(con, "SELECT value FROM dataset_meta WHERE key = 'demo_seed'")["value"][0]
    con.close()
    assert after["d"][0] == before  # calibrated totals do not depend on the seed
    assert seed == "7"


def test_every_commune_has_a_quota_each_year(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    missing = frame(con, """
        SELECT y.year, c.code FROM (SELECT DISTINCT year FROM quotas) y
        CROSS JOIN (SELECT code FROM admin_units WHERE era = '2025' AND level = 'commune') c
        ANTI JOIN quotas q ON q.year = y.year AND q.unit_code = c.code AND q.unit_level = 'commune'""")
    years = frame(con, "SELECT DISTINCT year FROM quotas ORDER BY year")["year"].tolist()
    con.close()
    assert missing.empty
    assert years == [2021, 2022, 2023, 2024, 2025, 2026]


def test_every_table_is_either_kept_or_derived(tiny_db: Settings) -> None:
    """One list says what a rebuild keeps: a new table must be put in it or declared derived."""
    from xkld_geo.database import schema

    con = db.open_connection(tiny_db.db_path, read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not set(schema.KEPT_TABLES) & schema.DERIVED_TABLES
    tables -= {"schema_migrations"}  # the migrations' own record: a new build is current by construction
    assert tables <= set(schema.KEPT_TABLES) | schema.DERIVED_TABLES, tables - set(schema.KEPT_TABLES)
    assert set(schema.KEPT_TABLES) <= tables  # history tables are only there with the old-unit files


def test_market_edits_and_operational_rows_survive_a_forced_build(tiny_db: Settings) -> None:
    import pandas as pd

    from xkld_geo.database import schema

    con = db.open_connection(tiny_db.db_path)
    admin = auth.create_user(con, "quantri", "mat-khau-dai-du", "admin")
    edited = references.read(con, "markets")
    edited.loc[edited["code"] == "JP", ["avg_income_usd", "source"]] = [1777, "DOLAB 2026, đã sửa"]
    edited = pd.concat([edited, edited[edited["code"] == "DE"].assign(code="FR", name_vi="Pháp", name_en="France")])
    references.save(con, 'markets', edited, admin)
    references.save_notice(con, "hotline", "Gọi 1900 1234", auth.User("quantri", "quantri", "admin"))
    auth.login(con, "quantri", "mat-khau-dai-du")
    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in schema.KEPT_TABLES if t != "markets"}
    con.close()
    assembly.build(tiny_db, force=True)
    con = db.open_connection(tiny_db.db_path, read_only=True)
    kept = references.read(con, "markets").set_index("code")
    assert kept.loc["JP", "avg_income_usd"] == 1777 and kept.loc["JP", "source"] == "DOLAB 2026, đã sửa"
    assert kept.loc["FR", "name_vi"] == "Pháp"
    assert references.notices(con)["hotline"] == "Gọi 1900 1234"
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
    con.close()
    assert all(after[t] >= before[t] for t in before), (before, after)
    assert after["sessions"] == before["sessions"] == 1


def test_a_build_killed_midway_leaves_nothing_behind_next_time(tiny_db: Settings) -> None:
    target = Path(tiny_db.db_path)
    dead = target.with_name(f".{target.name}.building-999999999")      # no such process
    dead.write_bytes(b"x" * 1000)
    Path(f"{dead}.wal").write_bytes(b"x")
    assembly.build(tiny_db, force=True)
    assert not list(target.parent.glob(f".{target.name}.building-*"))


def test_a_failed_build_removes_its_temporary_file(tiny_db: Settings, monkeypatch) -> None:
    target = Path(tiny_db.db_path)

    def fail(*args, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(assembly, "carry_over", fail)
    with pytest.raises(RuntimeError):
        assembly.build(tiny_db, force=True)
    assert not list(target.parent.glob(f".{target.name}.building-*"))
