"""Early warning: clusters of fraud reports and of contract breaches / illegal stay, by commune and
month and by licensed company and month, flagged when they exceed what the unit's own history
predicts.

*The model* (Poisson–Gamma, stated once in :data:`METHOD`). A unit's monthly count of a kind is
Poisson with a rate of its own. The rate is estimated from the unit's previous
:data:`BASELINE_MONTHS` months, shrunk towards the rate of all units of its kind (a Gamma prior
worth :data:`PRIOR_MONTHS` months), so a commune with a quiet record and a company with no record
are judged against the country's usual rate, not against zero. The month checked is compared with
the predictive distribution (negative binomial): it raises an alarm when a count at least that high
had a probability below :data:`FALSE_ALARM` (0.1 %) and is at least :data:`MIN_COUNT`. Under the
model, a unit without a real cluster raises a false alarm in at most 0.1 % of unit-months: about
:data:`FALSE_ALARM` × communes × 2 kinds × :data:`CHECKED_MONTHS` alarms over the country, by chance.

*The data.* Commune counts are the monthly problem counts (:mod:`xkld_geo.protection.problems`: the
register of cases from the month a province began keeping it, the imported monthly figures
before); company counts are the register's cases with a licence number. The last
:data:`CHECKED_MONTHS` months up to today are checked (the month in progress with its days so
far). Every commune-level output goes through a filter of province and communes (an account's
scope).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from xkld_geo.database import cache, db
from xkld_geo.figures import queries
from xkld_geo.protection import problems

FALSE_ALARM = 0.001
"""Probability below which a month's count raises an alarm (the false-alarm rate per unit-month)."""
MIN_COUNT = 3
"""No alarm for fewer cases than this in a month, however quiet the record."""
BASELINE_MONTHS = 24
PRIOR_MONTHS = 6.0
CHECKED_MONTHS = 3
RECORD_MONTHS = 24
"""Months before the checked ones on which the model's record is counted (:func:`record`)."""
KINDS = {"fraud": "Phản ánh lừa đảo", "breach": "Vi phạm hợp đồng / cư trú bất hợp pháp"}
SOURCES = {"commune": "xã/phường", "company": "doanh nghiệp"}

def _pct(p: float) -> str:
    return f"{100 * p:g}%".replace(".", ",")


METHOD = (f"Mô hình Poisson–Gamma: số vụ mỗi tháng của từng xã (và từng doanh nghiệp) được so với mức thường thấy "
          f"trong {BASELINE_MONTHS} tháng trước của chính đơn vị đó, kéo về mức chung của cả nước ({PRIOR_MONTHS:g} "
          f"tháng trọng số); cảnh báo khi có từ {MIN_COUNT} vụ trở lên và xác suất gặp số vụ cao như vậy do ngẫu "
          f"nhiên dưới {_pct(FALSE_ALARM)} (tỷ lệ báo động giả đã định: tối đa {_pct(FALSE_ALARM)} số đơn vị-tháng "
          "không có cụm thật).")
DATA = (f"Dữ liệu: số phản ánh lừa đảo và vi phạm hợp đồng / cư trú bất hợp pháp hằng tháng của từng xã "
        f"(sổ vụ việc, hoặc số tổng hợp đã nhập trước khi tỉnh dùng sổ) và các vụ việc ghi số giấy phép doanh "
        f"nghiệp; xét {CHECKED_MONTHS} tháng gần nhất.")


@dataclass(frozen=True)
class Alarm:
    """One alarm, with the sentence a digest or a page shows."""

    source: str          # commune | company
    kind: str            # fraud | breach
    unit_code: str
    unit_name: str
    province_code: str   # the commune's province; for a company, the provinces of its cases (comma-joined)
    month: dt.date
    observed: int
    expected: float
    p_value: float

    @property
    def text(self) -> str:
        """The alarm in Vietnamese."""
        p = f"{self.p_value:.2%}".replace(".", ",") if self.p_value >= 0.0001 else "dưới 0,01%"
        expected = f"{self.expected:.1f}".replace(".", ",")
        return (f"{KINDS[self.kind]} tại {SOURCES[self.source]} {self.unit_name}, tháng {self.month:%m/%Y}: "
                f"{self.observed} vụ, trong khi lịch sử cho thấy khoảng {expected} vụ (xác suất ngẫu nhiên {p}).")


def _commune_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return db.run(con, "alarm_commune_counts", f"""
        SELECT m.commune_code AS unit_code, c.commune_name AS unit_name, c.province_code, m.month,
               CAST(m.fraud_reports AS DOUBLE) AS fraud, CAST(m.breaches AS DOUBLE) AS breach
        FROM ({problems.MONTHLY_SQL}) m JOIN v_communes c ON c.commune_code = m.commune_code""")


def _shared_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`_commune_counts`, once per data version (read only: the alarms and their record)."""
    return cache.scope(con).get("alarm_commune_counts", _commune_counts, copy=False)


def _company_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return db.run(con, "alarm_company_counts", """
        SELECT k.licence_no AS unit_code, COALESCE(any_value(l.name), k.licence_no) AS unit_name,
               string_agg(DISTINCT c.province_code, ',' ORDER BY c.province_code) AS province_code,
               CAST(date_trunc('month', k.opened_on) AS DATE) AS month,
               CAST(count(*) FILTER (WHERE k.kind = 'fraud') AS DOUBLE) AS fraud,
               CAST(count(*) FILTER (WHERE k.kind IN ('contract_breach', 'illegal_stay')) AS DOUBLE) AS breach
        FROM cases k JOIN v_communes c ON c.commune_code = k.commune_code
        LEFT JOIN licensed_companies l ON l.licence_no = k.licence_no
        WHERE k.licence_no IS NOT NULL GROUP BY k.licence_no, 4""")


def flag(counts: pd.DataFrame, months: list[pd.Timestamp], source: str) -> pd.DataFrame:
    """The alarms of ``counts`` (unit_code, unit_name, province_code, month, fraud, breach) in
    ``months``: one row per unit, kind and month with its count, expectation and probability."""
    cols = ["source", "kind", "unit_code", "unit_name", "province_code", "month", "observed", "expected", "p_value"]
    if counts.empty or not months:
        return pd.DataFrame(columns=cols)
    stamp = pd.to_datetime(counts["month"])
    index = (stamp.dt.year * 12 + stamp.dt.month - 1).to_numpy()        # months since year 0
    wanted = [m.year * 12 + m.month - 1 for m in months]
    first = min(int(index.min()), wanted[0] - BASELINE_MONTHS)
    width = wanted[-1] - first + 1
    units = counts.drop_duplicates("unit_code").set_index("unit_code")
    codes = units.index.to_numpy()
    row = pd.Index(codes).get_indexer(counts["unit_code"])
    col = index - first
    keep = col < width
    out = []
    for kind in KINDS:
        x = np.zeros((len(codes), width))
        np.add.at(x, (row[keep], col[keep]), counts[kind].to_numpy(float)[keep])
        for month, wanted_month in zip(months, wanted):
            t = wanted_month - first
            lo = max(0, t - BASELINE_MONTHS)
            base, n = x[:, lo:t].sum(1), t - lo
            rate = base.sum() / max(1, len(codes) * n)
            alpha, beta = rate * PRIOR_MONTHS + base, PRIOR_MONTHS + n
            seen = x[:, t]
            p = np.ones(len(codes))
            ok = (seen >= MIN_COUNT) & (alpha > 0)
            p[ok] = stats.nbinom.sf(seen[ok] - 1, alpha[ok], beta / (beta + 1.0))
            p[(seen >= MIN_COUNT) & (alpha <= 0)] = 0.0     # nothing ever seen anywhere: any cluster is new
            hit = (seen >= MIN_COUNT) & (p < FALSE_ALARM)
            for i in np.flatnonzero(hit):
                u = units.iloc[i]
                out.append((source, kind, codes[i], u["unit_name"], u["province_code"], month.date(), int(seen[i]),
                            float(alpha[i] / beta), float(p[i])))
    return pd.DataFrame(out, columns=cols)


def checked_months(today: dt.date) -> list[pd.Timestamp]:
    """The :data:`CHECKED_MONTHS` months up to ``today``'s, oldest first."""
    now = pd.Timestamp(today).to_period("M")
    return [(now - k).to_timestamp() for k in range(CHECKED_MONTHS - 1, -1, -1)]


def national(con: duckdb.DuckDBPyConnection, today: dt.date) -> pd.DataFrame:
    """Every alarm of the country (communes and companies), most significant first."""
    months = checked_months(today)
    parts = [flag(_shared_counts(con), months, "commune"), flag(_company_counts(con), months, "company")]
    found = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    return found.sort_values(["p_value", "month", "unit_code"]).reset_index(drop=True)


@dataclass(frozen=True)
class Record:
    """How often the model raised an alarm on the communes in the months before the checked ones."""

    months: int      # months replayed
    checked: int     # commune-months × kinds judged
    flagged: int     # alarms raised

    @property
    def text(self) -> str:
        """The record in Vietnamese."""
        if not self.checked:
            return "Chưa đủ số liệu các tháng trước để đếm số lần mô hình đã cảnh báo."
        rate = f"{100 * self.flagged / self.checked:.2f}%".replace(".", ",")
        checked = f"{self.checked:,}".replace(",", ".")
        return (f"Chạy lại trên {self.months} tháng trước đó: mô hình đã cảnh báo {self.flagged} lần trên {checked} "
                f"lượt xét xã-tháng ({rate}), so với mức báo động giả đã định tối đa {_pct(FALSE_ALARM)}.")


def record(con: duckdb.DuckDBPyConnection, today: dt.date) -> Record:
    """The model replayed on the communes over the :data:`RECORD_MONTHS` months before the checked
    ones (those with at least a year of data before them): how many unit-months it judged and how
    many it flagged. Where the data hold no real cluster, this is its false-alarm rate."""
    counts = _shared_counts(con)
    if counts.empty:
        return Record(0, 0, 0)
    start = pd.to_datetime(counts["month"]).min().to_period("M") + 12
    now = pd.Timestamp(today).to_period("M")
    months = [(now - k).to_timestamp() for k in range(CHECKED_MONTHS + RECORD_MONTHS - 1, CHECKED_MONTHS - 1, -1)
              if now - k >= start]
    found = flag(counts, months, "commune")
    return Record(len(months), counts["unit_code"].nunique() * len(KINDS) * len(months), len(found))


def shared_record(con: duckdb.DuckDBPyConnection, today: dt.date) -> Record:
    """:func:`record`, once per data version."""
    return cache.scope(con).get("alarms_record", record, today)


def current(con: duckdb.DuckDBPyConnection, today: dt.date, province: str | None = None,
            communes: frozenset[str] | None = None) -> pd.DataFrame:
    """The alarms of ``province`` (None: the country), commune alarms only of ``communes`` when
    given (an account's scope); computed once per data version for the country and cut."""
    queries.check_code("tỉnh", province, 2)
    table = cache.scope(con).get("alarms_national", national, today)
    if province is not None:
        in_province = np.array([province in str(p).split(",") for p in table["province_code"]], dtype=bool)
        table = table[in_province]
    if communes is not None:
        table = table[(table["source"] != "commune") | table["unit_code"].isin(communes)]
    return table.reset_index(drop=True)


def province_alarms(con: duckdb.DuckDBPyConnection, province: str, today: dt.date) -> list[Alarm]:
    """The current alarms of one province, for its digest: each with its Vietnamese sentence
    (:attr:`Alarm.text`); the method and data are :data:`METHOD` and :data:`DATA`."""
    table = current(con, today, province)
    return [Alarm(str(r.source), str(r.kind), str(r.unit_code), str(r.unit_name), str(r.province_code),
                  r.month, int(r.observed), float(r.expected), float(r.p_value)) for r in table.itertuples()]


def table(alarms: pd.DataFrame) -> pd.DataFrame:
    """The alarms as a page shows them (Vietnamese labels)."""
    return pd.DataFrame({
        "Tháng": pd.to_datetime(alarms["month"]).dt.strftime("%m/%Y"),
        "Đơn vị": alarms["source"].map(SOURCES), "Tên": alarms["unit_name"], "Mã": alarms["unit_code"],
        "Loại": alarms["kind"].map(KINDS), "Số vụ": alarms["observed"],
        "Mức thường thấy": alarms["expected"].astype(float).round(1),
        "Xác suất ngẫu nhiên (%)": (100.0 * alarms["p_value"].astype(float)).round(3)})
