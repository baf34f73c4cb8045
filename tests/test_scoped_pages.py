"""Scoped accounts in the app. A company's account logs in, sees the pages its role allows, and no page shows it
a commune's row (the company page shows its own orders and the people they sent by province).

The fictional country's demo orders name demo licences (MH-GP-..); the account here is the
company of licence MH-GP-05, a clerk (it imports its own orders)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import component_args, draws, problems, run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.settings import Settings
from xkld_geo.ui.navigation import MENU

LICENCE = "MH-GP-05"
NAME = "dn.gp05"
MENU_ENTRIES = [e for entries in MENU.values() for e in entries]
ENTRIES = [e for e in MENU_ENTRIES
           if e.action != "public_summary" and auth.allowed(auth.User("x", "x", "clerk"), e.action)]
COMMUNE = re.compile(r"^\d{5}$|Xã Thử|Phường Mẫu")


def _company_account(settings: Settings) -> None:
    con = db.connect(settings)
    db.upgrade(con)
    auth.create_user(con, NAME, "mat-khau-thu-nghiem", "clerk", company=LICENCE)


def _commune_cells(at, pattern: re.Pattern[str] = COMMUNE) -> list[str]:
    found = []
    for frame in at.dataframe:
        table = frame.value
        cells = [str(c) for c in table.astype(str).to_numpy().ravel()] + [str(c) for c in table.columns]
        found += [c for c in cells if pattern.search(c)]
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.file for e in ENTRIES])
def test_a_company_sees_its_pages_without_a_communes_row(app_env: Settings, entry) -> None:
    _company_account(app_env)
    at = run_page(f"pages/{entry.file}", role="clerk", username=NAME)
    assert not at.exception, problems(at)
    assert not _commune_cells(at), (entry.file, _commune_cells(at)[:5])
    communes = ("98001", "98002") + tuple(f"9900{i}" for i in range(1, 7))
    drawn = [code for args in component_args(at) for code in communes if draws(args, f'"{code}"')]
    assert not drawn, (entry.file, drawn)


def test_the_company_page_shows_its_own_orders(app_env: Settings) -> None:
    _company_account(app_env)
    at = run_page("pages/19_Doanh_nghiep.py", role="clerk", username=NAME,
                  state={"company_year": 2025})
    assert not at.exception and not at.error, problems(at)
    orders = next(f.value for f in at.dataframe if "Mã đơn hàng" in f.value.columns)
    assert len(orders) and orders["Doanh nghiệp"].str.contains(LICENCE).all()
    assert not [s for s in at.selectbox if s.key == "company_licence"]     # no choice of another company


def test_a_url_naming_a_province_is_refused_to_a_company(app_env: Settings) -> None:
    _company_account(app_env)
    at = run_page("pages/0_Tong_quan.py", role="clerk", username=NAME, query={"unit": "99"})
    assert any("ngoài phạm vi" in e.value for e in at.error) and not at.dataframe


def test_the_import_page_offers_a_company_its_own_kinds(app_env: Settings) -> None:
    _company_account(app_env)
    at = run_page("pages/7_Nhap_du_lieu.py", role="clerk", username=NAME)
    assert not at.exception and not at.error, problems(at)
    assert set(at.selectbox(key="import_kind").options) == {
        "Danh sách người lao động xuất cảnh (từng người)", "Đơn hàng tuyển lao động",
        "Kết quả phỏng vấn đơn hàng theo xã"}


SCOPED = {   # account → (role, unit, the communes it must not see in any table)
    "tinh.99": ("viewer", "99", re.compile(r"^98\d{3}$|Phường Mẫu")),
    "xa.99001": ("commune", "99001", re.compile(r"^98\d{3}$|^9900[2-6]$|Phường Mẫu|Xã Thử [2-6]")),
}
ON_MAPS = {"tinh.99": ("98001", "98002"), "xa.99001": ("98001", "98002", "99002", "99003", "99004", "99005", "99006")}
"""The commune codes no map the account opens may draw."""
SCOPED_CASES = [(name, e) for name, (role, _, _) in SCOPED.items() for e in MENU_ENTRIES
                if e.action != "public_summary" and auth.allowed(auth.User("x", "x", role), e.action)]


@pytest.mark.parametrize(("account", "entry"), SCOPED_CASES, ids=[f"{a}-{e.file}" for a, e in SCOPED_CASES])
def test_a_scoped_account_sees_no_commune_outside_its_scope_on_any_page(app_env: Settings, account: str,
                                                                        entry) -> None:
    """Every page a province's or a commune's account opens (its defaults: the whole country, and
    the page's own tables and exports) shows no commune outside its scope."""
    role, unit, outside = SCOPED[account]
    con = db.connect(app_env)
    db.upgrade(con)
    auth.create_user(con, account, "mat-khau-thu-nghiem", role, unit=unit)
    at = run_page(f"pages/{entry.file}", role=role, username=account)
    assert not at.exception, problems(at)
    assert not _commune_cells(at, outside), (entry.file, _commune_cells(at, outside)[:5])
    drawn = [code for args in component_args(at) for code in ON_MAPS[account] if draws(args, f'"{code}"')]
    assert not drawn, (entry.file, drawn)
