"""Vietnamese labels of the codes the database stores: statuses, roles, kinds, methods, outcomes,
audit actions and column names. One registry, so that a screen, an export and a document show
``Bản nháp`` where the database says ``draft``, and a code never reaches a person.

The vocabularies owned elsewhere (roles in :mod:`xkld_geo.auth`, allocation methods in
:mod:`xkld_geo.planning.allocation`, report kinds in :mod:`xkld_geo.intake.kinds`) are looked up
there, not copied: :func:`label` reads them through :data:`VOCABULARIES`.
"""
from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd

PLAN_STATUSES: dict[str, str] = {"draft": "Bản nháp", "submitted": "Đã trình duyệt", "approved": "Đã phê duyệt",
                                 "superseded": "Đã được thay thế"}
IMPORT_OUTCOMES: dict[str, str] = {"ok": "Đã nhận đủ", "unchanged": "Không có gì mới", "partial": "Nhận một phần",
                                   "rejected": "Bị từ chối", "refused": "Không đọc được tệp",
                                   "failed": "Lỗi khi ghi", "write_failed": "Lỗi khi ghi"}
AUDIT_ACTIONS: dict[str, str] = {
    "login": "Đăng nhập", "login_failed": "Đăng nhập sai", "logout": "Đăng xuất",
    "user_added": "Thêm tài khoản", "user_disabled": "Khóa tài khoản", "user_enabled": "Mở khóa tài khoản",
    "plan_saved": "Lưu phương án", "plan_submitted": "Trình phương án", "plan_approved": "Phê duyệt phương án",
    "import": "Nhập dữ liệu", "written": "Ghi dữ liệu nhập",
    "release_published": "Phát hành dữ liệu mở", "reference_edited": "Sửa bảng tham chiếu",
    "notice_saved": "Sửa thông báo công khai", "people_edit": "Sửa người phụ trách",
    "people_import": "Nhập danh sách người phụ trách", "case_opened": "Ghi vụ việc mới",
    "case_status": "Chuyển trạng thái vụ việc", "case_updated": "Cập nhật vụ việc",
    "emulation_criteria": "Sửa tiêu chí thi đua", "emulation_approve": "Duyệt xếp loại thi đua",
}
"""What each audit line records; ``import_<outcome>`` lines are named by :data:`IMPORT_OUTCOMES`."""

COLUMNS: dict[str, str] = {
    "plan_id": "Số phương án", "name": "Tên", "status": "Trạng thái", "method": "Phương pháp",
    "author": "Người lập", "updated_at": "Cập nhật lúc", "version": "Phiên bản", "comment": "Ghi chú",
    "total": "Tổng chỉ tiêu", "code": "Mã", "unit_code": "Mã", "unit_name": "Đơn vị", "username": "Tài khoản",
    "display_name": "Tên hiển thị", "role": "Vai trò", "disabled": "Đã khóa", "at_time": "Thời điểm",
    "action": "Việc", "target": "Đối tượng", "detail": "Chi tiết", "kind": "Loại", "outcome": "Kết quả",
    "province_code": "Mã tỉnh", "province_name": "Tỉnh/thành", "commune_code": "Mã xã", "commune_name": "Xã/phường",
    "quota": "Chỉ tiêu", "departures": "Số người xuất cảnh", "population": "Dân số", "year": "Năm",
    "month": "Tháng", "market": "Thị trường", "company": "Doanh nghiệp", "phone": "Điện thoại", "email": "Thư điện tử",
    "title": "Chức vụ", "source": "Nguồn", "note": "Ghi chú", "url": "Địa chỉ",
    "name_vi": "Tên tiếng Việt", "name_en": "Tên tiếng Anh", "region": "Khu vực",
    "safe_high_income": "An toàn, thu nhập cao", "avg_income_usd": "Thu nhập bình quân (USD/tháng)",
    "avg_cost_usd": "Chi phí bình quân (USD)", "full_name": "Họ và tên", "position": "Chức vụ",
    "licence_no": "Số giấy phép", "markets": "Thị trường", "valid_until": "Hiệu lực đến", "continent": "Châu lục",
}
"""Vietnamese headers of the database's column names, for tables shown as they are read."""


def _roles() -> Mapping[str, str]:
    from xkld_geo import auth
    return auth.ROLES


def _methods() -> Mapping[str, str]:
    from xkld_geo.planning import allocation
    return allocation.METHODS


def _kinds() -> Mapping[str, str]:
    from xkld_geo.intake import kinds
    return {key: k.title for key, k in kinds.KINDS.items()}


def _actions() -> Mapping[str, str]:
    return AUDIT_ACTIONS | {f"import_{k}": f"Nhập dữ liệu: {v.lower()}" for k, v in IMPORT_OUTCOMES.items()}


VOCABULARIES: dict[str, Callable[[], Mapping[str, str]]] = {
    "plan_status": lambda: PLAN_STATUSES, "import_outcome": lambda: IMPORT_OUTCOMES, "audit_action": _actions,
    "role": _roles, "method": _methods, "kind": _kinds, "column": lambda: COLUMNS,
}
"""Name of a vocabulary → its labels by code."""


def label(vocabulary: str, code: object) -> str:
    """The Vietnamese label of ``code`` in ``vocabulary``; an unknown code is shown as it is
    (a stored value the registry does not know yet: a test lists every code the app writes)."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):  # type: ignore[arg-type]
        return ""
    return VOCABULARIES[vocabulary]().get(str(code), str(code))


def labelled(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with the codes of ``columns`` (column → vocabulary) replaced by their labels and
    every header named in :data:`COLUMNS` given its Vietnamese name."""
    out = frame.copy()
    for column, vocabulary in columns.items():
        if column in out.columns:
            labels = VOCABULARIES[vocabulary]()
            out[column] = out[column].map(lambda c: labels.get(str(c), str(c)) if isinstance(c, str) else c)
    return out.rename(columns={c: COLUMNS[c] for c in out.columns if c in COLUMNS})
