"""The warehouse built from the real data in ../shared/data, checked against published figures."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA, frame

pytestmark = pytest.mark.real_data


def test_current_hierarchy_counts(real_con) -> None:
    counts = frame(real_con, "SELECT era, level, count(*) AS n FROM admin_units GROUP BY ALL")
    got = {(r.era, r.level): r.n for r in counts.itertuples()}
    assert got[("2025", "province")] == 34
    assert got[("2025", "commune")] == 3321
    assert got[("pre2025", "province")] == 63
    assert got[("pre2025", "district")] == 705


def test_every_commune_sits_in_a_known_province(real_con) -> None:
    orphans = frame(real_con, """
        SELECT c.code FROM admin_units c
        ANTI JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.parent_code
        WHERE c.era = '2025' AND c.level = 'commune'""")
    assert orphans.empty
    hue = frame(real_con, "SELECT count(*) AS n FROM admin_units WHERE era = '2025' "
                          "AND level = 'commune' AND parent_code = '46'")
    assert hue["n"][0] == 40


def _published() -> pd.DataFrame:
    return pd.read_csv(SHARED_DATA / "stats" / "published_national_departures.csv")


def test_national_totals_within_2_percent(real_con) -> None:
    for row in _published().itertuples():
        if row.year < 2021:
            continue
        until = 10 if "October" in row.period else 12
        got = frame(real_con, "SELECT SUM(departures) AS d FROM departures "
                              "WHERE year(month) = $y AND month(month) <= $m", y=int(row.year), m=until)
        assert got["d"][0] == pytest.approx(row.total, rel=0.02), row.year


@pytest.mark.parametrize("market,column", [("JP", "japan"), ("TW", "taiwan"), ("KR", "korea")])
def test_market_shares_within_2_percent(real_con, market: str, column: str) -> None:
    for row in _published().itertuples():
        value = getattr(row, column)
        if row.year < 2021 or pd.isna(value):
            continue
        until = 10 if "October" in row.period else 12
        got = frame(real_con, """
            SELECT SUM(departures) FILTER (WHERE market = $k) / SUM(departures) AS share
            FROM departures WHERE year(month) = $y AND month(month) <= $m""",
                    k=market, y=int(row.year), m=until)
        assert got["share"][0] == pytest.approx(value / row.total, rel=0.02), (market, row.year)


def test_every_commune_has_a_quota_for_the_current_year(real_con) -> None:
    got = frame(real_con, """
        SELECT count(*) AS n, count(*) FILTER (WHERE quota > 0) AS positive FROM quotas
        WHERE unit_level = 'commune' AND year = (SELECT max(year) FROM quotas)""")
    assert got["n"][0] == 3321 and got["positive"][0] == 3321


def test_province_rows_sum_to_commune_rows(real_con) -> None:
    diff = frame(real_con, """
        WITH c AS (SELECT year, province_code, SUM(quota) AS q, SUM(departures) AS d
                   FROM v_attainment WHERE unit_level = 'commune' GROUP BY ALL),
             p AS (SELECT year, unit_code AS province_code, quota AS q, departures AS d
                   FROM v_attainment WHERE unit_level = 'province')
        SELECT * FROM c FULL JOIN p USING (year, province_code)
        WHERE c.q IS DISTINCT FROM p.q OR c.d IS DISTINCT FROM p.d""")
    assert diff.empty
    assert frame(real_con, "SELECT count(*) AS n FROM v_attainment WHERE unit_level = 'province' "
                           "AND year = 2026")["n"][0] == 34


def test_realistic_spread(real_con) -> None:
    """Some communes far above quota, many below, a few at zero; Nghệ An leads."""
    spread = frame(real_con, """
        SELECT count(*) FILTER (WHERE attainment_pct >= 150) AS far_above,
               count(*) FILTER (WHERE attainment_pct < 100) AS below,
               count(*) FILTER (WHERE departures = 0) AS zero, count(*) AS n
        FROM v_attainment WHERE unit_level = 'commune' AND year = 2024""")
    row = spread.iloc[0]
    # the 2024 plan was 125.000 against 158.588 departures (127%): most communes pass it, many do not
    assert row.far_above > 50 and row.below > row.n / 4 and 0 < row.zero < row.n * 0.1
    top = frame(real_con, "SELECT unit_code FROM v_attainment WHERE unit_level = 'province' "
                          "AND year = 2024 ORDER BY departures DESC LIMIT 1")
    assert top["unit_code"][0] == "40"


def test_demo_flag_everywhere(real_con) -> None:
    for table in ("departures", "quotas", "job_fair_attendance"):
        assert frame(real_con, f"SELECT bool_and(is_demo) AS d FROM {table}")["d"][0], table
