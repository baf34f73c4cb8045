"""Writes the data-intake test corpus (run once; the files are committed beside this script).

Every file is a report as it reaches the labour department, against the fictional country of
``tests/conftest.py`` (province 99 'Tỉnh Thử Nghiệm', communes 99001–99006 'Xã Thử 1..6';
province 98 'Thành phố Mẫu', 98001–98002 'Phường Mẫu 1..2'; old communes of the tiny crosswalk:
'Xã Cũ Một' and 'Xã Hợp Nhất' merged whole into 99001, 'Xã Bị Chia' split between 99002 and 99003).
The expected outcome of each file is written out in ``tests/test_ingest.py``.

Run: ``.venv/bin/python tests/data/make_corpus.py``.
"""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from xkld_geo.intake import charsets  # noqa: E402

HEADER = "Tháng,Mã xã,Tên xã/phường,Tỉnh/thành phố,Thị trường,Giới tính,Hình thức,Nhóm ưu tiên,Số người"
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

# Messy names in both Unicode forms, abbreviations, a bare code, old names of merged communes.
MESSY = [HEADER,
         "02/2026,,Xã Thử 1,Tỉnh Thử Nghiệm,Nhật Bản,Nam,Thực tập sinh kỹ thuật,Hộ nghèo,3",
         NFD("02/2026,,xã  thử 2,T. Thử Nghiệm,JP,Nữ,EPS,,2"),
         "02/2026,,X. Thử 3,99,Hàn Quốc,nam,dn,BĐXN,1",
         "02/2026,99004,,,Đài Loan,Nữ,Doanh nghiệp,,4",
         NFD("02/2026,,P. Mẫu 1,TP Mẫu,Nhật,nam,tts,,2"),
         "02/2026,,Xã Cũ Một,,Nhật Bản,Nam,Thực tập sinh kỹ thuật,Hộ nghèo,2",
         "02/2026,,XÃ HỢP NHẤT,Tỉnh Thử Nghiệm,KR,nam,EPS,,1"]

# A bad row in the middle (and a few more kinds of bad rows): what is good still goes in.
BAD_ROWS = [HEADER,
            "02/2026,99001,,,JP,nam,tts,,2",
            "02/2026,99002,,,JP,nam,tts,,1",
            "02/2026,99003,,,Mỹ,nam,tts,,3",
            "02/2026,99004,,,KR,nam,eps,,3",
            "02/2026,99005,,,TW,nu,dn,,-1",
            "02/2026,99005,,,JP,nu,dn,,2",
            "02/2026,,Xã Bị Chia,,JP,nam,tts,,1",
            "02/2026,,Xã Không Tồn Tại,99,JP,nam,tts,,1",
            "13/2026,99006,,,JP,nam,tts,,1"]

# A total row that disagrees with its details (99001) and one that agrees (99002).
TOTALS = [HEADER,
          "02/2026,99001,,,JP,nam,tts,,2",
          "02/2026,99001,,,KR,nam,eps,,1",
          "02/2026,99001,,,Tổng,,,,4",
          "02/2026,99002,,,JP,nu,tts,,1",
          "02/2026,99002,,,Tổng cộng,,,,1"]

REGISTER_HEADER = "Số CCCD/CMND,Họ và tên,Ngày xuất cảnh,Giới tính,Mã xã,Thị trường,Hình thức,Nhóm ưu tiên,Đơn vị báo cáo"
# The commune's list: three workers and an ID number that cannot be one.
REGISTER_COMMUNE = [REGISTER_HEADER,
                    "001095000001,Nguyễn Văn An,10/02/2026,Nam,99001,Nhật Bản,Thực tập sinh kỹ thuật,Hộ nghèo,UBND xã Thử 1",
                    "001095000002,Trần Thị Bình,12/02/2026,Nữ,99001,Hàn Quốc,EPS,,UBND xã Thử 1",
                    "001095000003,Lê Văn Cường,20/02/2026,Nam,99002,Nhật Bản,Thực tập sinh kỹ thuật,,UBND xã Thử 1",
                    "12345,Phạm Văn Dũng,21/02/2026,Nam,99002,Nhật Bản,Thực tập sinh kỹ thuật,,UBND xã Thử 1"]


def write_register_company(path: Path) -> None:
    """The company's list (XLSX): worker 2 again (a few days apart), worker 5 twice, worker 6 with
    an ID typed as a number (Excel dropped its leading zeros)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Dữ liệu")
    sheet.write_row(0, 0, REGISTER_HEADER.split(","))
    rows = [["001095000002", "Trần Thị Bình", "15/02/2026", "Nữ", "99001", "KR", "EPS", "", "Công ty Cung ứng ABC"],
            ["001095000005", "Hoàng Văn Em", "01/03/2026", "Nam", "99003", "JP", "TTS", "", "Công ty Cung ứng ABC"],
            ["001095000005", "Hoàng Văn Em", "01/03/2026", "Nam", "99003", "JP", "TTS", "", "Công ty Cung ứng ABC"],
            [1095000006, "Đỗ Thị Phương", "05/02/2026", "Nữ", "99004", "TW", "Doanh nghiệp", "", "Công ty Cung ứng ABC"]]
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    book.close()


def write_quotas(path: Path) -> None:
    """Quotas as an office sends them: a title above the header, a formula, a fractional quota."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Chỉ tiêu")
    sheet.write(0, 0, "CHỈ TIÊU ĐƯA NGƯỜI ĐI LÀM VIỆC Ở NƯỚC NGOÀI NĂM 2026")
    sheet.write_row(2, 0, ["Năm", "Mã xã", "Tên xã/phường", "Chỉ tiêu"])
    sheet.write_row(3, 0, [2026, "99001", "Xã Thử 1", 40])
    sheet.write_row(4, 0, [2026, "99002", "Xã Thử 2"])
    sheet.write_formula(4, 3, "=20+15", None, 35)       # read as its value, 35
    sheet.write_row(5, 0, [2026, "99003", "Xã Thử 3", 2.5])
    book.close()


def main() -> None:
    text = lambda rows: "\r\n".join(rows) + "\r\n"  # noqa: E731
    (HERE / "xa_thang02_lon_xon.csv").write_bytes(text(MESSY).encode("utf-8"))
    nfc = unicodedata.normalize("NFC", text(MESSY))
    (HERE / "xa_thang02_tcvn3.csv").write_bytes(charsets.to_tcvn3(nfc))
    (HERE / "xa_thang02_vni.csv").write_bytes(charsets.to_vni(nfc))
    (HERE / "xa_thang02_dong_loi.csv").write_bytes(text(BAD_ROWS).encode("utf-8-sig"))
    (HERE / "xa_thang02_tong_sai.csv").write_text(text(TOTALS).replace(",", ";"), encoding="utf-8")
    (HERE / "danh_sach_xa.csv").write_bytes(text(REGISTER_COMMUNE).encode("utf-8"))
    write_register_company(HERE / "danh_sach_cong_ty.xlsx")
    write_quotas(HERE / "chi_tieu_2026.xlsx")
    (HERE / "khong_phai_bang.csv").write_bytes(bytes(range(256)) * 8)


if __name__ == "__main__":
    main()
