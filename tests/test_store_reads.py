"""Keyed lookups (xkld_geo.database.db.keyed, xkld_geo.database.store.keyed_row) without a PostgreSQL server: the
statement's parameters in psycopg's spelling, the embedded database answered as before, and the
setting that chooses the path (the PostgreSQL side is tested in tests/test_postgres.py)."""
from __future__ import annotations

import pytest

from xkld_geo.access import auth
from xkld_geo.database import dataversion, store
from xkld_geo.errors import ConfigError
from xkld_geo.settings import load_settings


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1 FROM sessions WHERE token_hash = $t", "SELECT 1 FROM sessions WHERE token_hash = %(t)s"),
    ("WHERE a = $a AND b > $b_2", "WHERE a = %(a)s AND b > %(b_2)s"),
    ("WHERE name LIKE '50%' AND x = $x", "WHERE name LIKE '50%%' AND x = %(x)s"),
    ("SELECT max(version) FROM data_version", "SELECT max(version) FROM data_version"),
])
def test_parameters_are_spelt_for_psycopg(sql: str, expected: str) -> None:
    assert store.keyed_sql(sql) == expected


def test_the_embedded_database_answers_keyed_lookups_itself(tiny_con) -> None:
    auth.create_user(tiny_con, "khoa", "mat-khau-theo-khoa", "viewer")
    token, _ = auth.login(tiny_con, "khoa", "mat-khau-theo-khoa")
    user = auth.session_user(tiny_con, token)
    assert user is not None and (user.username, user.role) == ("khoa", "viewer")
    auth.logout(tiny_con, token)
    assert auth.session_user(tiny_con, token) is None
    assert dataversion.current_keyed(tiny_con) == dataversion.current(tiny_con)
    assert not store._keyed_idle                 # nothing went to PostgreSQL


@pytest.mark.parametrize(("raw", "mode"), [("keyed", "keyed"), ("SCAN", "scan"), (" scan ", "scan")])
def test_the_store_reads_setting(raw: str, mode: str) -> None:
    assert load_settings({"XKLD_STORE_READS": raw}, secrets={}).store_reads == mode


def test_an_unknown_store_reads_mode_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"XKLD_STORE_READS": "cached"}, secrets={})
    assert err.value.details["allowed"] == ["keyed", "scan"]
