"""The public side: small counts hidden and not recoverable, no individual data, pages gated."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.conftest import session_token
from xkld_geo import auth, db, maps, public, queries
from xkld_geo.settings import PROJECT_ROOT, Settings, load_settings

T = public.THRESHOLD


def feasible_values(labels: pd.Series, total: int, cell: object) -> set[int]:
    """Values of a hidden cell consistent with what is published (an attacker's view).

    A "< T" cell holds 1..T-1; a secondary cell holds 0 or ≥ T (else it would be "< T"); the
    hidden cells together hold the total minus the published cells.
    """
    hidden_total = total - sum(v for v in labels if not isinstance(v, str))
    primaries = [k for k, v in labels.items() if v == f"< {T}"]
    secondaries = [k for k, v in labels.items() if v == public.SECONDARY]
    options = set()
    own = range(1, T) if cell in primaries else [0] + list(range(T, hidden_total + 1))
    for value in own:
        rest = hidden_total - value
        n_p = len(primaries) - (cell in primaries)
        n_s = len(secondaries) - (cell in secondaries)
        lo, hi = n_p, n_p * (T - 1)
        ok = any(lo <= rest - s <= hi for s in ([0] + list(range(T, rest + 1)) if n_s else [0]))
        if ok:
            options.add(value)
    return options


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_no_small_count_is_shown_or_recoverable(counts: list[int]) -> None:
    values = pd.Series(counts, index=[f"c{i}" for i in range(len(counts))])
    labels = public.suppress(values)
    shown = [v for v in labels if not isinstance(v, str)]
    assert not any(1 <= v < T for v in shown)
    total = public.total_label(values, labels)
    assert not (isinstance(total, int) and 1 <= total < T)
    if isinstance(total, str):
        return  # the total is hidden too: nothing to subtract from
    for cell, label in labels.items():
        if label == f"< {T}":
            assert len(feasible_values(labels, int(values.sum()), cell)) >= 2, (counts, labels.tolist())


@pytest.mark.parametrize("counts,expected", [
    ([0, 3, 10, 50, 7, 1], ["ẩn", "< 5", 10, 50, "ẩn", "< 5"]),
    ([4, 4, 4, 20], ["< 5", "< 5", "< 5", "ẩn"]),
    ([100, 2, 300], ["ẩn", "< 5", 300]),
    ([12, 30, 0], [12, 30, 0]),
    ([4], ["< 5"]),
])
def test_suppression_table(counts: list[int], expected: list[object]) -> None:
    assert public.suppress(pd.Series(counts)).tolist() == expected


def _number(text: object) -> object:
    """A published cell back to a number where it is one ("1.234" → 1234)."""
    if isinstance(text, str) and re.fullmatch(r"\d{1,3}(\.\d{3})*", text):
        return int(text.replace(".", ""))
    return text


def _count_fields(summary: public.PublicSummary) -> list[object]:
    html = maps.page_html(summary.fmap)
    props = re.findall(r'"departures":\s*([^,}]+)', html)
    return ([summary.total] + [_number(v) for v in summary.table["Số người đã đi"]]
            + [_number(v) for v in summary.markets["Số người đã đi"]]
            + [None if p == "null" else float(p) for p in props])


PERSONAL = re.compile(r"\b(cccd|cmnd|citizen|ho_ten|họ tên|ngày sinh|so_dinh_danh|passport)\b", re.I)


def _scan(con, year: int, month: int, province: str | None) -> None:
    summary = public.build_public(con, year, month, province, "/app/static")
    for value in _count_fields(summary):
        assert not (isinstance(value, (int, float)) and 1 <= value < T), (province, value)
    for frame in (summary.table, summary.markets, summary.costs, summary.companies):
        assert not any(PERSONAL.search(str(c)) for c in frame.columns)
    assert not PERSONAL.search(maps.page_html(summary.fmap))
    labels = summary.table.set_index("Mã")["Số người đã đi"].map(_number)
    if isinstance(summary.total, str):
        return
    for cell, label in labels.items():
        if label == f"< {T}":
            assert len(feasible_values(labels, summary.total, cell)) >= 2


def test_public_outputs_of_the_fixture_database(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    for province in (None, "98", "99"):
        for month in (1, 3):
            _scan(con, 2026, month, province)
    con.close()


@pytest.mark.real_data
def test_public_outputs_of_the_demo_database(real_con) -> None:
    year = queries.years(real_con)[0]
    month = queries.last_data_month(real_con, year)
    for province in [None] + list(queries.provinces(real_con)["code"]):
        _scan(real_con, year, month, province)


def test_notices_are_validated(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path)
    public.set_notice(con, "hotline", "Gọi 1900 0000", "admin")
    assert public.notices(con)["hotline"] == "Gọi 1900 0000"
    for key, text in (("hotline", ""), ("hotline", "x" * 2001), ("../etc", "ok")):
        with pytest.raises(Exception) as err:
            public.set_notice(con, key, text, "admin")
        assert getattr(err.value, "message", "")
    con.close()


# --- pages and access -------------------------------------------------------------------------




def _page(path: str, role: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if role:
        at.session_state["auth_token"] = session_token(load_settings(), role)
    return at.run()


def test_anonymous_visitor_sees_the_public_screen(app_env: Settings) -> None:
    at = _page("pages/1_Cong_khai.py")
    assert not at.exception and not at.error
    assert "Kết quả đưa lao động" in at.title[0].value
    assert at.metric[0].label.startswith("Số người đã đi")
    assert at.selectbox(key="public_province").value == ""
    at.selectbox(key="public_province").set_value("99").run()
    assert len(at.dataframe[0].value) == 6  # the communes table of the map panel


def test_kiosk_mode_has_no_controls(app_env: Settings) -> None:
    at = _page("pages/1_Cong_khai.py", query={"mode": "kiosk", "unit": "99"})
    assert not at.exception
    assert len(at.selectbox) == 0 and len(at.button) == 0
    assert any("stSidebar" in m.value for m in at.markdown)


@pytest.mark.parametrize("query", [{"unit": "../../etc/passwd"}, {"unit": "1; DROP TABLE users"},
                                   {"unit": "9" * 3000}])
def test_public_screen_ignores_bad_parameters(app_env: Settings, query: dict[str, str]) -> None:
    at = _page("pages/1_Cong_khai.py", query=query)
    assert not at.exception and not at.error
    assert len([w for w in at.warning if "không hợp lệ" in w.value]) == 1
    assert at.selectbox(key="public_province").value == ""


@pytest.mark.parametrize("path", ["app.py", "pages/9_Quan_tri.py"])
def test_anonymous_visitor_is_refused_internal_pages(app_env: Settings, path: str) -> None:
    at = _page(path)
    assert not at.exception
    assert any("dành cho cán bộ" in w.value for w in at.warning)
    assert not at.dataframe and not at.metric
    assert at.text_input(key="login_user") is not None


def test_planner_cannot_open_user_administration(app_env: Settings) -> None:
    at = _page("pages/9_Quan_tri.py", role="planner")
    assert len(at.error) == 1 and "không có quyền" in at.error[0].value
    assert not at.dataframe


def test_admin_adds_a_user_and_it_is_audited(app_env: Settings) -> None:
    at = _page("pages/9_Quan_tri.py", role="admin")
    assert not at.exception and not at.error
    at.text_input(key="new_username").input("lanhdao2")
    at.text_input(key="new_password").input("mat-khau-lanh-dao")
    at.selectbox(key="new_role").set_value("viewer")
    at.button[0].click().run()
    assert not at.error
    con = db.connect(app_env)
    assert con.execute("SELECT role FROM users WHERE username = 'lanhdao2'").fetchone()[0] == "viewer"
    assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'user_added' "
                       "AND target = 'lanhdao2'").fetchone()[0] == 1


def test_expired_session_is_asked_to_log_in_again(app_env: Settings) -> None:
    token = session_token(load_settings(), "viewer", "hethan")
    con = db.connect(app_env)
    con.execute("UPDATE sessions SET expires_at = $t WHERE username = 'hethan'",
                {"t": dt.datetime(2000, 1, 1)})
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_token"] = token
    at.run()
    assert any("hết hạn" in i.value for i in at.info)
    assert any("dành cho cán bộ" in w.value for w in at.warning)


def test_login_form_logs_in(app_env: Settings) -> None:
    con = db.connect(app_env)
    auth.create_user(con, "lanhdao", "mat-khau-lanh-dao", "viewer")
    at = _page("app.py")
    at.text_input(key="login_user").input("lanhdao")
    at.text_input(key="login_password").input("mat-khau-lanh-dao")
    at.button[0].click().run()
    assert not at.exception and not at.warning
    assert at.metric and at.dataframe


@pytest.mark.parametrize("row,field", [
    ({"licence_no": "", "name": "A"}, "licence_no"), ({"licence_no": "1", "name": ""}, "name"),
    ({"licence_no": "1", "name": "A", "province_code": "4"}, "province_code"),
    ({"licence_no": "1", "name": "A", "markets": "JP, XX"}, "markets"),
    ({"licence_no": "1'; DROP TABLE users; --" * 3, "name": "A"}, "licence_no"),
])
def test_company_list_validation(row: dict, field: str) -> None:
    errors = public.check_companies(pd.DataFrame([row]))
    assert len(errors) == 1 and f"cột {field}" in errors[0]


def test_licensed_companies_show_on_the_public_screen(tiny_con) -> None:
    rows = pd.DataFrame([{"licence_no": "123/LĐTBXH-GP", "name": "Công ty Cổ phần Thử", "province_code": "99",
                          "markets": "JP,KR", "valid_until": "2028-12-31"}])
    assert public.save_companies(tiny_con, rows, "admin") == 1
    summary = public.build_public(tiny_con, 2026, 3, None, "/app/static")
    assert summary.companies["Doanh nghiệp"].tolist() == ["Công ty Cổ phần Thử"]
