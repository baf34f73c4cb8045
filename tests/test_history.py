"""Across the 2025 reform: crosswalk weights, exact re-basing, reporting what cannot be carried."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import frame
from xkld_geo.warehouse import history

PAIRS = pd.DataFrame({"old_code": ["10001", "10002", "10002", "10003"],
                      "new_code": ["20001", "20001", "20002", "20002"]})
NEW_UNITS = pd.DataFrame({"code": ["20001", "20002"], "population": [30000, 10000], "area_km2": [5.0, 5.0]})


def test_split_weights_by_hand() -> None:
    """Old 10002 is split between new 20001 and 20002.

    Each new commune is fed by two old communes, so the part each receives is estimated as half its
    population: 15,000 and 5,000, hence weights 15,000/20,000 = 0.75 and 0.25.
    """
    w = history.split_weights(PAIRS, NEW_UNITS).set_index(["old_code", "new_code"])
    assert w.loc[("10001", "20001"), "weight"] == 1.0 and w.loc[("10001", "20001"), "basis"] == "whole"
    assert w.loc[("10002", "20001"), "weight"] == pytest.approx(0.75)
    assert w.loc[("10002", "20002"), "weight"] == pytest.approx(0.25)
    assert w.loc[("10002", "20002"), "basis"] == "population"


def test_area_is_the_fallback_basis() -> None:
    units = NEW_UNITS.assign(population=[None, None], area_km2=[1.0, 3.0])
    w = history.split_weights(PAIRS, units).set_index(["old_code", "new_code"])
    assert w.loc[("10002", "20002"), "weight"] == pytest.approx(0.75)
    assert w.loc[("10002", "20002"), "basis"] == "area"


def test_rebase_by_hand() -> None:
    """7 departures of split 10002: 5.25 → 5 and 1.75 → 1, the leftover 1 to the larger remainder."""
    w = history.split_weights(PAIRS, NEW_UNITS)
    old = pd.DataFrame({"month": "2024-05-01", "old_code": ["10001", "10002", "10003"], "departures": [5, 7, 2]})
    new, unmapped = history.rebase(old, w)
    assert dict(zip(new["new_code"], new["departures"])) == {"20001": 10, "20002": 4}
    assert unmapped.empty


def test_old_commune_absent_from_crosswalk_is_reported_not_dropped() -> None:
    w = history.split_weights(PAIRS, NEW_UNITS)
    old = pd.DataFrame({"month": "2024-05-01", "old_code": ["10001", "99999"], "departures": [5, 3]})
    new, unmapped = history.rebase(old, w)
    assert new["departures"].sum() == 5
    assert unmapped.to_dict("records") == [{"month": "2024-05-01", "old_code": "99999", "departures": 3}]


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(0, 50), min_size=3, max_size=3),
       pops=st.lists(st.integers(1, 10**6), min_size=2, max_size=2),
       markets=st.lists(st.sampled_from(["JP", "TW", "KR"]), min_size=3, max_size=3))
def test_rebase_conserves_every_breakdown(counts: list[int], pops: list[int], markets: list[str]) -> None:
    w = history.split_weights(PAIRS, NEW_UNITS.assign(population=pops))
    old = pd.DataFrame({"month": "2024-01-01", "market": markets,
                        "old_code": ["10001", "10002", "10003"], "departures": counts})
    new, _ = history.rebase(old, w)
    got = new.groupby("market")["departures"].sum()
    want = old.groupby("market")["departures"].sum()
    assert got.reindex(want.index, fill_value=0).tolist() == want.tolist()
    assert (new["departures"] > 0).all()


def test_compare_lists_disagreements() -> None:
    primary = pd.DataFrame({"old_code": ["1", "2", "3"], "new_code": ["A", "B", "C"]})
    secondary = pd.DataFrame({"old_code": ["1", "2", "4"], "new_code": ["A", "X", "D"]})
    diff = history.compare(primary, secondary).set_index("old_code")["kind"].to_dict()
    assert diff == {"2": "different_targets", "3": "only_primary", "4": "only_secondary"}


# --- on the real data -------------------------------------------------------------------------

def test_both_hierarchies_with_validity_dates(real_con) -> None:
    got = frame(real_con, """SELECT era, level, count(*) AS n, min(valid_from) AS f, max(valid_to) AS t
                             FROM admin_units GROUP BY ALL""").set_index(["era", "level"])
    assert got.loc[("pre2025", "commune"), "n"] > 10000
    assert str(got.loc[("pre2025", "commune"), "t"])[:10] == "2025-06-30"
    assert pd.isna(got.loc[("2025", "commune"), "t"])
    assert str(got.loc[("2025", "commune"), "f"])[:10] == "2025-07-01"


def test_disagreements_between_the_two_crosswalks_are_reported(real_con) -> None:
    kinds = frame(real_con, "SELECT kind, count(*) AS n FROM crosswalk_disagreements GROUP BY 1")
    assert kinds["n"].sum() > 0 and set(kinds["kind"]) <= {"different_targets", "only_primary", "only_secondary"}


def test_conservation_for_every_month_and_breakdown(real_con) -> None:
    assert frame(real_con, CONSERVATION)["n"][0] == 0  # islands included (Lý Sơn, Côn Đảo, ...)
    islands = frame(real_con, """SELECT district_code, SUM(departures) AS n FROM v_departures_monthly_old
                                 WHERE district_code IN ('536', '755', '471', '318') GROUP BY 1""")
    assert len(islands) == 4 and (islands["n"] > 0).all()
    months = frame(real_con, "SELECT count(DISTINCT month) AS n FROM departures_old")
    assert months["n"][0] == 54  # January 2021 to June 2025


def test_split_weights_are_stored_and_sum_to_one(real_con) -> None:
    bad = frame(real_con, "SELECT old_code FROM crosswalk GROUP BY 1 HAVING abs(sum(weight) - 1) > 1e-9")
    assert bad.empty
    assert frame(real_con, "SELECT count(*) AS n FROM crosswalk WHERE basis = 'population'")["n"][0] > 100


@pytest.mark.parametrize("province", ["38", "40", "42"])  # Thanh Hóa, Nghệ An, Hà Tĩnh did not merge
def test_same_province_totals_on_old_and_new_units(real_con, province: str) -> None:
    old, new = real_con.execute("""
        SELECT (SELECT SUM(departures) FROM v_departures_monthly_old
                WHERE province_code = $p AND year(month) = 2024),
               (SELECT SUM(d.departures) FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
                WHERE c.province_code = $p AND year(d.month) = 2024)""", {"p": province}).fetchone()
    assert old == new and old > 0


def test_map_on_units_of_the_time(real_con) -> None:
    from xkld_geo import maps
    from xkld_geo.views import overview

    national = overview.build_overview(real_con, overview.Request(2024, 12, units="then"), "/app/static")
    assert len(national.map_spec.shapes) == 705 and len(national.map_spec.overlay) == 63
    assert national.map_spec.label == overview.THEN_LABEL
    hue = overview.build_overview(real_con, overview.Request(2024, 12, "46", units="then"), "/app/static")
    with_shape = real_con.execute("""SELECT count(*) FROM admin_units WHERE era = 'pre2025'
        AND level = 'commune' AND geom IS NOT NULL
        AND code IN (SELECT old_code FROM crosswalk WHERE new_province_code = '46')""").fetchone()[0]
    assert len(hue.map_spec.shapes) == with_shape > 100
    total = real_con.execute("""SELECT SUM(departures) FROM departures_old WHERE year(month) = 2024
        AND old_commune_code IN (SELECT old_code FROM crosswalk WHERE new_province_code = '46')""").fetchone()[0]
    shown = hue.map_spec.properties["departures"].sum()
    assert 0 < shown <= total  # communes without a known polygon are not drawn
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), maps.page_html(hue.fmap))
    assert overview.THEN_LABEL in html  # the map says which units it shows
    with pytest.raises(Exception):
        overview.Request(2025, 9, units="then")


def test_new_commune_tooltip_lists_its_old_communes(real_con) -> None:
    from xkld_geo.views import overview

    view = overview.build_overview(real_con, overview.Request(2024, 12, "46"), "/app/static")
    origin = view.map_spec.properties["origin"]
    assert origin.notna().all()
    assert any("," in o for o in origin)  # most new communes merge several old ones
    assert ("origin", "Gồm xã cũ", "") in view.map_spec.tooltip


def test_trend_of_a_new_commune_runs_across_july_2025(real_con) -> None:
    from xkld_geo.figures import queries

    busiest = real_con.execute("""SELECT commune_code FROM departures WHERE year(month) = 2025
        GROUP BY 1 ORDER BY SUM(departures) DESC LIMIT 1""").fetchone()[0]
    series = queries.monthly_departures(real_con, 2025, commune_code=busiest)
    assert (series["this_year"] > 0).all()
    jun, jul = series.loc[series["month"] == 6, "this_year"].item(), series.loc[series["month"] == 7, "this_year"].item()
    assert 0.5 < jul / jun < 2


def test_an_island_district_keeps_its_figures_on_the_unit_of_the_time(history_con) -> None:
    row = frame(history_con, "SELECT old_code, old_district_code, merge_type, weight FROM crosswalk "
                             "WHERE old_code = '963'")
    assert row.to_dict("records") == [{"old_code": "963", "old_district_code": "963",
                                       "merge_type": "district", "weight": 1.0}]
    island = frame(history_con, "SELECT SUM(departures) AS n FROM v_departures_monthly_old "
                                "WHERE district_code = '963'")["n"][0]
    assert island > 0  # it shows on the old district, not as 0
    communes = frame(history_con, "SELECT count(*) AS n FROM admin_units WHERE era = 'pre2025' "
                                  "AND level = 'commune' AND code = '963'")["n"][0]
    assert communes == 0  # a district, not an old commune


CONSERVATION = """
    WITH o AS (SELECT month, market, sex, channel, priority_group, SUM(departures) AS d
               FROM departures_old GROUP BY ALL),
    n AS (SELECT month, market, sex, channel, priority_group, SUM(departures) AS d FROM departures
          WHERE month < DATE '2025-07-01' GROUP BY ALL)
    SELECT count(*) AS n FROM o FULL JOIN n USING (month, market, sex, channel, priority_group)
    WHERE o.d IS DISTINCT FROM n.d"""
"""Every month and breakdown before the reform, over every commune (islands included)."""


def test_conservation_on_the_fixture_with_an_island(history_con) -> None:
    assert frame(history_con, CONSERVATION)["n"][0] == 0


# --- each new commune within one person of its weighted share ---------------------------------

SHARES = """
    WITH want AS (
        SELECT w.new_code AS commune_code, year(o.month) AS year, SUM(o.departures * w.weight) AS want
        FROM departures_old o JOIN crosswalk w ON w.old_code = o.old_commune_code GROUP BY ALL
    ), got AS (
        SELECT commune_code, year(month) AS year, SUM(departures) AS got FROM departures
        WHERE month < DATE '2025-07-01' GROUP BY ALL
    )
    SELECT commune_code, year, COALESCE(want, 0) AS want, COALESCE(got, 0) AS got
    FROM want FULL JOIN got USING (commune_code, year)"""
"""Per new commune and year before the reform: the crosswalk-weighted share of the old communes'
departures and the departures carried onto it."""


def _within_one(con) -> pd.DataFrame:
    both = frame(con, SHARES)
    yearly = both[(both["got"] - both["want"]).abs() > 1 + 1e-9]
    assert yearly.empty, (len(yearly), yearly.head())
    span = both.groupby("commune_code")[["want", "got"]].sum()     # January 2021 - June 2025
    assert ((span["got"] - span["want"]).abs() <= 1 + 1e-9).all(), span[(span["got"] - span["want"]).abs() > 1]
    return both


def test_a_small_share_of_a_split_is_not_starved() -> None:
    """A commune split 90/10 reporting one person a month for five years: the 10% part gets 6 people,
    not 0 (cell by cell rounding gave every person to the 90% part), and every year within one."""
    w = pd.DataFrame({"old_code": ["1", "1"], "new_code": ["A", "B"], "weight": [0.9, 0.1]})
    old = pd.DataFrame({"old_code": "1", "month": pd.date_range("2021-01-01", periods=60, freq="MS"),
                        "market": "JP", "departures": 1})
    new, _ = history.rebase(old, w)
    per_year = new.assign(year=new["month"].dt.year).pivot_table("departures", "year", "new_code", "sum", fill_value=0)
    assert (per_year.sum(axis=1) == 12).all()
    assert ((per_year["B"] - 1.2).abs() <= 1).all() and new.loc[new["new_code"] == "B", "departures"].sum() == 6
    assert new.groupby("month")["departures"].sum().eq(1).all()


def test_each_new_commune_within_one_of_its_share_on_the_fixture(history_con) -> None:
    assert frame(history_con, CONSERVATION)["n"][0] == 0
    both = _within_one(history_con)
    assert both["want"].sum() > 0


@pytest.mark.real_data
def test_each_new_commune_within_one_of_its_share_on_the_real_crosswalk(real_con) -> None:
    assert frame(real_con, CONSERVATION)["n"][0] == 0
    both = _within_one(real_con)
    assert both["commune_code"].nunique() > 3000
