"""The building blocks of import templates: a column, a kind of report, and the columns many kinds
share (the unit columns, month, year, market, sex, channel, priority group).

Declared apart from :mod:`xkld_geo.intake.kinds` so that every family of kinds (the statistical
reports, the recruitment pipeline, protection) builds on them without importing the registry.
"""
from __future__ import annotations

from dataclasses import dataclass

COLUMN_TYPES = ("month", "year", "date", "count", "amount", "market", "sex", "channel", "group",
                "unit_code", "unit_name", "province", "district", "person_id", "text",
                "plan_date", "code", "occupation", "order_status", "course_type")


@dataclass(frozen=True)
class Column:
    """One column of a template: ``key`` is its stable identifier, ``header`` what people see."""

    key: str
    header: str
    kind: str                     # one of COLUMN_TYPES: how values are parsed and checked
    required: bool
    help: str
    example: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """A kind of report: its columns, the table it feeds and what a row's natural key is."""

    key: str
    title: str
    table: str
    period: str                   # 'month' or 'year': the reporting period of a row
    columns: tuple[Column, ...]
    note: str

    def column(self, key: str) -> Column:
        """The column declared under ``key``."""
        return next(c for c in self.columns if c.key == key)


NOT_READ = frozenset({"ho_ten"})
"""Columns a template shows for the clerk's own checking that the importer never reads: worker
names are not stored (and a million distinct names would only slow the text checks)."""


def unit_columns(required_name: bool = False) -> tuple[Column, ...]:
    return (
        Column("ma_xa", "Mã xã", "unit_code", False,
               "Mã xã/phường 5 chữ số (mã 2025, hoặc mã cũ trước 1/7/2025). Có mã thì không cần tên.",
               "40123", ("ma xa/phuong", "ma don vi")),
        Column("ten_xa", "Tên xã/phường", "unit_name", required_name,
               "Tên xã/phường/đặc khu (mới hoặc cũ), ví dụ 'Xã Diễn Châu', 'P. 01'.", "Xã Diễn Châu",
               ("ten xa", "xa/phuong", "ten don vi", "xa")),
        Column("tinh", "Tỉnh/thành phố", "province", False,
               "Tên hoặc mã 2 số của tỉnh (mới hoặc cũ); giúp phân biệt các xã trùng tên.", "Nghệ An",
               ("tinh", "tinh/thanh", "tinh thanh pho")),
        Column("huyen_cu", "Huyện cũ", "district", False,
               "Chỉ khi dùng tên xã cũ (trước 1/7/2025): tên huyện/quận cũ.", "",
               ("huyen", "quan/huyen", "huyen/quan")),
    )


MONTH = Column("thang", "Tháng", "month", True, "Tháng báo cáo, dạng MM/YYYY (ví dụ 03/2026).", "03/2026",
               ("thang bao cao", "ky bao cao"))
YEAR = Column("nam", "Năm", "year", True, "Năm (4 chữ số).", "2026", ("nam ke hoach",))
MARKET = Column("thi_truong", "Thị trường", "market", True,
                "Mã nước (JP, KR, TW, DE...) hoặc tên tiếng Việt (Nhật Bản, Hàn Quốc...).", "Nhật Bản",
                ("nuoc den", "quoc gia"))
SEX = Column("gioi_tinh", "Giới tính", "sex", True, "Nam hoặc Nữ.", "Nam", ("gioi",))
CHANNEL = Column("kenh", "Hình thức", "channel", True,
                 "Hợp đồng qua doanh nghiệp / Chương trình EPS / Thực tập sinh kỹ thuật.", "Thực tập sinh kỹ thuật",
                 ("kenh", "hinh thuc di"))
GROUP = Column("nhom_uu_tien", "Nhóm ưu tiên", "group", False,
               "Bộ đội xuất ngũ, Hộ nghèo, Hộ cận nghèo, Gia đình chính sách, Dân tộc thiểu số, Gia đình bị ảnh "
               "hưởng sự cố môi trường biển 2016, Học sinh tốt nghiệp không học tiếp, Người thất nghiệp, Người lao "
               "động ở huyện nghèo; danh sách từng người ghi được nhiều nhóm, cách nhau bởi dấu ';'. "
               "Để trống nếu không thuộc nhóm nào.", "Hộ nghèo", ("doi tuong", "nhom"))
