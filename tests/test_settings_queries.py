"""Settings resolution, the data-directory search, and the query whitelists."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xkld_geo.errors import ConfigError, QueryError
from xkld_geo.figures import queries
from xkld_geo.settings import PROJECT_ROOT, load_settings
from xkld_geo.warehouse import sources


def test_defaults() -> None:
    s = load_settings(environ={}, secrets={})
    assert s.db_path == PROJECT_ROOT / "data" / "xkld.duckdb"
    assert s.data_dir is None and s.today is None


def test_environment_beats_secrets_beats_default(tmp_path: Path) -> None:
    s = load_settings(environ={"XKLD_DB": str(tmp_path / "a.duckdb")},
                      secrets={"db_path": str(tmp_path / "b.duckdb"), "demo_seed": 5})
    assert s.db_path == tmp_path / "a.duckdb" and s.demo_seed == 5


@pytest.mark.parametrize("env,setting", [({"XKLD_TODAY": "24/11/2026"}, "today"),
                                         ({"XKLD_DEMO_SEED": "abc"}, "demo_seed")])
def test_bad_setting_is_named(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env, secrets={})
    assert err.value.details["setting"] == setting


def test_explicit_data_dir_is_used_even_when_incomplete(tmp_path: Path) -> None:
    s = load_settings(environ={"XKLD_DATA_DIR": str(tmp_path)}, secrets={})
    assert sources.data_dir(s) == tmp_path


def test_shared_data_is_found_by_default() -> None:
    s = load_settings(environ={}, secrets={})
    found = sources.data_dir(s)
    assert (found / "boundaries").exists()
    assert dt.date.today()  # the default 'today' is the clock


@pytest.mark.parametrize("call,field", [
    (lambda: queries.check_choice("cấp", "district; DROP TABLE quotas", queries.LEVELS), "cấp"),
    (lambda: queries.check_code("tỉnh", "4'0", 2), "tỉnh"),
    (lambda: queries.check_code("tỉnh", "../../etc", 2), "tỉnh"),
    (lambda: queries.check_choice("mức chi tiết", "ultra", queries.LODS), "mức chi tiết"),
])
def test_whitelists_refuse_with_named_field(call, field: str) -> None:
    with pytest.raises(QueryError) as err:
        call()
    assert err.value.details["field"] == field and field in err.value.message
