"""Early warning (xkld_geo.protection.alarms) on the fictional country: an injected cluster of fraud
reports in one commune and of breaches by one licensed company is flagged, the demo background is
not; the province's digest list and the case page show it."""
from __future__ import annotations

import datetime as dt

from tests.conftest import problems, run_page
from xkld_geo.protection import alarms, cases
from xkld_geo.settings import Settings

TODAY = dt.date(2026, 3, 15)


def inject(con, commune: str, kind: str, n: int, licence: str | None = None, ref: str = "CUM") -> None:
    for i in range(n):
        cases.record(con, cases.NewCase(f"{ref}-{i}", kind, dt.date(2026, 3, 2 + i), commune, "JP", licence),
                     "test", TODAY)


def test_background_raises_no_alarm(tiny_con) -> None:
    assert alarms.national(tiny_con, TODAY).empty
    # replayed over the 24 months before: the background's alarms stay rare (the fictional
    # country has no real cluster: every alarm there is a false one)
    r = alarms.record(tiny_con, TODAY)
    assert r.months == 24 and r.checked == 24 * 2 * 7 and r.flagged / r.checked < 0.01
    assert "lượt xét xã-tháng" in r.text and "0,1%" in r.text


def test_an_injected_cluster_is_flagged_and_the_background_is_not(tiny_con) -> None:
    tiny_con.execute("INSERT INTO licensed_companies VALUES ('123/LĐTBXH-GP', 'Công ty Thử', '99', 'JP', NULL)")
    inject(tiny_con, "99002", "fraud", 5)
    inject(tiny_con, "98001", "illegal_stay", 4, licence="123/LĐTBXH-GP", ref="DN")
    found = alarms.national(tiny_con, TODAY)
    flagged = set(zip(found["source"], found["kind"], found["unit_code"]))
    assert ("commune", "fraud", "99002") in flagged
    assert ("company", "breach", "123/LĐTBXH-GP") in flagged
    # four more breaches in a ward that usually has one or two a month are not a cluster of its own
    assert len(flagged) == 2, found                           # nothing else: the background stays quiet
    assert (found["p_value"] < alarms.FALSE_ALARM).all() and (found["observed"] >= alarms.MIN_COUNT).all()
    # the digest's list: province 99 has its commune's cluster, not the ward of province 98
    listed = alarms.province_alarms(tiny_con, "99", TODAY)
    assert [(a.source, a.unit_code) for a in listed] == [("commune", "99002")]
    assert "Phản ánh lừa đảo" in listed[0].text and "5 vụ" in listed[0].text
    # the company's cases came from province 98: listed there
    assert {a.unit_code for a in alarms.province_alarms(tiny_con, "98", TODAY)} == {"123/LĐTBXH-GP"}
    # an account limited to other communes does not see the commune's alarm
    assert alarms.current(tiny_con, TODAY, "99", frozenset({"99001"})).empty


def test_the_case_page_shows_the_alarms(app_env: Settings) -> None:
    from xkld_geo.database import db

    con = db.connect(app_env)
    inject(con, "99002", "fraud", 5)
    at = run_page("pages/15_Bao_ho_cong_dan.py", role="planner", query={"unit": "99"}, settings=app_env)
    assert not at.exception and not at.error, problems(at)
    assert any("Poisson" in c.value and "0,1%" in c.value and "Chạy lại trên 24 tháng" in c.value for c in at.caption)
    shown = next(d for d in at.dataframe if d.key == "cases_alarms" or "Xác suất ngẫu nhiên (%)" in d.value.columns)
    assert list(shown.value["Mã"]) == ["99002"]
