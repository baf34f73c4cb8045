"""Reporting completeness: which commune sent which monthly report, on time, late, or not at all.

Every monthly report a commune sends (departures, job fairs, loans/problems) leaves a *receipt* in
``report_receipts``: the commune, the month it covers, the kind, the day it was received and
whether it changed the stored figures. A real import writes one receipt per commune-month it covers,
dated the import's day (:func:`record_import`, called inside the import's transaction); the demo
generator writes a seeded reporting history (:func:`generate_demo`, rows flagged ``is_demo``: most
communes on time, some a few days late, a few not yet), so statuses are computed the same way for
both. A report is due on ``report_due_day`` of the next month (:func:`periods.due_date`).

Status of a commune × month × kind, from its receipts (real receipts replace the demo history of
that cell): *not_due* before the due day with nothing received, *missing* after it ("chưa báo
cáo", never 0), *on_time* / *late* by the first receipt's day (late by whole days after the due
day), *corrected* when a later receipt changed the figures again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import periods, queries

REPORTING_START = dt.date(2025, 7, 1)
"""First month reported by today's communes (the 1 July 2025 reform); earlier months are not graded."""
KINDS: dict[str, str] = {"departures": "Số người xuất cảnh", "job_fairs": "Sàn việc làm",
                         "loans": "Vay vốn, về nước, vi phạm"}
IMPORT_KINDS: dict[str, str] = {"departures": "departures", "register": "departures",
                                "job_fairs": "job_fairs", "loans": "loans"}
"""Import kind → report kind it counts as received (a worker register is a departures report)."""
STATUS: dict[str, str] = {"on_time": "Đúng hạn", "late": "Trễ hạn", "corrected": "Đã sửa",
                          "missing": "Chưa báo cáo", "not_due": "Chưa đến hạn"}
MISSING_TEXT = "chưa báo cáo"





def record_import(con: duckdb.DuckDBPyConnection, import_kind: str, scopes: pd.DataFrame, import_id: int,
                  today: dt.date, at: dt.datetime | None = None) -> int:
    """Write one receipt per commune-month of an import (the caller holds its transaction).

    ``scopes`` has ``month`` and ``commune_code`` of every accepted row; a commune-month counts as
    changed when the import logged a change for it in ``import_changes``. Returns the receipts written.
    """
    kind = IMPORT_KINDS.get(import_kind)
    if kind is None or scopes.empty or "month" not in scopes:
        return 0
    cells = scopes[["month", "commune_code"]].dropna().copy()
    cells["month"] = pd.to_datetime(cells["month"]).dt.date
    cells = cells.drop_duplicates().reset_index(drop=True)
    if cells.empty:
        return 0
    now = at or dt.datetime.combine(today, dt.datetime.now().time())
    changed = db.run(con, "receipt_changes", """
        SELECT DISTINCT period, unit_code FROM import_changes WHERE import_id = $id""", {"id": int(import_id)})
    keys = set(zip(changed["period"], changed["unit_code"]))
    cells["changed"] = [(f"{m:%Y-%m}", c) in keys for m, c in zip(cells["month"], cells["commune_code"])]
    rows = cells.assign(kind=kind, received_on=today, received_at=now, import_id=int(import_id), is_demo=False)
    with db.registered(con, "receipts_in", rows):
        db.execute(con, "receipts_insert", "INSERT INTO report_receipts BY NAME SELECT * FROM receipts_in")
    return len(rows)


def generate_demo(communes: pd.Series, seed: int, today: dt.date, due_day: int) -> pd.DataFrame:
    """A seeded reporting history from :data:`REPORTING_START` to ``today``, flagged ``is_demo``.

    Each commune has its own habit (most report a few days early, some are chronically late); each
    month adds noise and each kind a day or two more. Receipts dated after ``today`` are dropped, so
    recent months hold the reports *not yet* received (missing once due), and about 1% of reports
    never come. About 4% of received reports are corrected a few days later.
    """
    rng = np.random.default_rng(seed + 16)
    codes = np.sort(np.asarray(communes, dtype=str))
    months = pd.date_range(REPORTING_START, dt.date(today.year, today.month, 1), freq="MS").date
    if not len(codes) or not len(months):
        return pd.DataFrame(columns=["kind", "month", "commune_code", "received_on", "received_at", "import_id",
                                     "changed", "is_demo"])
    habit = np.where(rng.random(len(codes)) < 0.15, rng.uniform(2, 9, len(codes)), rng.uniform(-4, -0.5, len(codes)))
    frames = []
    for kind_index, kind in enumerate(KINDS):
        for month in months:
            due = periods.due_date(month.year, month.month, due_day)
            offset = habit + rng.normal(0, 1.5, len(codes)) + kind_index * rng.uniform(0, 1.5, len(codes))
            offset = np.where(rng.random(len(codes)) < 0.05, offset + rng.uniform(5, 25, len(codes)), offset)
            days = np.clip(np.round(offset), -(due.day - 1), None).astype(int)
            received = np.array([due + dt.timedelta(days=int(d)) for d in days])
            keep = (received <= today) & (rng.random(len(codes)) >= 0.01)
            at = [dt.datetime.combine(r, dt.time(8 + int(h), int(mi))) for r, h, mi in
                  zip(received[keep], rng.integers(0, 9, keep.sum()), rng.integers(0, 60, keep.sum()))]
            frames.append(pd.DataFrame({"kind": kind, "month": month, "commune_code": codes[keep],
                                        "received_on": received[keep], "received_at": at, "changed": True}))
            fix = keep & (rng.random(len(codes)) < 0.04)
            later = np.array([r + dt.timedelta(days=int(x)) for r, x in
                              zip(received[fix], rng.integers(3, 20, int(fix.sum())))], dtype=object)
            ok = np.array([d <= today for d in later], dtype=bool)
            if ok.any():
                frames.append(pd.DataFrame({"kind": kind, "month": month, "commune_code": codes[fix][ok],
                                            "received_on": later[ok],
                                            "received_at": [dt.datetime.combine(d, dt.time(15, 0)) for d in later[ok]],
                                            "changed": True}))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True)
    out["import_id"] = pd.array([None] * len(out), dtype="Int64")
    out["is_demo"] = True
    return out


def write_demo(con: duckdb.DuckDBPyConnection, receipts: pd.DataFrame) -> None:
    """Replace the demo reporting history (real receipts are kept)."""
    db.execute(con, "receipts_clear_demo", "DELETE FROM report_receipts WHERE is_demo")
    with db.registered(con, "demo_receipts", receipts):
        db.execute(con, "receipts_demo_insert", "INSERT INTO report_receipts BY NAME SELECT * FROM demo_receipts")


def cells(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, today: dt.date, due_day: int,
          province: str | None = None, kinds: tuple[str, ...] = tuple(KINDS)) -> pd.DataFrame:
    """Status of every commune × month (``start``..``end``, first days) × kind.

    Columns: province_code, commune_code, commune_name, month, kind, due, received_on, days_late,
    corrected, status. Months before :data:`REPORTING_START` are left out.
    """
    queries.check_code("tỉnh", province, 2)
    for k in kinds:
        queries.check_choice("loại báo cáo", k, KINDS)
    start = max(start, REPORTING_START)
    if end < start:
        return pd.DataFrame(columns=["province_code", "commune_code", "commune_name", "month", "kind", "due",
                                     "received_on", "days_late", "corrected", "status"])
    months = pd.date_range(start, end, freq="MS").date
    due = pd.DataFrame({"month": months, "due": [periods.due_date(m.year, m.month, due_day) for m in months]})
    with db.registered(con, "completeness_due", due):
        out = db.run(con, "completeness_cells", """
            WITH r AS (
                SELECT *, bool_or(NOT is_demo) OVER (PARTITION BY kind, month, commune_code) AS has_real
                FROM report_receipts
                WHERE month BETWEEN $start AND $end AND list_contains($kinds, kind) AND received_on <= $today
            ), chosen AS (
                SELECT *, min(received_at) OVER (PARTITION BY kind, month, commune_code) AS first_at
                FROM r WHERE NOT (has_real AND is_demo)
            ), agg AS (
                SELECT kind, month, commune_code, min(received_on) AS received_on,
                       count(*) FILTER (WHERE changed AND received_at > first_at) AS corrections
                FROM chosen GROUP BY ALL
            )
            SELECT c.province_code, c.commune_code, c.commune_name, d.month, k.kind, d.due, a.received_on,
                   CASE WHEN a.received_on IS NOT NULL THEN greatest(0, date_diff('day', d.due, a.received_on))
                   END AS days_late,
                   COALESCE(a.corrections, 0) > 0 AS corrected,
                   CASE WHEN a.received_on IS NULL AND d.due > $today THEN 'not_due'
                        WHEN a.received_on IS NULL THEN 'missing'
                        WHEN a.corrections > 0 THEN 'corrected'
                        WHEN a.received_on <= d.due THEN 'on_time' ELSE 'late' END AS status
            FROM v_communes c CROSS JOIN completeness_due d CROSS JOIN (SELECT unnest($kinds) AS kind) k
            LEFT JOIN agg a ON a.kind = k.kind AND a.month = d.month AND a.commune_code = c.commune_code
            WHERE $province IS NULL OR c.province_code = $province
            ORDER BY c.province_code, c.commune_code, d.month, k.kind""",
                     {"start": start, "end": end, "today": today, "kinds": list(kinds), "province": province})
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out["due"] = pd.to_datetime(out["due"]).dt.date
    out["days_late"] = out["days_late"].astype("Int64")
    return out


def status_text(status: str, days_late: Any) -> str:
    """A cell as people read it: 'Đúng hạn', 'Trễ 3 ngày', 'Đã sửa (trễ 3 ngày)', 'chưa báo cáo'."""
    late = int(days_late) if days_late is not None and not pd.isna(days_late) else 0
    if status == "missing":
        return MISSING_TEXT
    if status == "not_due":
        return "chưa đến hạn"
    if status == "corrected":
        return "Đã sửa (đúng hạn)" if late == 0 else f"Đã sửa (trễ {late} ngày)"
    return "Đúng hạn" if status == "on_time" else f"Trễ {late} ngày"


@dataclass(frozen=True)
class Shares:
    """Reports due in a selection and how many were received, and on time (None when none were due)."""

    due: int
    received: int
    on_time: int

    @property
    def received_pct(self) -> float | None:
        """Share of due reports received."""
        return round(100.0 * self.received / self.due, 1) if self.due else None

    @property
    def on_time_pct(self) -> float | None:
        """Share of due reports received by their due day."""
        return round(100.0 * self.on_time / self.due, 1) if self.due else None


def shares(table: pd.DataFrame) -> Shares:
    """Counts of :func:`cells` rows whose report was due."""
    return _counted(table["status"].to_numpy(), table["days_late"].fillna(0).to_numpy())


def _counted(status: np.ndarray, days_late: np.ndarray) -> Shares:
    """Due, received and on-time counts of cells given their status and days late (0 where none)."""
    due = status != "not_due"
    received = due & (status != "missing")
    return Shares(int(due.sum()), int(received.sum()), int((received & (days_late == 0)).sum()))


def by_unit(table: pd.DataFrame, level: str) -> pd.DataFrame:
    """Shares per commune (``level='commune'``) or province: due, received, on time, late, missing, %."""
    key = "commune_code" if level == "commune" else "province_code"
    due = table[table["status"] != "not_due"].copy()
    due["received"] = due["status"] != "missing"
    due["on_time"] = due["received"] & (due["days_late"].fillna(0) == 0)
    due["late"] = due["received"] & ~due["on_time"]
    due["missing"] = ~due["received"]
    due["corrected"] = due["status"] == "corrected"
    out = due.groupby(key, as_index=False).agg(due=("status", "size"), received=("received", "sum"),
                                               on_time=("on_time", "sum"), late=("late", "sum"),
                                               missing=("missing", "sum"), corrected=("corrected", "sum"),
                                               max_late=("days_late", "max"))
    out["received_pct"] = (100.0 * out["received"] / out["due"]).round(1)
    out["on_time_pct"] = (100.0 * out["on_time"] / out["due"]).round(1)
    if level == "commune":
        names = table.drop_duplicates("commune_code").set_index("commune_code")[["commune_name", "province_code"]]
        out = out.join(names, on="commune_code")
    return out.rename(columns={key: "unit_code"})


def period_shares(con: duckdb.DuckDBPyConnection, year: int, month: int, today: dt.date, due_day: int,
                  province: str | None = None, commune: str | None = None,
                  kinds: tuple[str, ...] = tuple(KINDS)) -> Shares:
    """Reports of January..``month`` of ``year`` due by ``today``: due, received, on time (the overview)."""
    table = cells(con, dt.date(int(year), 1, 1), dt.date(int(year), int(month), 1), today, due_day, province,
                  kinds)
    return selection_shares(table, int(year), int(month), province, commune)


def selection_shares(table: pd.DataFrame, year: int, month: int, province: str | None = None,
                     commune: str | None = None) -> Shares:
    """:func:`shares` of the rows of a :func:`cells` table in January..``month`` of ``year`` and in the
    selection: the overview takes one national table per year (shared across requests, see
    :mod:`xkld_geo.database.cache`) and cuts each request's part out of it instead of querying again."""
    keep = np.asarray(table["month"] <= dt.date(year, month, 1), dtype=bool)
    if province is not None:
        keep &= np.asarray(table["province_code"] == province, dtype=bool)
    if commune is not None:
        keep &= np.asarray(table["commune_code"] == commune, dtype=bool)
    return _counted(table["status"].to_numpy()[keep], table["days_late"].fillna(0).to_numpy()[keep])


CHASE_COLUMNS = ("Mã", "Tên", "Số báo cáo còn thiếu", "Loại báo cáo còn thiếu", "Từ tháng",
                 "Phó Chủ tịch phụ trách", "Cán bộ phụ trách", "Điện thoại")
"""The list of communes to chase: a count, then which kinds of report (a list), since when, who."""
MAP_CLASSES = "on_time"
"""The map's fixed classes of the share of reports received on time (:data:`xkld_geo.maps.LEGENDS`)."""


def missing_kinds(kinds: pd.Series) -> str:
    """The kinds of missing report, each once, in the order of :data:`KINDS`, separated by semicolons
    (a kind's own name has commas: 'Vay vốn, về nước, vi phạm')."""
    present = set(kinds)
    return "; ".join(label for key, label in KINDS.items() if key in present)


@dataclass(frozen=True)
class View:
    """The completeness page: shares, per-unit table, map values, calendar and who to chase."""

    title: str
    shares: Shares
    units: pd.DataFrame          # per province (national) or per commune: Vietnamese columns
    map_values: pd.Series        # unit code -> share on time (%), NaN where nothing was due
    calendar: pd.DataFrame       # commune x month (one kind): status texts ('chưa báo cáo' where missing)
    chase: pd.DataFrame          # communes with missing reports: what, since when, who, phone
    demo: bool


APPROVAL_COLUMNS = {"submitted": "Chờ duyệt", "returned": "Bị trả lại", "approved": "Đã phê duyệt"}
"""Commune-months by approval state (forms and imports alike), as the completeness table shows them."""


def approval_states(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                    level: str) -> pd.DataFrame:
    """Per province (or per commune of ``province``): commune-months of January..``month`` by
    approval state (:mod:`xkld_geo.reporting.approval`), columns :data:`APPROVAL_COLUMNS`."""
    df = db.run(con, "completeness_approval", """
        SELECT CASE WHEN $level = 'province' THEN c.province_code ELSE m.commune_code END AS unit_code, m.state,
               count(*) AS n
        FROM commune_months m JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE m.month BETWEEN make_date($y, 1, 1) AND make_date($y, $m, 1) AND ($p IS NULL OR c.province_code = $p)
        GROUP BY ALL""", {"level": level, "y": int(year), "m": int(month), "p": province})
    table = df.pivot_table(index="unit_code", columns="state", values="n", aggfunc="sum", fill_value=0)
    return table.reindex(columns=list(APPROVAL_COLUMNS), fill_value=0).rename(columns=APPROVAL_COLUMNS).astype(int)


def build_view(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None, kind: str,
               today: dt.date, due_day: int) -> View:
    """Everything the completeness page shows for January..``month`` of ``year``."""
    from xkld_geo.reporting import people  # people in charge: internal, joined only here and in the official report

    queries.check_choice("loại báo cáo", kind, KINDS)
    table = cells(con, dt.date(int(year), 1, 1), dt.date(int(year), int(month), 1), today, due_day, province)
    is_demo = queries.meta(con).get("contains_demo") == "true"
    level = "province" if province is None else "commune"
    units = by_unit(table, level)
    if level == "province":
        names = dict(zip(*queries.provinces(con)[["code", "name"]].to_numpy().T))
        units.insert(1, "unit_name", units["unit_code"].map(names))
    else:
        units = units[["unit_code", "commune_name", *[c for c in units.columns if c not in
                                                      ("unit_code", "commune_name", "province_code")]]]
        units = units.rename(columns={"commune_name": "unit_name"})
    units = units.join(approval_states(con, year, month, province, level), on="unit_code").fillna(
        {c: 0 for c in APPROVAL_COLUMNS.values()})
    shown = units.rename(columns={"unit_code": "Mã", "unit_name": "Tên", "due": "Báo cáo đến hạn",
                                  "received": "Đã nhận", "on_time": "Đúng hạn", "late": "Trễ hạn",
                                  "missing": "Chưa báo cáo", "corrected": "Đã sửa", "max_late": "Trễ nhiều nhất (ngày)",
                                  "received_pct": "Tỷ lệ đã nhận (%)", "on_time_pct": "Tỷ lệ đúng hạn (%)"})
    one = table[table["kind"] == kind].copy()
    one["text"] = [status_text(s, d) for s, d in zip(one["status"], one["days_late"])]
    one["col"] = [f"T{m.month}" for m in one["month"]]
    calendar = pd.DataFrame(columns=["Mã", "Tên"])
    if province is not None and len(one):
        calendar = one.pivot_table(index=["commune_code", "commune_name"], columns="col", values="text",
                                   aggfunc="first", sort=False)
        calendar = calendar[[f"T{m}" for m in range(1, 13) if f"T{m}" in calendar.columns]]
        calendar = calendar.reset_index().rename(columns={"commune_code": "Mã", "commune_name": "Tên"})
    missing = table[table["status"] == "missing"]
    chase = pd.DataFrame(columns=list(CHASE_COLUMNS))
    if len(missing):
        grouped = missing.groupby(["commune_code", "commune_name"], as_index=False).agg(
            n=("kind", "size"), first=("month", "min"), what=("kind", lambda s: missing_kinds(s)))
        who = people.contacts(con, province)
        grouped = grouped.join(who, on="commune_code")
        # most reports missing first, then the longest missing, then by code (never on the text)
        grouped = grouped.sort_values(["n", "first", "commune_code"], ascending=[False, True, True])
        chase = pd.DataFrame({"Mã": grouped["commune_code"], "Tên": grouped["commune_name"],
                              "Số báo cáo còn thiếu": grouped["n"].astype(int),
                              "Loại báo cáo còn thiếu": grouped["what"],
                              "Từ tháng": [f"{m.month}/{m.year}" for m in grouped["first"]],
                              "Phó Chủ tịch phụ trách": grouped.get("vice_chair"),
                              "Cán bộ phụ trách": grouped.get("officer"), "Điện thoại": grouped.get("phone")})
        chase = chase.reset_index(drop=True)
    place = "cả nước" if province is None else str(queries.unit(con, province)["name"].iloc[0])
    title = f"Tình hình báo cáo tháng 1–{month}/{year}, {place} (hạn: ngày {due_day} tháng sau)"
    return View(title, shares(table), shown, units.set_index("unit_code")["on_time_pct"], calendar, chase, is_demo)
