"""Reference data (markets, companies, notices) goes through one check → save → audit path."""
from __future__ import annotations

import pandas as pd
import pytest

from xkld_geo.access import auth
from xkld_geo.errors import ReferenceDataError
from xkld_geo.figures import references

ADMIN = auth.User("qt", "Quản trị", "admin")
COMPANY = {"licence_no": "123/LĐTBXH-GP", "name": "Công ty Thử", "province_code": "99", "markets": "JP, KR",
           "valid_until": "2030-01-01"}


def _good(con, kind: str) -> pd.DataFrame:
    if kind == "companies":
        return pd.DataFrame([COMPANY])
    if kind == "notices":
        return pd.DataFrame({"key": ["hotline"], "text": ["Gọi 1900 0000"]})
    return references.read(con, kind)


@pytest.mark.parametrize("kind", list(references.KINDS))
def test_only_administrators_edit_and_every_save_is_audited(tiny_con, kind: str) -> None:
    rows = _good(tiny_con, kind)
    for role in ("viewer", "planner", "clerk"):
        with pytest.raises(ReferenceDataError) as err:
            references.save(tiny_con, kind, rows, auth.User("x", "x", role))
        assert err.value.details["field"] == "role"
    assert references.save(tiny_con, kind, rows, ADMIN) == len(rows)
    audit = tiny_con.execute("SELECT username, target, detail FROM audit_log WHERE action = 'reference_edited'"
                             ).fetchall()
    assert audit == [("qt", references.KINDS[kind].table, f"{len(rows)} rows")]


@pytest.mark.parametrize("kind, row, field", [
    ("markets", {"code": "XX"}, "code"),
    ("markets", {"avg_income_usd": -5}, "avg_income_usd"),
    ("markets", {"avg_cost_usd": 12.5}, "avg_cost_usd"),
    ("markets", {"source": " "}, "source"),
    ("markets", {"name_vi": "x" * 121}, "name_vi"),
    ("companies", {"licence_no": ""}, "licence_no"),
    ("companies", {"name": None}, "name"),
    ("companies", {"province_code": "9"}, "province_code"),
    ("companies", {"markets": "JP, ZZ"}, "markets"),
    ("companies", {"name": "x" * 501}, "name"),
    ("notices", {"key": "banner"}, "key"),
    ("notices", {"text": ""}, "text"),
    ("notices", {"text": "x" * 2001}, "text"),
])
def test_a_bad_row_refuses_the_whole_edit_naming_row_and_field(tiny_con, kind: str, row: dict, field: str) -> None:
    rows = _good(tiny_con, kind)
    before = references.read(tiny_con, kind)
    for column, value in row.items():
        rows.loc[0, column] = value
    with pytest.raises(ReferenceDataError) as err:
        references.save(tiny_con, kind, rows, ADMIN)
    assert f"Dòng 1, cột {field}" in err.value.message
    pd.testing.assert_frame_equal(references.read(tiny_con, kind), before)
    assert not tiny_con.execute("SELECT count(*) FROM audit_log WHERE action = 'reference_edited'").fetchone()[0]


def test_notices_fall_back_to_the_defaults_and_keep_the_others(tiny_con) -> None:
    assert references.notices(tiny_con) == references.DEFAULT_NOTICES
    references.save_notice(tiny_con, "hotline", "  Gọi 1900 1234  ", ADMIN)
    shown = references.notices(tiny_con)
    assert shown["hotline"] == "Gọi 1900 1234" and shown["about"] == references.DEFAULT_NOTICES["about"]
