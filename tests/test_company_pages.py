"""A company's account in the app: it logs in, sees the pages its role allows, and no page shows it
a commune's row (the company page shows its own orders and the people they sent by province).

The fictional country's demo orders name demo licences (MH-GP-..); the account here is the
company of licence MH-GP-05, a clerk (it imports its own orders)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import problems, run_page
from xkld_geo import auth, db
from xkld_geo.settings import Settings
from xkld_geo.ui.navigation import MENU

LICENCE = "MH-GP-05"
NAME = "dn.gp05"
ENTRIES = [e for entries in MENU.values() for e in entries
           if e.action != "public_summary" and auth.allowed(auth.User("x", "x", "clerk"), e.action)]
COMMUNE = re.compile(r"^\d{5}$|Xã Thử")


def _company_account(settings: Settings) -> None:
    con = db.connect(settings)
    db.upgrade(con)
    auth.create_user(con, NAME, "mat-khau-thu-nghiem", "clerk", company=LICENCE)


def _commune_cells(at) -> list[str]:
    found = []
    for frame in at.dataframe:
        table = frame.value
        cells = [str(c) for c in table.astype(str).to_numpy().ravel()] + [str(c) for c in table.columns]
        found += [c for c in cells if COMMUNE.search(c)]
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.file for e in ENTRIES])
def test_a_company_sees_its_pages_without_a_communes_row(app_env: Settings, entry) -> None:
    _company_account(app_env)
    at = run_page(f"pages/{entry.file}", role="clerk", username=NAME)
    assert not at.exception, problems(at)
    assert not _commune_cells(at), (entry.file, _commune_cells(at)[:5])


def test_the_company_page_shows_its_own_orders(app_env: Settings) -> None:
    _company_account(app_env)
    at = run_page("pages/18_Doanh_nghiep.py", role="clerk", username=NAME,
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
