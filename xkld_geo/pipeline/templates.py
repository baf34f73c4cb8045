"""Import templates of the pipeline: recruitment orders, their interviews per commune, training courses.

Declared with the same :class:`~xkld_geo.intake.kinds.Column` and :class:`~xkld_geo.intake.kinds.Kind`
as the statistical reports, so the same code makes their XLSX/CSV templates, recognises their
headers and checks their cells; :mod:`xkld_geo.pipeline.imports` then checks what needs the
database (a licensed company, an existing order, passed ≤ interviewed) and writes them by their
natural key (an order; an order × commune; a course × commune), so a re-import replaces, never adds.
"""
from __future__ import annotations

from dataclasses import replace

from xkld_geo.database.schema.pipeline import COURSE_TYPES, ORDER_STATUSES
from xkld_geo.intake.columns import MARKET, Column, Kind, unit_columns
from xkld_geo.reporting.profiles import OCCUPATIONS

OCCUPATION_ALIASES: dict[str, str] = {
    "san xuat": "san_xuat", "che bien": "san_xuat", "che tao": "san_xuat", "co khi": "san_xuat",
    "dien tu": "san_xuat", "may mac": "san_xuat", "thuc pham": "san_xuat", "xay dung": "xay_dung",
    "nong nghiep": "nong_nghiep", "thuy san": "nong_nghiep", "ngu nghiep": "nong_nghiep",
    "dieu duong": "dieu_duong", "ho ly": "dieu_duong", "cham soc": "dieu_duong", "dich vu": "dich_vu",
    "nha hang": "dich_vu", "khach san": "dich_vu", "giup viec": "dich_vu", "khac": "khac"}
STATUS_ALIASES: dict[str, str] = {"thong bao": "announced", "moi thong bao": "announced", "dang tuyen": "recruiting",
                                  "tuyen": "recruiting", "phong van": "interviewed", "da tuyen": "interviewed",
                                  "xuat canh": "departed", "hoan thanh": "departed", "huy": "cancelled"}
COURSE_ALIASES: dict[str, str] = {"nghe": "vocational", "day nghe": "vocational", "ngoai ngu": "language",
                                  "tieng": "language", "dinh huong": "orientation", "gddh": "orientation",
                                  "boi duong kien thuc can thiet": "orientation"}

ORDER = Column("ma_don_hang", "Mã đơn hàng", "code", True,
               "Số/mã đơn hàng do doanh nghiệp hoặc Sở công bố (chữ, số, '-', '/', '.').", "DH-2026-015",
               ("don hang", "so don hang"))
OCCUPATION = Column("nganh_nghe", "Ngành nghề", "occupation", True,
                    "Sản xuất, chế biến, chế tạo / Xây dựng / Nông nghiệp, thủy sản / Điều dưỡng, hộ lý / "
                    "Dịch vụ / Khác.", "Xây dựng", ("nghe", "nganh"))

ORDERS = Kind("orders", "Đơn hàng tuyển lao động", "recruitment_orders", "none", (
    ORDER,
    Column("so_giay_phep", "Số giấy phép doanh nghiệp", "code", True,
           "Số giấy phép hoạt động dịch vụ đưa người lao động đi làm việc ở nước ngoài (phải có trong danh "
           "sách doanh nghiệp được cấp phép).", "123/LĐTBXH-GP", ("giay phep", "so giay phep")),
    Column("tinh", "Tỉnh/thành phố", "province", False,
           "Tỉnh thông báo đơn hàng (tên hoặc mã 2 số); để trống nếu đơn hàng tuyển toàn quốc.", "Nghệ An",
           ("tinh thong bao",)),
    MARKET, OCCUPATION,
    Column("so_cho", "Số chỉ tiêu tuyển", "count", True, "Số người đơn hàng cần tuyển.", "30",
           ("so luong tuyen", "chi tieu tuyen", "so cho")),
    Column("yeu_cau", "Yêu cầu", "text", False, "Tuổi, giới tính, trình độ, sức khỏe, ngoại ngữ...",
           "Nam 20–35 tuổi, tốt nghiệp THPT", ("yeu cau tuyen",)),
    Column("chi_phi_usd", "Chi phí (USD)", "amount", False, "Tổng chi phí người lao động phải trả, USD.",
           "4500", ("chi phi",)),
    Column("thu_nhap_usd", "Thu nhập dự kiến (USD/tháng)", "amount", False, "Thu nhập dự kiến mỗi tháng, USD.",
           "1200", ("thu nhap", "thu nhap du kien")),
    Column("ngay_thong_bao", "Ngày thông báo", "date", True, "Dạng DD/MM/YYYY, không sau hôm nay.", "05/01/2026",
           ("ngay cong bo",)),
    Column("ngay_phong_van", "Ngày phỏng vấn", "plan_date", False, "Dạng DD/MM/YYYY; có thể là ngày sắp tới.",
           "20/02/2026", ("ngay thi tuyen",)),
    Column("ngay_xuat_canh_du_kien", "Ngày xuất cảnh dự kiến", "plan_date", False,
           "Dạng DD/MM/YYYY; có thể là ngày sắp tới.", "15/06/2026", ("ngay xuat canh", "du kien xuat canh")),
    Column("trang_thai", "Trạng thái", "order_status", True, ", ".join(ORDER_STATUSES.values()) + ".",
           "Đang tuyển", ("tinh trang",)),
), "Một dòng mỗi đơn hàng; nhập lại cùng mã đơn hàng thì thay thông tin cũ của đơn hàng đó.")

INTERVIEWS = Kind("interviews", "Kết quả phỏng vấn đơn hàng theo xã", "order_interviews", "none", (
    ORDER, *unit_columns(),
    Column("so_phong_van", "Số người dự phỏng vấn", "count", True, "Số người của xã dự phỏng vấn đơn hàng.",
           "8", ("du phong van", "so du tuyen")),
    Column("so_trung_tuyen", "Số người trúng tuyển", "count", True, "Không lớn hơn số người dự phỏng vấn.",
           "5", ("trung tuyen", "so dat")),
    Column("so_xuat_canh", "Số người đã xuất cảnh", "count", False,
           "Số người trúng tuyển đã xuất cảnh theo đơn hàng (không lớn hơn số trúng tuyển); để trống là 0.",
           "0", ("da xuat canh",)),
), "Một dòng cho mỗi đơn hàng × xã; đơn hàng phải đã được nhập. Báo cáo mới thay báo cáo cũ cùng đơn hàng, "
   "cùng xã. Chỉ ghi số người, không ghi tên.")

TRAINING = Kind("training", "Khóa đào tạo nghề, ngoại ngữ, giáo dục định hướng theo xã", "training_courses",
                "ngay_bat_dau", (
    Column("ma_khoa", "Mã khóa học", "code", True, "Mã khóa/lớp do cơ sở đào tạo đặt.", "NN-JP-2026-03",
           ("ma lop", "khoa hoc")),
    Column("loai_khoa", "Loại khóa", "course_type", True, ", ".join(COURSE_TYPES.values()) + ".",
           "Giáo dục định hướng", ("loai", "loai lop")),
    Column("don_vi_dao_tao", "Cơ sở đào tạo", "text", True, "Tên cơ sở/doanh nghiệp tổ chức khóa học.",
           "Trường Cao đẳng nghề ABC", ("co so dao tao", "don vi to chuc")),
    replace(MARKET, required=False, help="Thị trường khóa học hướng tới (có thể để trống)."),
    replace(OCCUPATION, required=False, help="Ngành nghề (có thể để trống)."),
    replace(ORDER, required=False, help="Đơn hàng khóa học chuẩn bị cho (nếu có; phải đã được nhập)."),
    Column("ngay_bat_dau", "Ngày bắt đầu", "date", True, "Dạng DD/MM/YYYY, không sau hôm nay.", "02/03/2026",
           ("bat dau", "ngay khai giang")),
    Column("ngay_ket_thuc", "Ngày kết thúc", "plan_date", True, "Dạng DD/MM/YYYY; khóa đang học: ngày dự kiến.",
           "13/03/2026", ("ket thuc", "ngay be giang")),
    *unit_columns(),
    Column("so_ghi_danh", "Số học viên ghi danh", "count", True, "Số học viên của xã ghi danh.", "12",
           ("ghi danh", "so hoc vien")),
    Column("so_hoan_thanh", "Số học viên hoàn thành", "count", True,
           "Không lớn hơn số ghi danh; khóa chưa kết thúc: 0.", "11", ("hoan thanh",)),
), "Một dòng cho mỗi khóa học × xã; báo cáo mới thay báo cáo cũ cùng khóa, cùng xã.")

PIPELINE_KINDS: dict[str, Kind] = {k.key: k for k in (ORDERS, INTERVIEWS, TRAINING)}
LOOKUPS: dict[str, tuple[dict[str, str], dict[str, str], str]] = {
    "occupation": (OCCUPATIONS, OCCUPATION_ALIASES, "ngành nghề"),
    "order_status": (ORDER_STATUSES, STATUS_ALIASES, "trạng thái"),
    "course_type": (COURSE_TYPES, COURSE_ALIASES, "loại khóa"),
}
"""Column type → (code → label, extra spellings → code, what it is): the lists a cell must name."""
