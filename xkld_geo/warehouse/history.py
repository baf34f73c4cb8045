"""Across the 1 July 2025 reform: the old→new commune crosswalk and re-basing statistics.

Until 30 June 2025 statistics were reported on ~10,000 old communes (in ~700 districts and 63
provinces); from 1 July 2025 on 3,321 new communes. A whole old commune moves to its new commune
with all its numbers; a split old commune is divided by a weight, stored with the result. Counts
are carried so that every total (per month and breakdown) over the new units equals the total over
the old units exactly, and each new commune's total over any year is within one person of its
weighted share (controlled rounding, :func:`carry`).

Weights of a split old commune: the population of each receiving new commune divided by the number
of old communes that feed it (an estimate of the population of the part received), else its area
on the same footing, else equal parts. The basis is stored with each weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from xkld_geo.errors import IngestError
from xkld_geo.warehouse.boundaries import normalise_codes

CROSSWALK_COLUMNS = ["old_code", "old_name", "old_province_code", "old_district_code", "new_code",
                     "new_province_code", "merge_type"]


@dataclass(frozen=True)
class Crosswalk:
    """The loaded crosswalk and how the second, independent source disagrees with it."""

    pairs: pd.DataFrame          # CROSSWALK_COLUMNS, one row per (old_code, new_code)
    disagreements: pd.DataFrame  # old_code, primary, secondary, kind


def _codes(values: pd.Series, digits: int, field: str, path: Path) -> pd.Series:
    return normalise_codes(values, digits, field, path, unique=False)


ISLAND_DISTRICT = "district"
"""``merge_type`` of a crosswalk row whose old unit is a whole island district that had no communes
(Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo): it reported as a district, so its figures before
the reform stay on that district (old code = the 3-digit district code)."""


def read_primary(path: Path) -> pd.DataFrame:
    """The dvhcvn crosswalk (old commune as of 2025-03 → new commune), tidied.

    A handful of rows map a whole island *district* that had no communes and carry no old province
    code; they are kept as :data:`ISLAND_DISTRICT` rows with the district code as the old unit, so
    the special zone's figures before July 2025 have a unit of the time to live on.
    """
    raw = pd.read_csv(path, dtype=str)
    missing = {"old_commune_code", "new_commune_code", "old_province_code"} - set(raw.columns)
    if missing:
        raise IngestError(f"Tệp {path.name}: thiếu cột {', '.join(sorted(missing))}.",
                          file=str(path), field=sorted(missing)[0], reason="missing_column")
    island = raw["old_province_code"].isna()
    communes, districts = raw[~island].reset_index(drop=True), raw[island].reset_index(drop=True)
    out = pd.DataFrame({
        "old_code": _codes(communes["old_commune_code"], 5, "old_commune_code", path),
        "old_name": communes["old_commune_name"].str.strip(),
        "old_province_code": _codes(communes["old_province_code"], 2, "old_province_code", path),
        "new_code": _codes(communes["new_commune_code"], 5, "new_commune_code", path),
        "new_province_code": _codes(communes["new_province_code"], 2, "new_province_code", path),
        "merge_type": communes["merge_type"].fillna("full"),
    })
    if len(districts):
        district_code = _codes(districts["old_commune_code"], 3, "old_commune_code", path)
        out = pd.concat([out, pd.DataFrame({
            "old_code": district_code, "old_name": districts["old_commune_name"].str.strip(),
            "old_province_code": None, "old_district_code": district_code,
            "new_code": _codes(districts["new_commune_code"], 5, "new_commune_code", path),
            "new_province_code": _codes(districts["new_province_code"], 2, "new_province_code", path),
            "merge_type": ISLAND_DISTRICT})], ignore_index=True)
    return out.drop_duplicates(["old_code", "new_code"]).reset_index(drop=True)


def read_secondary(path: Path) -> pd.DataFrame:
    """The vietnamadminunits crosswalk (codes stored as numbers), tidied; it carries districts
    and provinces. Island districts without communes (no ward code) are keyed by district code."""
    raw = pd.read_csv(path, dtype=str)
    district = _codes(raw["districtCode"], 3, "districtCode", path)
    has_ward = raw["wardCode"].notna()
    old = district.copy()  # a copy: the district codes stay as they are
    old[has_ward] = _codes(raw.loc[has_ward, "wardCode"], 5, "wardCode", path)
    return pd.DataFrame({
        "old_code": old, "old_district_code": district,
        "old_province_code": _codes(raw["provinceCode"], 2, "provinceCode", path),
        "new_code": _codes(raw["newWardCode"], 5, "newWardCode", path),
    }).drop_duplicates(["old_code", "new_code"]).reset_index(drop=True)


def load(primary: Path, secondary: Path | None) -> Crosswalk:
    """Load the primary crosswalk, take districts from the secondary, and list disagreements."""
    pairs = read_primary(primary)
    if "old_district_code" not in pairs:
        pairs["old_district_code"] = None
    if secondary is None:
        empty = pd.DataFrame(columns=["old_code", "primary", "secondary", "kind"])
        return Crosswalk(pairs[CROSSWALK_COLUMNS], empty)
    other = read_secondary(secondary)
    first = other.drop_duplicates("old_code").set_index("old_code")
    pairs["old_district_code"] = pairs["old_code"].map(first["old_district_code"]).fillna(pairs["old_district_code"])
    pairs["old_province_code"] = pairs["old_province_code"].fillna(pairs["old_code"].map(first["old_province_code"]))
    return Crosswalk(pairs[CROSSWALK_COLUMNS], compare(pairs, other))


def compare(primary: pd.DataFrame, secondary: pd.DataFrame) -> pd.DataFrame:
    """Old communes the two sources map differently (or only one of them knows)."""
    a = primary.groupby("old_code")["new_code"].agg(lambda s: ",".join(sorted(s)))
    b = secondary.groupby("old_code")["new_code"].agg(lambda s: ",".join(sorted(s)))
    both = pd.concat([a.rename("primary"), b.rename("secondary")], axis=1)
    both["kind"] = np.select([both["secondary"].isna(), both["primary"].isna()],
                             ["only_primary", "only_secondary"], "different_targets")
    diff = both[both["primary"].fillna("") != both["secondary"].fillna("")]
    return diff.reset_index(names="old_code")[["old_code", "primary", "secondary", "kind"]]


def split_weights(pairs: pd.DataFrame, new_units: pd.DataFrame) -> pd.DataFrame:
    """Share of each old commune going to each of its new communes, with the basis used.

    ``new_units`` has code, population, area_km2. Whole moves get weight 1 and basis 'whole'.
    """
    feeders = pairs.groupby("new_code")["old_code"].transform("nunique")
    units = new_units.set_index("code")
    pop = pairs["new_code"].map(units["population"]).astype(float) / feeders
    area = pairs["new_code"].map(units["area_km2"]).astype(float) / feeders
    out = pairs[["old_code", "new_code"]].copy()
    out["n_targets"] = out.groupby("old_code")["new_code"].transform("size")
    pop_ok = pop.gt(0).groupby(out["old_code"]).transform("all")
    area_ok = area.gt(0).groupby(out["old_code"]).transform("all")
    raw = np.where(pop_ok, pop, np.where(area_ok, area, 1.0))
    out["basis"] = np.where(out["n_targets"] == 1, "whole",
                            np.where(pop_ok, "population", np.where(area_ok, "area", "equal")))
    out["weight"] = raw / pd.Series(raw, index=out.index).groupby(out["old_code"]).transform("sum")
    return out[["old_code", "new_code", "weight", "basis"]].sort_values(["old_code", "new_code"],
                                                                       ignore_index=True)


def divide(counts: pd.DataFrame, key: str, weights: pd.DataFrame, target: str, value: str,
           share: str = "weight") -> pd.DataFrame:
    """Divide integer ``value`` of each row over the targets of its ``key`` by ``share``.

    Largest-remainder rounding per source row (ties to the smaller target code), so each source
    row's value is conserved exactly. ``weights`` has columns ``key``, ``target`` and ``share``
    (shares of one key sum to 1). Rows whose key has no weights are dropped here: callers report
    them (see :func:`rebase`).
    """
    rows = counts.reset_index(drop=True)
    rows["_row"] = np.arange(len(rows))
    merged = rows.merge(weights[[key, target, share]], on=key, how="inner")
    raw = merged[value].to_numpy(dtype=float) * merged[share].to_numpy(dtype=float)
    base = np.floor(raw + 1e-9).astype(np.int64)
    merged["_base"] = base
    merged["_rem"] = raw - base
    short = merged[value] - merged.groupby("_row")["_base"].transform("sum")
    merged = merged.sort_values(["_row", "_rem", target], ascending=[True, False, True], kind="mergesort")
    order = merged.groupby("_row").cumcount()
    merged[value] = merged["_base"] + (order < short.loc[merged.index]).astype(np.int64)
    keep = [c for c in rows.columns if c not in (key, "_row")]
    out = merged[merged[value] > 0][[target] + keep]
    return out.reset_index(drop=True)


def rebase(old_counts: pd.DataFrame, weights: pd.DataFrame, value: str = "departures",
           by: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carry counts on old communes (``old_code``) onto new communes (``new_code``).

    Returns the re-based rows, summed by ``by`` + new_code, and the rows whose old commune is not
    in the crosswalk (reported, never silently dropped). See :func:`carry` for the rounding.
    """
    known = old_counts["old_code"].isin(weights["old_code"])
    moved = carry(old_counts[known], weights, value)
    by = by or [c for c in old_counts.columns if c not in ("old_code", value)]
    summed = moved.groupby(by + ["new_code"], as_index=False, sort=True)[value].sum()
    return summed, old_counts[~known].reset_index(drop=True)


def carry(counts: pd.DataFrame, weights: pd.DataFrame, value: str = "departures") -> pd.DataFrame:
    """Divide each row's integer ``value`` over the new communes of its ``old_code`` by ``weight``,
    exactly (each row's value is conserved, so every total and breakdown is too) and so that every
    new commune's total over each calendar year (of ``month``; one period without it) is within one
    person of its weighted share, and its running total from the first year as close to it as those
    bounds allow.

    Rounding each small cell on its own gives the leftover person of a cell to the largest share
    every time, which starves a commune that received a small share of a split. Instead, per year,
    (1) the integer totals of each (old, new) pair of a split old commune are chosen by a small
    integer programme (:func:`scipy.optimize.milp`): each old commune's year total is kept, each
    pair and each new commune stays between the floor and the ceiling of its weighted share
    (feasible: the bipartite constraint matrix is totally unimodular and the weighted shares are a
    fractional solution), minimising the running totals' distance to theirs; (2) each old commune's
    people of the year are handed out to its new communes in time order by largest running deficit
    against those pair totals, which ends on them exactly.
    """
    rows = counts.reset_index(drop=True)
    targets = weights.groupby("old_code")["new_code"].transform("size")
    whole = rows[rows[value] > 0].merge(weights.loc[targets == 1, ["old_code", "new_code"]], on="old_code",
                                        how="inner")
    split_w = weights.loc[targets > 1, ["old_code", "new_code", "weight"]]
    split = rows[rows["old_code"].isin(split_w["old_code"]) & (rows[value] > 0)]
    keep = [c for c in rows.columns if c != "old_code"]
    if split.empty:
        return whole[["new_code"] + keep].reset_index(drop=True)
    year = (pd.to_datetime(split["month"]).dt.year if "month" in split else pd.Series(0, index=split.index))
    order = [c for c in ("month",) if c in split] + ["old_code"] + [c for c in keep if c not in ("month", value)]
    split = split.assign(_year=year.to_numpy()).sort_values(order, kind="mergesort")
    running: dict[str, float] = {}
    parts: list[pd.DataFrame] = []
    for _, rows_y in split.groupby("_year", sort=True):
        totals = rows_y.groupby("old_code")[value].sum()
        pairs = split_w[split_w["old_code"].isin(totals.index)].reset_index(drop=True)
        pairs["share"] = pairs["old_code"].map(totals).to_numpy(float) * pairs["weight"].to_numpy(float)
        pairs["total"] = _pair_totals(pairs, totals, running)
        for code, got, share in zip(pairs["new_code"], pairs["total"], pairs["share"]):
            running[code] = running.get(code, 0.0) + share - got
        parts.append(_hand_out(rows_y, pairs, value))
    moved = pd.concat(parts, ignore_index=True)
    return pd.concat([whole[["new_code"] + keep], moved[["new_code"] + keep]], ignore_index=True)


def _pair_totals(pairs: pd.DataFrame, totals: pd.Series, running: dict[str, float]) -> np.ndarray:
    """Integer total of each (old, new) pair of one year (see :func:`carry`, step 1).

    ``running[new]`` is what a new commune is owed from the years before (weighted share minus
    people carried); the objective minimises Σ |owed + share - carried| over the new communes."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    n = len(pairs)
    share = pairs["share"].to_numpy(float)
    olds, old_idx = np.unique(pairs["old_code"].to_numpy(), return_inverse=True)
    news, new_idx = np.unique(pairs["new_code"].to_numpy(), return_inverse=True)
    m = len(news)
    new_share = np.bincount(new_idx, weights=share, minlength=m)
    owed = np.array([running.get(c, 0.0) for c in news])
    eps = 1e-9
    cols = np.arange(n)
    keep_old = coo_matrix((np.ones(n), (old_idx, cols)), shape=(len(olds), n + m))
    per_new = coo_matrix((np.ones(n), (new_idx, cols)), shape=(m, n + m))
    slack = coo_matrix((np.ones(m), (np.arange(m), n + np.arange(m))), shape=(m, n + m))
    constraints = [
        LinearConstraint(keep_old, totals.loc[olds].to_numpy(float), totals.loc[olds].to_numpy(float)),
        LinearConstraint(per_new, np.floor(new_share + eps), np.ceil(new_share - eps)),
        LinearConstraint(per_new + slack, owed + new_share, np.inf),    # t ≥ owed + share - carried
        LinearConstraint(slack - per_new, -(owed + new_share), np.inf),  # t ≥ carried - owed - share
    ]
    lower = np.concatenate([np.floor(share + eps), np.zeros(m)])
    upper = np.concatenate([np.ceil(share - eps), np.full(m, np.inf)])
    result = milp(np.concatenate([np.zeros(n), np.ones(m)]), constraints=constraints,
                  integrality=np.concatenate([np.ones(n), np.zeros(m)]), bounds=Bounds(lower, upper))
    if not result.success:  # cannot happen (see carry); the plain rounding keeps totals exact anyway
        raise RuntimeError(f"controlled rounding failed: {result.message}")
    return np.round(result.x[:n]).astype(np.int64)


def _hand_out(rows: pd.DataFrame, pairs: pd.DataFrame, value: str) -> pd.DataFrame:
    """Each person of ``rows`` (in their order) to a new commune of its old commune, the one
    furthest behind its share of the pair totals; every pair ends on its total exactly."""
    out_rows: list[int] = []
    out_codes: list[str] = []
    out_values: list[int] = []
    by_old = {code: (g["new_code"].to_numpy(), g["total"].to_numpy(np.int64)) for code, g in pairs.groupby("old_code")}
    for code, group in rows.groupby("old_code", sort=False):
        new, total = by_old[code]
        quota = total / max(1, int(total.sum()))
        given = np.zeros(len(new), dtype=np.int64)
        done = 0
        for index, v in zip(group.index, group[value].to_numpy(np.int64)):
            cell = np.zeros(len(new), dtype=np.int64)
            for _ in range(int(v)):
                done += 1
                owed = quota * done - given
                owed[given >= total] = -np.inf
                j = int(np.argmax(owed))
                given[j] += 1
                cell[j] += 1
            for k in np.flatnonzero(cell):
                out_rows.append(index)
                out_codes.append(str(new[k]))
                out_values.append(int(cell[k]))
    out = rows.loc[out_rows].reset_index(drop=True)
    out["new_code"] = out_codes
    out[value] = out_values
    return out


def inverse_weights(weights: pd.DataFrame) -> pd.DataFrame:
    """Share of each new commune that came from each old commune (for making old-unit demo data)."""
    inv = weights[["new_code", "old_code", "weight"]].copy()
    inv["share"] = inv["weight"] / inv.groupby("new_code")["weight"].transform("sum")
    return inv[["new_code", "old_code", "share"]]


def old_commune_shapes(c2010: gpd.GeoDataFrame, changes: pd.DataFrame | None,
                       old_codes: set[str]) -> gpd.GeoDataFrame:
    """Polygons of the pre-2025 communes, from the c.2010 layer carried to 2024 codes.

    A c.2010 commune with a 2021 code is renamed through GSO's 2019→2024 change table; communes
    merged in between are dissolved into the surviving code. Codes without any polygon are absent.
    """
    gdf = c2010[c2010["commune_code_2021"].notna()][["commune_code_2021", "geometry"]].copy()
    gdf["code"] = gdf["commune_code_2021"].astype(str).str.zfill(5)
    if changes is not None:
        mapping = dict(zip(changes["commune_code_2019"].astype(str).str.zfill(5),
                           changes["commune_code_2024"].astype(str).str.zfill(5)))
        gdf["code"] = gdf["code"].map(lambda c: mapping.get(c, c))
    gdf = gdf[gdf["code"].isin(old_codes)]
    merged = gdf.groupby("code")["geometry"].agg(lambda g: shapely.union_all(g.to_numpy()))
    return gpd.GeoDataFrame({"code": merged.index}, geometry=shapely.make_valid(merged.to_numpy()), crs=4326)



REFORM_DATE = pd.Timestamp("2025-07-01")
BREAKDOWN = ["month", "market", "sex", "channel", "priority_group"]


def demo_history(departures: pd.DataFrame, weights: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make demo data before the reform look as it was reported: on old units, then re-based.

    The generator works on today's communes. For months before July 2025 its counts are spread
    back over the old communes that formed each new commune (the "reported" data), then carried
    forward again through the crosswalk, exactly as real historical reports would be. Returns
    (departures on new units for every month, departures on old units before the reform).

    Island districts that had no communes are old units of their own (:data:`ISLAND_DISTRICT`),
    so every pre-reform figure has a unit of the time and the totals on both sides match exactly.
    A new commune that no crosswalk row feeds keeps its figures only on the new units.
    """
    months = pd.to_datetime(departures["month"])
    fed = departures["commune_code"].isin(weights["new_code"])
    before = departures[(months < REFORM_DATE) & fed].rename(columns={"commune_code": "new_code"})
    after = departures[(months >= REFORM_DATE) | ~fed]
    old = divide(before, "new_code", inverse_weights(weights), "old_code", "departures", share="share")
    old = old.groupby(BREAKDOWN + ["old_code"], as_index=False)["departures"].sum()
    rebased, unmapped = rebase(old, weights, by=BREAKDOWN)
    assert unmapped.empty  # every old commune here came from the crosswalk itself
    rebased = rebased.rename(columns={"new_code": "commune_code"})
    rebased["is_demo"] = True
    old_rows = old.rename(columns={"old_code": "old_commune_code"})
    old_rows["is_demo"] = True
    return pd.concat([rebased, after], ignore_index=True)[departures.columns], old_rows
