"""The decision annex of an approved plan: the official XLSX layout (codes as text, no formulas)
and a CSV, for the provincial People's Committee's decision on the year's quotas."""
from __future__ import annotations

import io

import duckdb
import pandas as pd

from xkld_geo import markup, queries
from xkld_geo.planning.plans import load


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
    """The annex of the approval decision in a Vietnamese official layout (openpyxl)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    head, rows = annex_table(con, plan_id)
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    bold, center = Font(name="Times New Roman", bold=True, size=13), Alignment(horizontal="center", wrap_text=True)
    ws.merge_cells("A1:B1")
    ws["A1"] = f"ỦY BAN NHÂN DÂN\n{province_name.upper()}"
    ws.merge_cells("C1:E1")
    ws["C1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    ws.merge_cells("A3:E3")
    ws["A3"] = (f"PHỤ LỤC\nPHÂN BỔ CHỈ TIÊU ĐƯA NGƯỜI LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI THEO HỢP ĐỒNG "
                f"NĂM {int(head['year'])}")
    ws.merge_cells("A4:E4")
    ws["A4"] = "(Kèm theo Quyết định số      /QĐ-UBND ngày    tháng    năm        )"
    for cell in ("A1", "C1", "A3"):
        ws[cell].font, ws[cell].alignment = bold, center
    ws["A4"].alignment = center
    ws.row_dimensions[1].height = ws.row_dimensions[3].height = 48
    thin = Side(style="thin")
    header = list(rows.columns)
    for j, title in enumerate(header, start=1):
        c = ws.cell(row=6, column=j, value=title)
        c.font, c.alignment, c.border = bold, center, Border(thin, thin, thin, thin)
    for i, row in enumerate(rows.itertuples(index=False), start=7):
        for j, value in enumerate(row, start=1):
            c = ws.cell(row=i, column=j, value=value)
            if isinstance(value, str):  # openpyxl reads "=..." as a formula: keep it text
                c.data_type, c.quotePrefix = "s", True
            c.border = Border(thin, thin, thin, thin)
            if header[j - 1] == "Mã xã":
                c.number_format = "@"
                c.value = str(value)
    total_row = 7 + len(rows)
    ws.cell(row=total_row, column=3, value="Tổng cộng").font = bold
    ws.cell(row=total_row, column=4, value=int(rows["Chỉ tiêu (người)"].sum())).font = bold
    ws.merge_cells(start_row=total_row + 2, start_column=4, end_row=total_row + 2, end_column=5)
    sign = ws.cell(row=total_row + 2, column=4, value="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH")
    sign.font, sign.alignment = bold, center
    ws.row_dimensions[total_row + 2].height = 36
    for col, width in zip("ABCDE", (6, 10, 32, 16, 20)):
        ws.column_dimensions[col].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def annex_csv(con: duckdb.DuckDBPyConnection, plan_id: int) -> bytes:
    """The annex rows as UTF-8 CSV (with BOM, so Excel shows the diacritics); text that a
    spreadsheet would read as a formula gets a leading apostrophe (:func:`markup.cell_text`)."""
    _, rows = annex_table(con, plan_id)
    text = rows.select_dtypes(include="object").columns
    rows[text] = rows[text].map(markup.cell_text)
    return rows.to_csv(index=False).encode("utf-8-sig")
