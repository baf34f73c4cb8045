"""The decision annex of an approved plan: the official XLSX layout (codes as text, no formulas)
and a CSV, for the provincial People's Committee's decision on the year's quotas."""
from __future__ import annotations

import io

import duckdb
import pandas as pd

from xkld_geo.figures import queries
from xkld_geo.planning.plans import load
from xkld_geo.text import sheets


def annex_table(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple[pd.Series, pd.DataFrame]:
    """The approved plan as the rows of a decision's annex: STT, code, name, quota, notes."""
    head, quotas = load(con, plan_id)
    names = queries.period_attainment(con, int(head["year"]), 1, "commune", str(head["province_code"]))
    names = dict(zip(names["unit_code"], names["unit_name"]))
    rows = pd.DataFrame({"Mã xã": sorted(quotas)})
    rows.insert(0, "STT", range(1, len(rows) + 1))
    rows["Tên xã, phường"] = rows["Mã xã"].map(names)
    rows["Chỉ tiêu (người)"] = rows["Mã xã"].map(quotas)
    rows["Ghi chú"] = ""
    return head, rows


def annex_xlsx(con: duckdb.DuckDBPyConnection, plan_id: int, province_name: str) -> bytes:
    """The annex of the approval decision in a Vietnamese official layout; names are text, never
    formulas (:mod:`xkld_geo.text.sheets`), codes are text so leading zeros stay."""
    head, rows = annex_table(con, plan_id)
    buffer = io.BytesIO()
    with sheets.workbook(buffer) as book:
        ws = sheets.add_sheet(book, "Phụ lục")
        font = {"font_name": "Times New Roman", "font_size": 13}
        bold = book.add_format({**font, "bold": True, "align": "center", "valign": "vcenter", "text_wrap": True})
        center = book.add_format({**font, "align": "center", "text_wrap": True})
        header = book.add_format({**font, "bold": True, "align": "center", "text_wrap": True, "border": 1})
        cell = book.add_format({**font, "border": 1})
        code = book.add_format({**font, "border": 1, "num_format": "@"})
        plain = book.add_format({**font, "bold": True})
        ws.merge_range("A1:B1", "", bold)
        sheets.write(ws, 0, 0, f"ỦY BAN NHÂN DÂN\n{province_name.upper()}", bold)
        ws.merge_range("C1:E1", "", bold)
        sheets.write(ws, 0, 2, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc", bold)
        ws.merge_range("A3:E3", "", bold)
        sheets.write(ws, 2, 0, "PHỤ LỤC\nPHÂN BỔ CHỈ TIÊU ĐƯA NGƯỜI LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI THEO HỢP ĐỒNG "
                               f"NĂM {int(head['year'])}", bold)
        ws.merge_range("A4:E4", "", center)
        sheets.write(ws, 3, 0, "(Kèm theo Quyết định số      /QĐ-UBND ngày    tháng    năm        )", center)
        ws.set_row(0, 48)
        ws.set_row(2, 48)
        columns = list(rows.columns)
        for j, title in enumerate(columns):
            sheets.write(ws, 5, j, title, header)
        for i, row in enumerate(rows.itertuples(index=False), start=6):
            for j, value in enumerate(row):
                if columns[j] == "Mã xã":
                    sheets.write(ws, i, j, str(value), code)
                else:
                    sheets.write(ws, i, j, value, cell)
        total = 6 + len(rows)
        sheets.write(ws, total, 2, "Tổng cộng", plain)
        sheets.write(ws, total, 3, int(rows["Chỉ tiêu (người)"].sum()), plain)
        ws.merge_range(total + 2, 3, total + 2, 4, "", bold)
        sheets.write(ws, total + 2, 3, "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", bold)
        ws.set_row(total + 2, 36)
        for j, width in enumerate((6, 10, 32, 16, 20)):
            ws.set_column(j, j, width)
    return buffer.getvalue()


def annex_csv(con: duckdb.DuckDBPyConnection, plan_id: int) -> bytes:
    """The annex rows as UTF-8 CSV (with BOM, so Excel shows the diacritics); text that a
    spreadsheet would read as a formula gets a leading apostrophe (:func:`markup.cell_text`)."""
    _, rows = annex_table(con, plan_id)
    return sheets.csv_bytes(rows)
