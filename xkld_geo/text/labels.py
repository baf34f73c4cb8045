"""Vietnamese labels of the codes the database stores: statuses, roles, kinds, methods, outcomes,
audit actions and column names. One registry, so that a screen, an export and a document show
``Bản nháp`` where the database says ``draft``, and a code never reaches a person.

The vocabularies owned elsewhere (roles in :mod:`xkld_geo.access.auth`, allocation methods in
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
    "form_import": "Nhập dữ liệu từ biểu mẫu", "password_changed": "Đổi mật khẩu",
    "users_imported": "Tạo tài khoản từ tệp", "totp_enabled": "Bật xác thực hai bước",
    "totp_removed": "Gỡ xác thực hai bước", "notify_contact": "Sửa địa chỉ nhận thông báo",
    "notify_subscription": "Bật/tắt loại thông báo", "notify_webhook": "Sửa địa chỉ webhook của tỉnh",
    "outbox_resend": "Gửi lại thư thông báo",
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
    from xkld_geo.access import auth
    return auth.ROLES


def _methods() -> Mapping[str, str]:
    from xkld_geo.planning import allocation
    return allocation.METHODS


def _kinds() -> Mapping[str, str]:
    from xkld_geo.intake import kinds
    return {key: k.title for key, k in kinds.KINDS.items()}


def _actions() -> Mapping[str, str]:
    from xkld_geo.reporting import approval

    return (AUDIT_ACTIONS | {f"import_{k}": f"Nhập dữ liệu: {v.lower()}" for k, v in IMPORT_OUTCOMES.items()}
            | {f"month_{k}": f"Báo cáo tháng của xã: {v.lower()}" for k, v in approval.ACTIONS.items()})


def _case_labels() -> Mapping[str, str]:
    from xkld_geo.protection import cases

    return cases.KIND_LABELS | cases.STATUS_LABELS


def _notification_kinds() -> Mapping[str, str]:
    from xkld_geo.notifications import subscriptions

    return subscriptions.KINDS


_DETAILS: tuple[tuple[str, str], ...] = (
    (r"^version=(\d+)$", "phiên bản {0}"),
    (r"^(\d+) quotas changed$", "{0} chỉ tiêu thay đổi"),
    (r"^(\d+) rows$", "{0} dòng"),
    (r"^source=(.*)$", "từ địa chỉ {0}"),
    (r"^role=([a-z_]+); scope=(.*)$", "vai trò: {role0}; phạm vi: {1}"),
    (r"^agency/outcome/note$", "cơ quan, kết quả, ghi chú"),
    (r"^([a-z_]+); received$", "{case0}; {case_received}"),
    (r"^([a-z_]+) → ([a-z_]+)$", "{case0} → {case1}"),
    (r"^email=(.*) tinh=(.*)$", "thư điện tử: {0}; tỉnh: {1}"),
)
"""Audit details written as ``key=value`` or in English by older code, and their Vietnamese form
(``{N}`` a captured group, ``{roleN}``/``{caseN}`` the group's label): older lines keep their stored
text, the screen shows the Vietnamese."""


def audit_detail(action: str, target: object, detail: object) -> tuple[str, str]:
    """The audit line's target and detail as a person reads them: codes by their labels
    (``departures:file.xlsx`` → ``Số người xuất cảnh: file.xlsx``, ``role=clerk`` → ``vai trò: Cán bộ
    nhập liệu``, a case's ``received → verifying`` → ``Đã tiếp nhận → Đang xác minh``)."""
    import re

    shown_target = "" if target is None or (not isinstance(target, str) and pd.isna(target)) else str(target)
    shown_detail = "" if detail is None or (not isinstance(detail, str) and pd.isna(detail)) else str(detail)
    if action in ("import", "form_import") and ":" in shown_target:
        kind, _, rest = shown_target.partition(":")
        shown_target = f"{label('kind', kind)}: {rest}"
    elif action == "notify_subscription":
        shown_target = _notification_kinds().get(shown_target, shown_target)
    elif action == "month_import" and shown_target.startswith("import:"):
        shown_target = f"lần nhập {shown_target.removeprefix('import:')}"
    roles, cases = _roles(), _case_labels()
    for pattern, template in _DETAILS:
        found = re.match(pattern, shown_detail)
        if found:
            groups = found.groups()
            shown_detail = template.format(
                *groups, case_received=cases.get("received", "received"),
                **{f"role{i}": roles.get(g, g) for i, g in enumerate(groups)},
                **{f"case{i}": cases.get(g, g) for i, g in enumerate(groups)})
            break
    return shown_target, shown_detail


def audit_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The audit log as read by ``auth.audit_entries`` (Vietnamese headers), with actions, targets
    and details in Vietnamese (:func:`audit_detail`)."""
    out = frame.copy()
    if len(out):
        pairs = [audit_detail(str(a), t, d) for a, t, d in zip(out["Việc"], out["Đối tượng"], out["Chi tiết"])]
        out["Đối tượng"] = [t for t, _ in pairs]
        out["Chi tiết"] = [d for _, d in pairs]
    return labelled(out, {"Việc": "audit_action"})


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
