"""The page menu: Vietnamese titles grouped by who uses them, the same URLs as the page files.

Streamlit would name pages after their files ("Cong khai", "app"); ``st.navigation`` gives them
their real titles. Every page is listed for everyone: each page checks the role itself on the
server (a page left out of the menu would also vanish from bookmarked URLs before login).
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from xkld_geo.settings import PROJECT_ROOT


@dataclass(frozen=True)
class PageEntry:
    """One page of the menu: its file under ``pages/``, title, icon and URL path. Icons are emoji:
    Streamlit's Material icons would be fetched from a font server, and the app works offline."""

    file: str
    title: str
    icon: str
    url_path: str


MENU: dict[str, tuple[PageEntry, ...]] = {
    "Lãnh đạo": (
        PageEntry("0_Tong_quan.py", "Tổng quan", "🗺️", ""),
        PageEntry("2_Nhom_uu_tien.py", "Nhóm ưu tiên", "👥", "Nhom_uu_tien"),
        PageEntry("3_Thi_truong.py", "Thị trường", "✈️", "Thi_truong"),
        PageEntry("4_San_viec_lam.py", "Sàn việc làm", "📅", "San_viec_lam"),
        PageEntry("5_Vay_von_van_de.py", "Vay vốn, về nước, vi phạm", "🏦",
                  "Vay_von_van_de"),
        PageEntry("10_Tinh_hinh_bao_cao.py", "Tình hình báo cáo", "📬", "Tinh_hinh_bao_cao"),
        PageEntry("12_Bao_cao_dinh_ky.py", "Báo cáo định kỳ", "📄", "Bao_cao_dinh_ky"),
        PageEntry("13_Thi_dua.py", "Thi đua cuối năm", "🏅", "Thi_dua"),
    ),
    "Công khai": (
        PageEntry("1_Cong_khai.py", "Thông tin công khai", "📢", "Cong_khai"),
    ),
    "Nghiệp vụ": (
        PageEntry("6_Phan_bo_chi_tieu.py", "Phân bổ chỉ tiêu", "🧮", "Phan_bo_chi_tieu"),
        PageEntry("7_Nhap_du_lieu.py", "Nhập dữ liệu", "📥", "Nhap_du_lieu"),
        PageEntry("11_Nguoi_phu_trach.py", "Người phụ trách", "📇", "Nguoi_phu_trach"),
        PageEntry("9_Quan_tri.py", "Quản trị", "⚙️", "Quan_tri"),
    ),
}
"""Sections of the menu and their pages; the first page is the default (the overview)."""


def navigation() -> None:
    """Build the menu and run the page the URL asks for."""
    pages = {section: [st.Page(str(PROJECT_ROOT / "pages" / p.file), title=p.title, icon=p.icon,
                               url_path=p.url_path or None, default=not p.url_path)
                       for p in entries]
             for section, entries in MENU.items()}
    st.navigation(pages).run()
