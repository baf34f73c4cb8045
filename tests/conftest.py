"""Shared fixtures: a tiny fictional country built from scratch, and the real warehouse.

``write_tiny_data`` writes two fictional provinces (99 with six square communes, 98 with two) in the
same file layout as the real data, so the whole pipeline (read, check, build, demo, views, maps)
runs in a second. It is built once per session (``tiny_template``, ``history_template``) and every
test gets its own copy of the files and the database (``tiny_db``, ``history_db``).
``real_settings`` builds the warehouse from ``../shared/data`` once per test session; tests that
need it are skipped only where that folder is absent (never under CI=true).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from xkld_geo import registrations  # noqa: F401  (the intake's kinds and hooks)
from xkld_geo.database import db  # noqa: F401  (the intake's kinds and hooks)
from xkld_geo.settings import PROJECT_ROOT, Settings, load_settings
from xkld_geo.warehouse import assembly

TODAY = dt.date(2026, 3, 15)
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

NATIONAL_CSV = """year,total,plan,japan,taiwan,korea,period,source
2023,3000,,1500,1000,200,full year,test
2024,3200,3000,,1100,250,full year,test
2025,2500,3300,1200,900,200,January-October,test
"""


TINY_CROSSWALK = """old_province_code,old_province_name,old_commune_code,old_commune_name,new_province_code,new_province_name,new_commune_code,new_commune_name,merge_type,in_mapping,note
97,Tỉnh Cũ,97001,Xã Cũ Một,99,Tỉnh Thử Nghiệm,99001,Xã Thử 1,full,,
97,Tỉnh Cũ,97002,Xã Hợp Nhất,99,Tỉnh Thử Nghiệm,99001,Xã Thử 1,full,,
97,Tỉnh Cũ,97003,Xã Bị Chia,99,Tỉnh Thử Nghiệm,99002,Xã Thử 2,partial,,
97,Tỉnh Cũ,97003,Xã Bị Chia,99,Tỉnh Thử Nghiệm,99003,Xã Thử 3,partial,,
97,Tỉnh Cũ,97004,Xã Thử 4,99,Tỉnh Thử Nghiệm,99004,Xã Thử 4,full,,
97,Tỉnh Cũ,97005,Xã Thử 5,99,Tỉnh Thử Nghiệm,99005,Xã Thử 5,full,,
97,Tỉnh Cũ,97006,Xã Thử 6,99,Tỉnh Thử Nghiệm,99006,Xã Thử 6,full,,
96,Thành phố Cũ,96001,Phường 1,98,Thành phố Mẫu,98001,Phường Mẫu 1,full,,
96,Thành phố Cũ,96002,Phường Mẫu 2,98,Thành phố Mẫu,98002,Phường Mẫu 2,full,,
,,963,Huyện Đảo Thử,98,Thành phố Mẫu,98001,Phường Mẫu 1,full,merges_only,
"""
"""Old communes of the fictional country: two merged whole into 99001, one split between 99002 and
99003, a numbered ward; the others kept their names. Like Lý Sơn or Côn Đảo, island district 963
had no communes and reported as a district; it joined 98001."""


def tiny_communes() -> gpd.GeoDataFrame:
    """Eight square communes: six in province 99 (a 3×2 grid), two in province 98."""
    rows = []
    for i in range(6):
        x, y = 105.0 + 0.1 * (i % 3), 20.0 + 0.1 * (i // 3)
        rows.append({"id": f"99{i + 1:03d}", "name": f"Xã Thử {i + 1}", "type": "Xã",
                     "area": 120.0, "population": 10000 * (i + 1), "province_id": "99",
                     "province_name": "Tỉnh Thử Nghiệm", "geometry": box(x, y, x + 0.1, y + 0.1)})
    for i in range(2):
        x = 105.3 + 0.1 * i
        rows.append({"id": f"98{i + 1:03d}", "name": f"Phường Mẫu {i + 1}", "type": "Phường",
                     "area": 100.0, "population": 30000, "province_id": "98",
                     "province_name": "Thành phố Mẫu", "geometry": box(x, 20.0, x + 0.1, 20.1)})
    return gpd.GeoDataFrame(rows, crs=4326)


def tiny_provinces() -> gpd.GeoDataFrame:
    """The two provinces, dissolved from their communes."""
    communes = tiny_communes()
    prov = communes.dissolve(by="province_id", aggfunc={"population": "sum", "area": "sum"}).reset_index()
    prov = prov.rename(columns={"province_id": "id"})
    prov["name"] = prov["id"].map({"99": "Tỉnh Thử Nghiệm", "98": "Thành phố Mẫu"})
    prov["type"] = prov["id"].map({"99": "Tỉnh", "98": "Thành phố"})
    return prov[["id", "name", "type", "area", "population", "geometry"]]


def write_tiny_data(folder: Path) -> Path:
    """Write the fictional country in the real data's layout under ``folder``."""
    (folder / "boundaries").mkdir(parents=True, exist_ok=True)
    (folder / "stats").mkdir(parents=True, exist_ok=True)
    tiny_communes().to_parquet(folder / "boundaries" / "vn_communes_2025.parquet")
    tiny_provinces().to_file(folder / "boundaries" / "vn_provinces_2025.geojson", driver="GeoJSON")
    (folder / "stats" / "published_national_departures.csv").write_text(NATIONAL_CSV, encoding="utf-8")
    return folder


def settings_for(data_dir: Path | None, db_path: Path, seed: int = 1, today: dt.date = TODAY) -> Settings:
    """Settings pointing at a data folder and database, independent of the environment."""
    env = {"XKLD_DB": str(db_path), "XKLD_DEMO_SEED": str(seed), "XKLD_TODAY": today.isoformat(),
           "XKLD_ID_KEY_FILE": str(db_path.with_suffix(".idkey"))}
    if data_dir is not None:
        env["XKLD_DATA_DIR"] = str(data_dir)
    return load_settings(environ=env, secrets={})


@pytest.fixture(scope="session", autouse=True)
def geometry_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Published map geometry (xkld_geo.maps.geometry) kept in a session folder, never beside the
    project's own database; a test may point XKLD_GEOMETRY_DIR elsewhere (monkeypatch)."""
    folder = tmp_path_factory.mktemp("geometry")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XKLD_GEOMETRY_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fictional country's files and warehouse, built once per test session (see :func:`_copy`)."""
    root = tmp_path_factory.mktemp("tiny_template")
    settings = settings_for(write_tiny_data(root / "data"), root / "tiny.duckdb")
    assembly.build(settings)
    db.close_all()
    return settings


@pytest.fixture(scope="session")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fictional country with its old communes and crosswalk, built once per test session."""
    root = tmp_path_factory.mktemp("history_template")
    data = write_tiny_data(root / "data")
    (data / "crosswalk").mkdir()
    (data / "crosswalk" / "commune_old2new_2025_dvhcvn.csv").write_text(TINY_CROSSWALK, encoding="utf-8")
    settings = settings_for(data, root / "history.duckdb")
    assembly.build(settings)
    db.close_all()
    return settings


def _copy(template: Settings, tmp_path: Path, name: str) -> Settings:
    """A test's own copy of a session template (files and database): building the warehouse takes
    seconds, copying it milliseconds, and every test still gets a database it may change."""
    assert template.data_dir is not None
    data = tmp_path / "data"
    shutil.copytree(template.data_dir, data, dirs_exist_ok=True)
    if os.environ.get("XKLD_TEST_BUILD_EACH") == "1":  # the old way, for bench/suite_bench.py only
        assembly.build(settings_for(data, tmp_path / name))
        db.close_all()
    else:
        shutil.copyfile(template.db_path, tmp_path / name)
    return settings_for(data, tmp_path / name)


@pytest.fixture()
def tiny_data_dir(tiny_template: Settings, tmp_path: Path) -> Path:
    """A fresh copy of the fictional country's files."""
    assert tiny_template.data_dir is not None
    return Path(shutil.copytree(tiny_template.data_dir, tmp_path / "data", dirs_exist_ok=True))


@pytest.fixture()
def tiny_settings(tiny_data_dir: Path, tmp_path: Path) -> Settings:
    """Settings for a database built from the fictional country."""
    return settings_for(tiny_data_dir, tmp_path / "tiny.duckdb")


def _connected(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse of ``settings``, closed afterwards."""
    con = db.open_connection(settings.db_path)
    yield con
    con.close()


@pytest.fixture()
def tiny_db(tiny_template: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The fictional country's warehouse (a copy of the session's build); yields its settings."""
    yield _copy(tiny_template, tmp_path, "tiny.duckdb")
    db.close_all()


@pytest.fixture()
def tiny_con(tiny_db: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the fictional country's warehouse."""
    yield from _connected(tiny_db)


@pytest.fixture()
def history_db(history_template: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The fictional country with its old communes and crosswalk (a copy); yields its settings."""
    yield _copy(history_template, tmp_path, "history.duckdb")
    db.close_all()


@pytest.fixture()
def history_con(history_db: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the fictional country with history."""
    yield from _connected(history_db)


@pytest.fixture()
def app_env(tiny_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment AppTest pages run in: the fictional warehouse, 15 March 2026."""
    monkeypatch.setenv("XKLD_DB", str(tiny_db.db_path))
    monkeypatch.setenv("XKLD_DATA_DIR", str(tiny_db.data_dir))
    monkeypatch.setenv("XKLD_TODAY", tiny_db.today.isoformat())
    monkeypatch.setenv("XKLD_ID_KEY_FILE", str(tiny_db.id_key_file))
    db.close_all()
    yield tiny_db
    db.close_all()


def _shared_available() -> bool:
    return (SHARED_DATA / "boundaries" / "vn_communes_2025.parquet").exists()


def require_shared_data() -> None:
    """Skip where the real data is absent, except under CI where that is a failure."""
    if not _shared_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the real data folder {SHARED_DATA} is missing")
        pytest.skip(f"real data not found at {SHARED_DATA}")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a warehouse built from ../shared/data with the default seed."""
    require_shared_data()
    path = tmp_path_factory.mktemp("real") / "xkld.duckdb"
    settings = settings_for(SHARED_DATA, path, seed=2025, today=dt.date(2026, 12, 1))
    assembly.build(settings)
    return settings


@pytest.fixture(scope="session")
def real_con(real_settings: Settings):
    """A read-only connection to the real warehouse."""
    con = db.open_connection(real_settings.db_path, read_only=True)
    yield con
    con.close()


def frame(con, sql: str, **params) -> pd.DataFrame:  # test helper, keeps tests short
    """Run ad-hoc SQL in a test (the app itself only uses the named queries)."""
    return con.execute(sql, params or None).df()


# Browser fixtures (Chromium + the app on a local port) live in tests/browser_support.py.
from tests.browser_support import app_url, browser, chromium_path, page  # noqa: E402,F401


def session_token(settings: Settings, role: str = "viewer", username: str | None = None) -> str:
    """A live session for a new user of ``role`` in the database of ``settings``.

    Uses the process's shared connection, as the app under AppTest does.
    """
    from xkld_geo.access import auth

    con = db.connect(settings)
    db.upgrade(con)
    name = username or f"test_{role}"
    if not con.execute("SELECT 1 FROM users WHERE username = $u", {"u": name}).fetchone():
        auth.create_user(con, name, "mat-khau-thu-nghiem", role)
    code = None
    if role == "admin":             # administrators need their second factor
        code = second_factor_code(con, name)
    token, _ = auth.login(con, name, "mat-khau-thu-nghiem", code=code)
    return token


def second_factor_code(con, username: str) -> str:
    """A code that logs ``username`` in now: their second factor is turned on (once) and its record
    of the last code used is cleared, so that tests logging in many times within one 30-second
    step are not refused as replays."""
    import datetime as dt

    from xkld_geo.access import second_factor

    if not second_factor.enabled(con, username):
        enrolment = second_factor.enrol(con, username)
        second_factor.confirm(con, username, second_factor.current_code(enrolment.secret))
    con.execute("UPDATE second_factors SET last_step = NULL WHERE username = $u", {"u": username})
    secret = con.execute("SELECT secret FROM second_factors WHERE username = $u", {"u": username}).fetchone()[0]
    return second_factor.current_code(secret, dt.datetime.now())


def run_page(path: str = "app.py", role: str | None = "viewer", query: dict[str, str] | None = None,
             settings: Settings | None = None, username: str | None = None, timeout: float = 60,
             state: dict[str, object] | None = None) -> AppTest:
    """Run one page under AppTest, the one way every test opens a page.

    ``path`` is relative to the project (``app.py`` or ``pages/…``); ``role`` None is an anonymous
    visitor; ``query`` sets URL parameters and ``state`` session-state entries before the first run.
    The session is opened in the database of ``settings`` (by default the environment's, as set by
    ``app_env``).
    """
    at = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if role is not None:
        at.session_state["auth_token"] = session_token(settings or load_settings(), role, username)
    return at.run()


def problems(at: AppTest) -> list[str]:
    """What went wrong on a page run: exceptions (with their messages) and errors shown."""
    return [f"exception: {e.message}" for e in at.exception] + [f"error: {e.value}" for e in at.error]


@pytest.fixture()
def open_page() -> Callable[..., AppTest]:
    """The shared AppTest fixture: ``open_page("pages/…", role=…, query=…)`` (see :func:`run_page`)."""
    return run_page


def component_args(at: AppTest) -> list[str]:
    """The JSON arguments of every custom component a page run drew (the maps), to read what they show."""
    found: list[str] = []

    def walk(node: object) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if getattr(child, "type", None) == "component_instance" and proto is not None:
                found.append(proto.json_args)
            walk(child)

    walk(at._tree)
    return found


def draws(args: str, text: str) -> bool:
    """Whether component arguments ``args`` carry ``text``, as is or escaped inside the map's script."""
    return any(form in args for form in (text, json.dumps(text)[1:-1], json.dumps(json.dumps(text)[1:-1])[1:-1]))
