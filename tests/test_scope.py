"""Scope: role × scope × action × unit, through the functions the pages and the command line call.

The fictional country: province 99 (communes 99001–99006) and province 98 (98001, 98002). Every
write outside an account's scope (or beyond its role) is refused and writes nothing; every read
outside it shows no commune-level row. The expected outcome comes from a small oracle written
from the rules of docs/places.md, independently of :mod:`xkld_geo.access.scope`.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pytest

from tests.conftest import settings_for
from xkld_geo.access import auth, scope
from xkld_geo.database import db
from xkld_geo.errors import XkldError
from xkld_geo.intake import ingest
from xkld_geo.planning import plans
from xkld_geo.protection import cases
from xkld_geo.reporting import approval, monthly, people
from xkld_geo.settings import Settings

PASSWORD = "mat-khau-thu-nghiem"
ACCOUNTS: dict[str, tuple[str, str, str | None]] = {
    "tw.admin": ("admin", "VN", None),
    "tw.planner": ("planner", "VN", None),
    "tw.clerk": ("clerk", "VN", None),
    "t99.admin": ("admin", "99", None),
    "t99.planner": ("planner", "99", None),
    "t99.clerk": ("clerk", "99", None),
    "x99001": ("commune", "99001", None),
    "dn.clerk": ("clerk", "VN", "123/LDTBXH"),
    "t98.viewer": ("viewer", "98", None),
}
TARGETS = ("99001", "99002", "98001")
PROVINCE = {f"99{i:03d}": "99" for i in range(1, 7)} | {"98001": "98", "98002": "98"}
MONTH = dt.date(2026, 2, 1)


def covers(account: str, commune: str) -> bool:
    """The oracle: whether the account's scope contains the commune."""
    _, unit, company = ACCOUNTS[account]
    if company:
        return False
    if unit == "VN":
        return True
    return unit == commune or unit == PROVINCE[commune]


ROLE_OK: dict[str, frozenset[str]] = {
    "import": frozenset({"clerk", "admin"}),
    "form_submit": frozenset({"commune", "clerk", "admin"}),
    "form_draft": frozenset({"commune", "clerk", "admin"}),
    "approve": frozenset({"planner", "admin"}),
    "return": frozenset({"planner", "admin"}),
    "people_edit": frozenset({"planner", "admin"}),
    "plan_draft": frozenset({"planner", "admin"}),
    "case_record": frozenset({"planner", "admin"}),
    "add_account": frozenset({"admin"}),
}


def expected(action: str, account: str, commune: str) -> bool:
    role, unit, _ = ACCOUNTS[account]
    ok = role in ROLE_OK[action] and covers(account, commune)
    if action in ("approve", "return"):
        ok = ok and len(unit) < 5          # a reviewer is above the commune
    if action == "plan_draft":             # a plan is a province's: a commune covers no province
        ok = role in ROLE_OK[action] and (unit == "VN" or unit == PROVINCE[commune]) and not ACCOUNTS[account][2]
    return ok


@pytest.fixture(scope="module")
def country_template(tiny_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fictional country with every account of :data:`ACCOUNTS` and a national administrator
    (made once: each account costs an Argon2 hash)."""
    root = tmp_path_factory.mktemp("scope_template")
    shutil.copyfile(tiny_template.db_path, root / "tiny.duckdb")
    settings = settings_for(tiny_template.data_dir, root / "tiny.duckdb")
    con = db.open_connection(settings.db_path)
    auth.create_user(con, "root", PASSWORD, "admin")
    for name, (role, unit, company) in ACCOUNTS.items():
        auth.create_user(con, name, PASSWORD, role, unit=unit, company=company)
    con.close()
    db.close_all()
    return settings


@pytest.fixture()
def country(country_template: Settings, tmp_path: Path) -> Iterator[tuple]:
    """A test's own copy of :func:`country_template` and a connection to it."""
    shutil.copyfile(country_template.db_path, tmp_path / "tiny.duckdb")
    settings = settings_for(country_template.data_dir, tmp_path / "tiny.duckdb")
    con = db.open_connection(settings.db_path)
    yield settings, con
    con.close()
    db.close_all()


def _fingerprint(con) -> tuple:
    tables = ("departures", "job_fair_attendance", "programme_monthly", "commune_months", "approval_events",
              "people_in_charge", "plans", "plan_rows", "cases", "users")
    return tuple(con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchone() for t in tables)


def _form(n: int = 2) -> monthly.Form:
    counts = {k: 0 for k in monthly.COUNTS} | {"departures_total": n, "attendees": 1}
    return monthly.Form([monthly.Line("JP", "nam", "khac", "thuc_tap_sinh", n)], counts)


def _submitted_by_root(settings: Settings, con, commune: str) -> None:
    monthly.submit(con, auth.account(con, "root"), commune, MONTH, _form(), "xác nhận", settings, settings.today)


def _do(action: str, settings: Settings, con, user: auth.User, commune: str, tmp: Path) -> bool:
    """Run ``action`` for ``commune`` as ``user``; True when it went through, False when refused."""
    if action == "import":
        data = f"Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Nhóm ưu tiên,Số người\n02/2026,{commune},Nhật Bản,Nam," \
               "Thực tập sinh kỹ thuật,,3\n".encode()
        try:
            report = ingest.import_file(con, data, "x.csv", "departures", user, settings)
        except XkldError:
            return False
        if report.accepted:
            return True
        assert report.rejected == 1 and commune in report.rejects["Lý do"].iloc[0]
        assert "ngoài phạm vi" in report.rejects["Lý do"].iloc[0]
        return False
    calls: dict[str, Callable[[], object]] = {
        "form_submit": lambda: monthly.submit(con, user, commune, MONTH, _form(), "xác nhận", settings,
                                              settings.today),
        "form_draft": lambda: monthly.save_draft(con, user, commune, MONTH, _form()),
        "approve": lambda: approval.approve(con, user, MONTH, commune),
        "return": lambda: approval.return_month(con, user, MONTH, commune, "sai số liệu"),
        "people_edit": lambda: people.save_unit(con, user, "commune", commune, pd.DataFrame(
            {"role": ["can_bo"], "full_name": ["Nguyễn Văn Thử"], "position": [""], "phone": ["0912345678"]})),
        "plan_draft": lambda: plans.save_draft(con, year=2026, province=PROVINCE[commune], name="Thử",
                                               params=plans.Params(10), quotas={commune: 10}, user=user),
        "case_record": lambda: cases.record(con, cases.NewCase(cases.next_ref(con, 2026), "fraud",
                                                               dt.date(2026, 3, 1), commune, "JP"),
                                            user.username, settings.today, actor=user),
        "add_account": lambda: auth.add_account(con, user, f"moi.{commune}", PASSWORD, "viewer", unit=commune),
    }
    try:
        calls[action]()
    except XkldError as exc:
        print("refused:", exc.message)
        return False
    return True


WRITE_CASES = [(action, account, commune) for action in ROLE_OK for account in ACCOUNTS for commune in TARGETS]


@pytest.mark.parametrize(("action", "account", "commune"), WRITE_CASES,
                         ids=[f"{a}-{u}-{c}" for a, u, c in WRITE_CASES])
def test_a_write_goes_through_only_inside_the_scope(country, action: str, account: str, commune: str,
                                                    tmp_path: Path) -> None:
    settings, con = country
    if action in ("approve", "return"):
        _submitted_by_root(settings, con, commune)
    user = auth.account(con, account)
    before = _fingerprint(con)
    done = _do(action, settings, con, user, commune, tmp_path)
    assert done == expected(action, account, commune)
    if not done:
        assert _fingerprint(con) == before, "a refused write changed something"


READS = ("url", "people", "queue", "form_view", "cases")
READ_CASES = [(read, account, commune) for read in READS for account in ACCOUNTS for commune in TARGETS]


def _detail_ok(account: str, commune: str) -> bool:
    """URLs open commune detail for the nation and the province (a commune officer has its form)."""
    _, unit, company = ACCOUNTS[account]
    return not company and (unit == "VN" or unit == PROVINCE[commune])


@pytest.mark.parametrize(("read", "account", "commune"), READ_CASES, ids=[f"{r}-{u}-{c}" for r, u, c in READ_CASES])
def test_a_read_shows_commune_detail_only_inside_the_scope(country, read: str, account: str, commune: str) -> None:
    settings, con = country
    user = auth.account(con, account)
    if read == "url":
        try:
            scope.check_url_unit(con, user, commune)
            shown = True
        except XkldError as exc:
            assert commune in exc.message and "ngoài phạm vi" in exc.message
            shown = False
        assert shown == _detail_ok(account, commune)
        return
    if read == "people":
        listing = scope.people_visible(con, user, people.listing(con, PROVINCE[commune]))
        assert (commune in set(listing.loc[listing["unit_level"] == "commune", "unit_code"])) == covers(account, commune)
        assert listing.loc[listing["unit_level"] == "commune", "unit_code"].map(
            lambda c: covers(account, c)).all()
        return
    if read == "cases":   # the register, as the cases page asks for it (detail_province, then the view)
        from xkld_geo.protection import casebook

        try:
            province = scope.detail_province(con, user, PROVINCE[commune])
        except XkldError:
            assert not _detail_ok(account, commune)
            return
        listed = casebook.build_cases(con, province, settings.today, viewer=user).cases
        assert (commune in set(listed["commune_code"])) == covers(account, commune)
        assert listed["commune_code"].map(lambda c: covers(account, c)).all()
        return
    if read == "queue":
        _submitted_by_root(settings, con, commune)
        queue = approval.queue(con, user, MONTH)
        assert (commune in set(queue["commune_code"])) == covers(account, commune)
        return
    try:
        view = monthly.build_form_view(con, user, commune, MONTH, settings.today)
        assert view.commune == commune
        shown = True
    except XkldError:
        shown = False
    assert shown == covers(account, commune)


def test_the_matrix_has_at_least_a_hundred_cases() -> None:
    assert len(WRITE_CASES) + len(READ_CASES) >= 100


# --- a licensed company: its own orders and their interviews, never a unit's figures ---------------

OWN, OTHER = "123/LDTBXH", "456/LDTBXH"
ORDER_TARGETS = ((OWN, "99"), (OTHER, "98"), (OWN, "98"), (OTHER, "99"))
"""(licence, province that announces the order) of an order import."""


def _company_country(con) -> None:
    """Both licences on the licensed list, and one stored order of each (for the interviews)."""
    con.execute("INSERT INTO licensed_companies VALUES ($a, 'Công ty Thử Một', '99', 'JP', NULL), "
                "($b, 'Công ty Thử Hai', '98', 'KR', NULL)", {"a": OWN, "b": OTHER})
    con.execute("""INSERT INTO recruitment_orders (order_code, licence_no, province_code, market, occupation, places,
                   announced_on, status, is_demo) VALUES ('DH-MOT', $a, '99', 'JP', 'xay_dung', 10, DATE '2026-01-05',
                   'recruiting', FALSE), ('DH-HAI', $b, '98', 'KR', 'xay_dung', 10, DATE '2026-01-05', 'recruiting',
                   FALSE)""", {"a": OWN, "b": OTHER})


def _order_csv(licence: str, province: str) -> bytes:
    return ("Mã đơn hàng,Số giấy phép doanh nghiệp,Tỉnh/thành phố,Thị trường,Ngành nghề,Số chỉ tiêu tuyển,"
            f"Ngày thông báo,Trạng thái\nDH-MOI-{province},{licence},{province},Nhật Bản,Xây dựng,5,02/02/2026,"
            "Đang tuyển\n").encode()


def _interview_csv(order: str, commune: str) -> bytes:
    return ("Mã đơn hàng,Mã xã,Số người dự phỏng vấn,Số người trúng tuyển,Số người đã xuất cảnh\n"
            f"{order},{commune},4,2,1\n").encode()


def _imported(con, settings: Settings, user: auth.User, data: bytes, kind: str) -> bool:
    try:
        report = ingest.import_file(con, data, f"{kind}.csv", kind, user, settings)
    except XkldError as exc:
        assert "doanh nghiệp" in exc.message or "quyền" in exc.message, exc.message
        return False
    if report.accepted:
        return True
    assert report.rejected == 1, report.rejects
    assert "không được nhập" in report.rejects["Lý do"].iloc[0] or "ngoài phạm vi" in report.rejects["Lý do"].iloc[0]
    return False


def _order_ok(account: str, licence: str, province: str) -> bool:
    role, unit, company = ACCOUNTS[account]
    if role not in ROLE_OK["import"]:
        return False
    if company:
        return licence == company
    return unit == "VN" or unit == province


ORDER_CASES = [(account, licence, province) for account in ACCOUNTS for licence, province in ORDER_TARGETS]


@pytest.mark.parametrize(("account", "licence", "province"), ORDER_CASES,
                         ids=[f"orders-{a}-{lic.split('/')[0]}-{p}" for a, lic, p in ORDER_CASES])
def test_an_order_import_goes_through_only_for_the_accounts_licence_or_province(country, account: str, licence: str,
                                                                                province: str) -> None:
    settings, con = country
    _company_country(con)
    before = _fingerprint(con), con.execute("SELECT count(*) FROM recruitment_orders").fetchone()
    done = _imported(con, settings, auth.account(con, account), _order_csv(licence, province), "orders")
    assert done == _order_ok(account, licence, province)
    if not done:
        assert (_fingerprint(con), con.execute("SELECT count(*) FROM recruitment_orders").fetchone()) == before


INTERVIEW_CASES = [(account, order, commune) for account in ACCOUNTS for order in ("DH-MOT", "DH-HAI")
                   for commune in ("99001", "98001")]


@pytest.mark.parametrize(("account", "order", "commune"), INTERVIEW_CASES,
                         ids=[f"interviews-{a}-{o}-{c}" for a, o, c in INTERVIEW_CASES])
def test_a_company_reports_the_interviews_of_its_own_orders_only(country, account: str, order: str,
                                                                 commune: str) -> None:
    settings, con = country
    _company_country(con)
    role, _, company = ACCOUNTS[account]
    before = con.execute("SELECT count(*) FROM order_interviews").fetchone()
    done = _imported(con, settings, auth.account(con, account), _interview_csv(order, commune), "interviews")
    own_order = {"DH-MOT": OWN, "DH-HAI": OTHER}[order] == company
    expected_ok = role in ROLE_OK["import"] and (own_order if company else covers(account, commune))
    assert done == expected_ok
    if not done:
        assert con.execute("SELECT count(*) FROM order_interviews").fetchone() == before


@pytest.mark.parametrize("kind", ["departures", "job_fairs", "quotas", "loans"])
def test_a_company_sends_no_units_figures_and_the_refusal_is_logged(country, kind: str) -> None:
    settings, con = country
    user = auth.account(con, "dn.clerk")
    logged = con.execute("SELECT count(*) FROM import_log WHERE outcome = 'refused'").fetchone()[0]
    with pytest.raises(XkldError, match="Tài khoản doanh nghiệp dn.clerk"):
        ingest.import_file(con, b"a,b\n1,2\n", "x.csv", kind, user, settings)
    assert con.execute("SELECT count(*) FROM import_log WHERE outcome = 'refused'").fetchone()[0] == logged + 1
    assert scope.import_kinds(user, ["departures", "register", "orders", "interviews"]) == [
        "register", "orders", "interviews"]


COMPANY_READS = [(account, licence) for account in ACCOUNTS for licence in (OWN, OTHER)]


@pytest.mark.parametrize(("account", "licence"), COMPANY_READS,
                         ids=[f"company-page-{a}-{lic.split('/')[0]}" for a, lic in COMPANY_READS])
def test_the_company_page_shows_a_company_its_own_rows_and_no_commune(country, account: str, licence: str) -> None:
    from xkld_geo.views import company

    settings, con = country
    _company_country(con)
    con.execute("INSERT INTO order_interviews VALUES ('DH-MOT', '99001', 4, 2, 1, FALSE), "
                "('DH-MOT', '98001', 3, 3, 2, FALSE), ('DH-HAI', '99002', 5, 5, 5, FALSE)")
    user = auth.account(con, account)
    _, unit, own = ACCOUNTS[account]
    allowed = (own == licence) if own else unit == "VN"
    try:
        view = company.build_company(con, user, 2026, settings.today, licence)
    except XkldError as exc:
        assert not allowed and ("doanh nghiệp" in exc.message or "ngoài phạm vi" in exc.message)
        return
    assert allowed and view.licence == licence
    assert set(view.orders["Mã đơn hàng"]) == {"DH-MOT" if licence == OWN else "DH-HAI"}
    departed = {OWN: 3, OTHER: 5}[licence]
    assert view.totals["departed"] == departed and view.by_province["Đã xuất cảnh"].sum() == departed
    assert set(view.by_province["Mã tỉnh"]) <= {"98", "99"}
    for frame in (view.orders, view.by_province, view.by_market, view.national):   # no commune's row
        cells = frame.astype(str).to_numpy().ravel()
        assert not any(len(c) == 5 and c.isdigit() for c in cells)


def test_the_company_matrix_adds_its_cases() -> None:
    assert len(ORDER_CASES) + len(INTERVIEW_CASES) + len(COMPANY_READS) >= 80
