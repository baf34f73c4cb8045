"""Import templates: the kinds of report the data intake accepts, their columns and their files.

Each kind declares its columns once (Vietnamese header, key, type, whether required, help and an
example); the same declaration makes the downloadable XLSX/CSV template, recognises the header row
of an incoming file (diacritics, case and spacing do not matter), and tells validation what to
check. A kind also names the table it feeds and the natural key that makes a re-import replace,
not add.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace

from xkld_geo.errors import IngestError
from xkld_geo.intake.columns import (
    CHANNEL,
    COLUMN_TYPES,
    GROUP,
    MARKET,
    MONTH,
    NOT_READ,
    SEX,
    YEAR,
    Column,
    Kind,
    unit_columns,
)

__all__ = ["CHANNEL", "COLUMN_TYPES", "GROUP", "KINDS", "MARKET", "MONTH", "NOT_READ", "SEX", "YEAR", "Column",
           "Kind", "column_label", "find_header_row", "header_key", "kind", "match_headers", "unit_columns"]

KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("departures", "Số người xuất cảnh theo tháng, theo xã", "departures", "month",
         (MONTH, *unit_columns(), MARKET, SEX, CHANNEL, GROUP,
          Column("so_nguoi", "Số người", "count", True,
                 "Số người xuất cảnh (số nguyên ≥ 0). Dòng có Thị trường = 'Tổng' là dòng tổng của xã "
                 "trong tháng: phải bằng tổng các dòng chi tiết.", "3", ("so luong", "so lao dong"))),
         "Một dòng cho mỗi xã × tháng × thị trường × giới tính × hình thức × nhóm. Báo cáo mới của "
         "một xã trong một tháng thay cho báo cáo cũ của xã đó trong tháng đó."),
    Kind("register", "Danh sách người lao động xuất cảnh (từng người)", "register_entries", "month",
         (Column("so_cccd", "Số CCCD/CMND", "person_id", True,
                 "12 số CCCD (hoặc 9 số CMND). Chỉ dùng để nhận ra một người được báo cáo hai lần; "
                 "không lưu số này.", "001095012345", ("cccd", "so cccd", "cmnd", "so dinh danh")),
          Column("ho_ten", "Họ và tên", "text", False, "Không lưu; chỉ để cán bộ đối chiếu.", "Nguyễn Văn A",
                 ("ho ten", "ten nguoi lao dong")),
          Column("ngay_xuat_canh", "Ngày xuất cảnh", "date", True, "Dạng DD/MM/YYYY.", "15/03/2026",
                 ("ngay di",)),
          SEX, *unit_columns(), MARKET, CHANNEL, GROUP,
          Column("don_vi_bao_cao", "Đơn vị báo cáo", "text", False,
                 "Xã hoặc doanh nghiệp gửi danh sách (để biết ai báo cáo trùng).", "Công ty ABC",
                 ("nguon", "doanh nghiep"))),
         "Một dòng mỗi người. Số CCCD chỉ được lưu dưới dạng mã băm có khóa, để gộp một người được cả xã "
         "và doanh nghiệp báo cáo; số liệu tổng hợp theo xã × tháng được tính lại từ danh sách."),
    Kind("job_fairs", "Tham gia sàn giao dịch việc làm", "job_fair_attendance", "month",
         (MONTH, *unit_columns(),
          Column("so_nguoi_tham_du", "Số người tham dự sàn", "count", True,
                 "Số người của xã dự sàn giao dịch việc làm trong tháng (chỉ thị: ít nhất 4).", "5",
                 ("tham du san", "so nguoi du san")),
          Column("so_dang_ky_dinh_huong", "Số đăng ký lớp định hướng", "count", False,
                 "Số người đăng ký học lớp định hướng.", "2", ("dang ky dinh huong",))),
         "Một dòng cho mỗi xã × tháng; báo cáo mới thay báo cáo cũ cùng xã, cùng tháng."),
    Kind("quotas", "Chỉ tiêu năm của các xã", "quotas", "year",
         (YEAR, *unit_columns(),
          Column("chi_tieu", "Chỉ tiêu", "count", True, "Số người được giao (số nguyên ≥ 0).", "25",
                 ("chi tieu giao", "so chi tieu"))),
         "Một dòng cho mỗi xã; chỉ tiêu tỉnh bằng tổng chỉ tiêu các xã. Mọi thay đổi được ghi nhật ký."),
    Kind("pools", "Nguồn đối tượng ưu tiên của xã", "eligible_pools", "year",
         (YEAR, *unit_columns(), replace(GROUP, required=True),
          Column("so_doi_tuong", "Số đối tượng", "count", True,
                 "Số người/hộ thuộc diện (ví dụ số hộ nghèo, số bộ đội xuất ngũ về địa phương năm nay).",
                 "120", ("so nguoi", "so ho"))),
         "Một dòng cho mỗi xã × nhóm ưu tiên × năm."),
    Kind("loans", "Vay vốn, về nước, vi phạm (theo xã, theo tháng)", "programme_monthly", "month",
         (MONTH, *unit_columns(),
          Column("so_khoan_vay", "Số khoản vay", "count", True,
                 "Số khoản vay Ngân hàng Chính sách xã hội cho người đi XKLĐ.", "2", ("so khoan vay nhcsxh",)),
          Column("so_tien_vay", "Số tiền vay (triệu đồng)", "amount", True, "Tổng số tiền, triệu đồng.", "160",
                 ("so tien", "du no")),
          Column("ve_nuoc", "Số người về nước", "count", False, "Để trống cột: giữ số đã có.", "1", ("ve nuoc",)),
          Column("vi_pham", "Vi phạm hợp đồng / ở lại trái phép", "count", False, "Để trống cột: giữ số đã có.",
                 "0", ("vi pham",)),
          Column("lua_dao", "Phản ánh lừa đảo", "count", False, "Để trống cột: giữ số đã có.", "0",
                 ("phan anh lua dao",))),
         "Một dòng cho mỗi xã × tháng; cột không có trong tệp giữ nguyên số đã có."),
)}
"""The kinds of report the intake accepts: the statistical reports declared here, and the kinds the
domain packages add through :func:`xkld_geo.intake.registry.add_kind` (the recruitment pipeline's,
protection's) when :mod:`xkld_geo.registrations` is imported."""

def kind(key: str) -> Kind:
    """The kind declared under ``key``, or an error listing the allowed kinds."""
    if key not in KINDS:
        raise IngestError(f"Loại báo cáo '{key}' không có; chọn một trong: {', '.join(KINDS)}.",
                          field="kind", value=key, allowed=list(KINDS))
    return KINDS[key]


def header_key(text: object) -> str:
    """A header compared without diacritics, case, punctuation or extra spaces."""
    folded = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9/]+", " ", folded).strip()


def column_label(position: int) -> str:
    """The spreadsheet letter of a 0-based column position: 0 → 'A', 26 → 'AA'."""
    label, n = "", position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def match_headers(k: Kind, headers: list[object], file: str) -> dict[str, int]:
    """Column key → position in ``headers``; refuses a file without a required column, and one
    where two columns give the same field (the same header twice, or two of its names), since
    either could be the one the clerk meant."""
    keys = [header_key(h) for h in headers]
    found: dict[str, int] = {}
    for col in k.columns:
        candidates = [header_key(c) for c in (col.header, col.key.replace("_", " "), *col.aliases)]
        positions = sorted({i for i, key in enumerate(keys) if key and key in candidates})
        if len(positions) > 1:
            shown = ", ".join(f"'{headers[i]}' (cột {column_label(i)})" for i in positions)
            raise IngestError(f"Tệp {file}: các cột {shown} đều là cột '{col.header}'; hãy giữ lại một cột "
                              "rồi nhập lại.", file=file, row=1, field=col.header,
                              columns=[column_label(i) for i in positions])
        if positions:
            found[col.key] = positions[0]
    missing = [c.header for c in k.columns if c.required and c.key not in found]
    has_units = any(c.key in ("ma_xa", "ten_xa") for c in k.columns)
    if has_units and "ma_xa" not in found and "ten_xa" not in found:
        missing.append("Mã xã hoặc Tên xã/phường")
    if missing:
        present = ", ".join(str(h) for h in headers if str(h or "").strip()) or "(không có)"
        raise IngestError(f"Tệp {file} thiếu cột bắt buộc: {', '.join(missing)}. Các cột có trong tệp: "
                          f"{present}. Hãy dùng mẫu '{k.title}'.", file=file, row=1, field=missing[0],
                          allowed=[c.header for c in k.columns])
    return found


def find_header_row(k: Kind, rows: list[list[object]]) -> int:
    """Index of the first of ``rows`` that holds the kind's required headers (a title may sit above)."""
    wanted = {header_key(c.header) for c in k.columns if c.required}
    for i, row in enumerate(rows):
        keys = {header_key(v) for v in row}
        if len(wanted & keys) >= max(1, len(wanted) - 1):
            return i
    return 0


def template_csv(key: str) -> bytes:
    """The CSV template: header and one example row, UTF-8 with BOM so Excel shows diacritics."""
    from xkld_geo.text import sheets

    k = kind(key)
    return sheets.csv_rows([[c.header for c in k.columns], [c.example for c in k.columns]])


def template_xlsx(key: str) -> bytes:
    """The XLSX template: a data sheet (header, example, codes as text) and a help sheet."""
    return template_xlsx_of(kind(key))


def template_xlsx_of(k: Kind) -> bytes:
    """The XLSX template of kind ``k`` (also the kinds outside :data:`KINDS`, e.g. the people in charge)."""
    from xkld_geo.text import sheets

    buffer = io.BytesIO()
    with sheets.workbook(buffer) as book:
        head = book.add_format({"bold": True, "bg_color": "#dbe8f5", "border": 1, "text_wrap": True})
        required = book.add_format({"bold": True, "bg_color": "#f9d9a8", "border": 1, "text_wrap": True})
        text = book.add_format({"num_format": "@"})
        sheet = sheets.add_sheet(book, "Dữ liệu")
        for i, col in enumerate(k.columns):
            sheets.write(sheet, 0, i, col.header, required if col.required else head)
            sheets.write(sheet, 1, i, col.example, text)
            sheet.set_column(i, i, max(14, len(col.header) + 2), text)
            sheet.write_comment(0, i, col.help)
        sheet.freeze_panes(1, 0)
        guide = sheets.add_sheet(book, "Hướng dẫn")
        guide.set_column(0, 0, 34)
        guide.set_column(1, 1, 100)
        sheets.write(guide, 0, 0, k.title, head)
        sheets.write(guide, 1, 0, k.note)
        for j, label in enumerate(["Cột", "Cách ghi (cột tô cam là bắt buộc)"]):
            sheets.write(guide, 3, j, label, head)
        for i, col in enumerate(k.columns, start=4):
            sheets.write(guide, i, 0, col.header)
            sheets.write(guide, i, 1, col.help)
    return buffer.getvalue()


