"""Import templates of the protection kinds, declared like the other report kinds and added to
:data:`xkld_geo.intake.kinds.KINDS`: the register of cases, the families' clubs, the returnees.

Column kinds the generic cell checks do not know (``case_kind``, ``case_status``, ``licence``,
``occupation``) pass through them as typed and are checked by :mod:`xkld_geo.protection.intake`.
"""
from __future__ import annotations

from xkld_geo.intake.columns import MARKET, MONTH, YEAR, Column, Kind, unit_columns

CASES = Kind("cases", "Sổ vụ việc: người lao động gặp khó khăn, lừa đảo, vi phạm (nội bộ)", "cases", "date",
             (Column("ma_vu_viec", "Mã vụ việc", "text", True,
                     "Mã của vụ việc (chữ, số, . _ / -), duy nhất; nhập lại cùng mã để cập nhật trạng thái.",
                     "VV-2026-00001", ("ma vv", "so vu viec")),
              Column("loai", "Loại vụ việc", "case_kind", True,
                     "Lừa đảo / Vi phạm hợp đồng / Cư trú bất hợp pháp / Gặp khó khăn (bảo hộ) / "
                     "Tranh chấp lao động / Tử vong, tai nạn.", "Vi phạm hợp đồng", ("loai vu viec",)),
              Column("ngay_tiep_nhan", "Ngày tiếp nhận", "date", True, "Dạng DD/MM/YYYY.", "02/03/2026",
                     ("ngay nhan",)),
              *unit_columns(), MARKET,
              Column("so_giay_phep", "Số giấy phép doanh nghiệp", "licence", False,
                     "Số giấy phép của doanh nghiệp đưa đi (danh sách doanh nghiệp được cấp phép); để trống nếu "
                     "không có.", "", ("so giay phep", "giay phep")),
              Column("trang_thai", "Trạng thái", "case_status", False,
                     "Đã tiếp nhận / Đang xác minh / Đang giải quyết / Đã kết thúc (để trống: Đã tiếp nhận).",
                     "Đang xác minh", ("tinh trang",)),
              Column("ngay_trang_thai", "Ngày chuyển trạng thái", "date", False,
                     "Ngày của trạng thái ghi trong tệp (để trống: ngày tiếp nhận).", "05/03/2026", ()),
              Column("co_quan", "Cơ quan giải quyết", "text", False, "Ví dụ: Sở Nội vụ, Công an tỉnh, Đại sứ quán.",
                     "Sở Nội vụ", ("co quan xu ly",)),
              Column("ket_qua", "Kết quả", "text", False, "Bắt buộc khi trạng thái là Đã kết thúc.", "",
                     ("ket qua giai quyet",)),
              Column("ghi_chu", "Ghi chú nội bộ", "text", False,
                     "Chỉ dùng nội bộ, không bao giờ công khai. KHÔNG ghi họ tên, số CCCD của người lao động.",
                     "", ("ghi chu",))),
             "Một dòng mỗi vụ việc, không có họ tên. Nhập lại cùng mã vụ việc để chuyển trạng thái (chỉ theo thứ tự "
             "Đã tiếp nhận → Đang xác minh → Đang giải quyết → Đã kết thúc); mỗi lần chuyển được ghi nhật ký.")

CLUBS = Kind("clubs", "Câu lạc bộ gia đình có con em đi làm việc ở nước ngoài", "family_clubs", "year",
             (YEAR, *unit_columns(),
              Column("so_clb", "Số câu lạc bộ", "count", True, "Số câu lạc bộ của xã.", "1", ("so cau lac bo",)),
              Column("so_thanh_vien", "Số gia đình thành viên", "count", True, "Số gia đình tham gia.", "35",
                     ("so thanh vien",)),
              Column("so_buoi_sinh_hoat", "Số buổi sinh hoạt trong năm", "count", True,
                     "Số buổi sinh hoạt đã tổ chức từ đầu năm.", "4", ("so buoi sinh hoat", "so buoi"))),
             "Một dòng cho mỗi xã × năm; báo cáo mới thay báo cáo cũ cùng xã, cùng năm.")

RETURNEES = Kind("returnees", "Người lao động về nước: nghề và việc làm sau khi về", "returnees", "month",
                 (MONTH, *unit_columns(), MARKET,
                  Column("nghe", "Nghề khi về nước", "occupation", True,
                         "Nghề người lao động về làm (ví dụ Cơ khí, Điện tử, Xây dựng); 'Chưa xác định' nếu chưa rõ.",
                         "Cơ khí", ("nghe nghiep", "nghe sau khi ve")),
                  Column("so_ve_nuoc", "Số người về nước", "count", True, "Số người về trong tháng.", "3",
                         ("ve nuoc",)),
                  Column("so_co_viec_lam", "Số người đã có việc làm", "count", True,
                         "Trong số người về, số đã có việc làm (không lớn hơn số người về).", "2",
                         ("co viec lam", "so co viec"))),
                 "Một dòng cho mỗi xã × tháng × thị trường × nghề; báo cáo mới của một xã trong một tháng thay "
                 "báo cáo cũ của xã đó trong tháng đó.")

PROTECTION_KINDS: tuple[Kind, ...] = (CASES, CLUBS, RETURNEES)
