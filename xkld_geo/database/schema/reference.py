"""The small reference tables the build loads: destination markets, priority groups, channels.

Markets are an ``edited`` table: administrators correct incomes, costs and sources in the app, and
a rebuild keeps their rows (see :data:`xkld_geo.database.schema.tables.KEPT_TABLES`).
"""
from __future__ import annotations

MARKETS: list[tuple[str, str, str, str, bool, int | None, int | None, str]] = [
    # code, name_vi, name_en, region, safe & high income, income USD/month, cost USD, source
    ("JP", "Nhật Bản", "Japan", "Đông Bắc Á", True, 1200, 5500, "Ước tính minh họa; cần cập nhật từ DOLAB"),
    ("TW", "Đài Loan (Trung Quốc)", "Taiwan", "Đông Bắc Á", True, 900, 4500, "Ước tính minh họa; cần cập nhật từ DOLAB"),
    ("KR", "Hàn Quốc", "South Korea", "Đông Bắc Á", True, 1600, 1000, "Chương trình EPS; ước tính minh họa"),
    ("DE", "Đức", "Germany", "Châu Âu", True, 2500, 3000, "Ước tính minh họa"),
    ("CN", "Trung Quốc", "China", "Đông Bắc Á", False, 700, 2000, "Ước tính minh họa"),
    ("HU", "Hungary", "Hungary", "Châu Âu", True, 1000, 3500, "Ước tính minh họa"),
    ("SG", "Singapore", "Singapore", "Đông Nam Á", True, 1000, 3000, "Ước tính minh họa"),
    ("RO", "Romania", "Romania", "Châu Âu", False, 800, 3500, "Ước tính minh họa"),
    ("PL", "Ba Lan", "Poland", "Châu Âu", True, 1000, 4000, "Ước tính minh họa"),
    ("HK", "Hồng Kông (Trung Quốc)", "Hong Kong", "Đông Bắc Á", False, 600, 1500, "Ước tính minh họa"),
    ("MY", "Malaysia", "Malaysia", "Đông Nam Á", False, 450, 1200, "Ước tính minh họa"),
    ("SA", "Ả Rập Xê Út", "Saudi Arabia", "Trung Đông", False, 500, 1000, "Ước tính minh họa"),
    ("RU", "Nga", "Russia", "Châu Âu", False, 700, 2500, "Ước tính minh họa"),
    ("MO", "Ma Cao (Trung Quốc)", "Macao", "Đông Bắc Á", False, 700, 1500, "Ước tính minh họa"),
]

PRIORITY_GROUPS: list[tuple[str, str, str, bool]] = [
    # the groups the directives name; a registered worker may be in several (worker_groups), and
    # register_entries.priority_group keeps the first of them in this order (its "primary" group)
    ("bo_doi_xuat_ngu", "Bộ đội xuất ngũ", "Demobilised soldiers", True),
    ("ho_ngheo", "Hộ nghèo", "Poor households", True),
    ("ho_can_ngheo", "Hộ cận nghèo", "Near-poor households", True),
    ("gia_dinh_chinh_sach", "Gia đình chính sách", "Policy families", True),
    ("dan_toc_thieu_so", "Dân tộc thiểu số", "Ethnic minorities", True),
    ("su_co_moi_truong_bien", "Gia đình bị ảnh hưởng sự cố môi trường biển 2016",
     "Families hit by the 2016 marine incident", True),
    ("hoc_sinh_khong_hoc_tiep", "Học sinh tốt nghiệp không học tiếp", "School leavers not going on to study", True),
    ("that_nghiep", "Người thất nghiệp", "Unemployed people", True),
    ("huyen_ngheo", "Người lao động ở huyện nghèo", "Workers from poor districts", True),
    ("khac", "Khác", "Other", False),
]

CHANNELS: list[tuple[str, str, str]] = [
    ("doanh_nghiep", "Hợp đồng qua doanh nghiệp", "Company contract"),
    ("eps", "Chương trình EPS (công)", "Public EPS programme"),
    ("thuc_tap_sinh", "Thực tập sinh kỹ thuật", "Technical intern"),
]
