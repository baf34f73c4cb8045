"""The planners' workbench: allocate a province's target, edit, save drafts, compare, approve."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from xkld_geo import maps
from xkld_geo.access import auth
from xkld_geo.errors import XkldError
from xkld_geo.figures import metrics, queries
from xkld_geo.planning import allocation, annex, plans, reallocation
from xkld_geo.text import labels
from xkld_geo.ui import tables
from xkld_geo.ui.admin import republish_after_change
from xkld_geo.ui.common import Filters, connection, demo_badge, plain, repainting_map, settings

COLUMNS = {"code": "Mã", "name": "Tên", "population": "Dân số", "last_year": "Kết quả năm trước (quy năm)",
           "current": "Chỉ tiêu hiện hành", "cap": "Mức trần", "frozen": "Giữ nguyên",
           "proposed": "Đề xuất", "difference": "Chênh lệch"}


def _params(base: pd.DataFrame, year: int) -> plans.Params:
    """The allocation controls."""
    default_target = plans.default_target(base)
    cols = st.columns(5)
    method = cols[0].selectbox("Phương pháp", list(allocation.METHODS), key="plan_method",
                               format_func=allocation.METHODS.get)
    weight = cols[1].slider("Tỷ trọng dân số (kết hợp)", 0.0, 1.0, 0.5, 0.05, key="plan_weight",
                            disabled=method != "blend")
    floor = int(cols[2].number_input("Mức sàn mỗi xã", 0, 1000, 4, key="plan_floor",
                                     help="Ví dụ: 4 người/tháng dự sàn việc làm cho thấy nguồn tối thiểu"))
    cap = cols[3].number_input("Mức trần (% năm trước, 0 = không)", 0, 1000, 150, 10, key="plan_cap")
    target = int(cols[4].number_input(f"Chỉ tiêu tỉnh năm {year}", 0, 10_000_000, default_target,
                                      key="plan_target"))
    frozen = tuple(sorted(st.session_state.get("plan_frozen", {}).items()))
    return plans.Params(target, method, float(weight), floor, float(cap) or None, frozen)


def _widget_values(params: plans.Params) -> dict[str, Any]:
    """The allocation controls' values that show ``params`` (cap 0 stands for no cap)."""
    return {"plan_target": int(params.target), "plan_method": params.method,
            "plan_weight": float(params.weight_population), "plan_floor": int(params.floor),
            "plan_cap": int(round(params.cap_pct)) if params.cap_pct else 0}


def _editor(table: pd.DataFrame) -> dict[str, Any]:
    """The editable table; returns the hand-edited proposals by commune code."""
    n = st.session_state.get("plan_editor_n", 0)
    shown = table[list(COLUMNS)].rename(columns=COLUMNS)
    edited = tables.edit(shown, key=f"plan_editor_{n}", hide_index=True, width="stretch", height=420,
                            disabled=[c for c in shown.columns if c != "Đề xuất"],
                            column_config={"Đề xuất": st.column_config.NumberColumn(step=1)})
    return plans.edited_values(edited["Mã"], shown["Đề xuất"], edited["Đề xuất"])


def _apply_edits(table: pd.DataFrame, edits: dict[str, Any]) -> None:
    """Accepted edits become frozen values (the rest is re-split); refused ones are explained."""
    ok, errors = plans.check_edits(table, edits)
    for message in errors:
        st.error(plain(message))
    if ok:
        st.session_state["plan_frozen"] = st.session_state.get("plan_frozen", {}) | ok
    if ok or errors:
        st.session_state["plan_editor_n"] = st.session_state.get("plan_editor_n", 0) + 1
        if ok and not errors:
            st.rerun()


def _allocation_tab(con: Any, f: Filters, user: auth.User, is_demo: bool) -> None:
    """Controls, the editable proposals, totals, the change map, saving and the year's plans.

    When the constraints cannot be met the reason is shown once and the table (kept values only),
    the totals and the unfreeze button stay, so the planner can edit or unfreeze to recover.
    """
    year = st.selectbox("Năm kế hoạch", [f.year + 1, f.year], key="plan_year")
    base = plans.base_table(con, year, f.province, settings().effective_today)  # type: ignore[arg-type]
    params = _params(base, year)
    table, error = plans.propose_or_explain(base, params)
    if error is not None:
        st.error(plain(error.message))
    _apply_edits(table, _editor(table))
    total = int(table["proposed"].sum())
    cols = st.columns(4)
    cols[0].metric("Chỉ tiêu tỉnh", metrics.fmt_int(params.target))
    cols[1].metric("Tổng đề xuất", metrics.fmt_int(total))
    cols[2].metric("Còn lại chưa phân bổ", metrics.fmt_int(params.target - total))
    cols[3].metric("Xã giữ nguyên", str(len(params.frozen)))
    if params.frozen and st.button("Bỏ mọi giá trị giữ nguyên", key="plan_unfreeze"):
        st.session_state["plan_frozen"] = {}
        st.rerun()
    if error is None:  # nothing to map or save until the constraints are met
        shapes = queries.shapes(con, "2025", "commune", "fine", f.province)
        idx = table.set_index("code")
        repainting_map(maps.change_spec(shapes, idx["current"], idx["proposed"], f"Thay đổi chỉ tiêu {year}",
                                        demo=is_demo), "plan_map", 460)
        _save_box(con, f, user, year, params, dict(zip(table["code"], table["proposed"].astype(int))))
    _plans_list(con, f, user, year, base)


def _save_box(con: Any, f: Filters, user: auth.User, year: int, params: plans.Params,
              quotas: dict[str, int]) -> None:
    """Name, comment and the two save buttons (a new version of the loaded draft, or a new plan)."""
    loaded = st.session_state.get("plan_loaded")  # (plan_id, version) of the draft being edited
    cols = st.columns([2, 3, 1, 1])
    name = cols[0].text_input("Tên phương án", key="plan_name", max_chars=120)
    comment = cols[1].text_input("Ghi chú", key="plan_comment", max_chars=500)
    for col, label, key, as_new in ((cols[2], "Lưu bản nháp", "plan_save", False),
                                    (cols[3], "Lưu thành mới", "plan_save_new", True)):
        if col.button(label, key=key):
            try:
                pid, version = plans.save_draft(
                    con, year=year, province=f.province, name=name, params=params, quotas=quotas, user=user,
                    comment=comment, plan_id=None if as_new or not loaded else loaded[0],
                    version=None if as_new or not loaded else loaded[1])
                st.session_state["plan_loaded"] = (pid, version)
                st.success(f"Đã lưu phương án số {pid} (phiên bản {version}).")
            except XkldError as exc:
                st.error(plain(exc.message))


def _load(con: Any, pick: int, base: pd.DataFrame) -> None:
    """Put a saved plan back in the controls: every parameter, name and comment, its kept communes."""
    head, quotas = plans.load(con, pick)
    params = plans.reload_params(base, head, quotas)  # reproduces the saved quotas exactly
    st.session_state["plan_frozen"] = dict(params.frozen)
    st.session_state["plan_loaded"] = (int(pick), int(head["version"]))
    st.session_state["plan_editor_n"] = st.session_state.get("plan_editor_n", 0) + 1
    # widget values are set before the widgets exist, on the next run (see common.apply_pending)
    st.session_state["_pending"] = _widget_values(params) | {"plan_name": str(head["name"]),
                                                              "plan_comment": str(head["comment"] or "")}
    st.rerun()


def _plan_name(listing: pd.DataFrame) -> Any:
    """How a picker names a plan: its number, name and status ("3: Phương án dân số (Bản nháp)")."""
    heads = listing.set_index("plan_id")

    def name(plan_id: int) -> str:
        head = heads.loc[plan_id]
        return f"{plan_id}: {head['name']} ({labels.label('plan_status', head['status'])})"
    return name


def _plans_list(con: Any, f: Filters, user: auth.User, year: int, base: pd.DataFrame) -> None:
    """The year's plans, and loading, submitting, approving and downloading the picked one."""
    listing = plans.list_plans(con, year, f.province)  # type: ignore[arg-type]
    if not len(listing):
        st.caption("Chưa có phương án nào cho năm này.")
        return
    tables.show(labels.labelled(listing, {"status": "plan_status", "method": "method"}), hide_index=True,
                width="stretch", key="plans_table")
    pick = st.selectbox("Phương án", list(listing["plan_id"]), key="plan_pick", format_func=_plan_name(listing))
    head = listing.set_index("plan_id").loc[pick]
    if "_plan_flash" in st.session_state:
        st.success(st.session_state.pop("_plan_flash"))
    cols = st.columns(5)
    try:
        if cols[0].button("Tải để sửa", key="plan_load"):
            _load(con, pick, base)
        if cols[1].button("Trình duyệt", key="plan_submit", disabled=head["status"] != "draft"):
            plans.submit(con, pick, user)
            st.rerun()
        if auth.allowed(user, "approve_plans") and cols[2].button(
                "Phê duyệt", key="plan_approve", disabled=head["status"] != "submitted"):
            with st.status("Đang phê duyệt và cập nhật chỉ tiêu các xã…") as status:
                changed = plans.approve(con, pick, user)
                republish_after_change(con, "Phê duyệt")
                status.update(label="Đã phê duyệt.", state="complete")
            # the annex download is drawn from the plan's new status: run again now, not on a later click
            st.session_state["_plan_flash"] = f"Đã phê duyệt; {changed} chỉ tiêu xã thay đổi. Tải phụ lục ở dưới."
            st.rerun()
    except XkldError as exc:
        st.error(plain(exc.message))
    if head["status"] == "approved":
        province_name = queries.unit(con, f.province)["name"].iloc[0]  # type: ignore[arg-type]
        cols[3].download_button("⬇ Phụ lục (XLSX)", key="plan_xlsx", file_name=f"phu-luc-chi-tieu-{year}.xlsx",
                                data=lambda: annex.annex_xlsx(con, pick, province_name),
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        cols[4].download_button("⬇ CSV", key="plan_csv", file_name=f"chi-tieu-{year}.csv",
                                data=lambda: annex.annex_csv(con, pick), mime="text/csv")


def _midyear_tab(con: Any, f: Filters, user: auth.User) -> None:
    """The proposed mid-year moves, which the planner accepts or edits, and saving them as a draft."""
    rows, moves = reallocation.reallocation_table(con, f.year, f.month, f.province, floor=4,
                                              today=settings().effective_today)  # type: ignore[arg-type]
    st.caption("Dự báo cả năm = lũy kế × 12 / số tháng đã qua (tháng đang diễn ra tính theo số ngày). Xã dự báo thiếu nhường phần thiếu cho xã dự báo vượt; "
               "tổng chỉ tiêu của tỉnh không đổi.")
    if not moves:
        st.info("Không có đề xuất điều chỉnh.")
        return
    table = pd.DataFrame({"Từ xã": [m.from_code for m in moves], "Sang xã": [m.to_code for m in moves],
                          "Số lượng": [m.amount for m in moves], "Chấp nhận": True,
                          "Lý do": [m.reason for m in moves]})
    edited = tables.edit(table, key="moves_editor", hide_index=True, width="stretch",
                            disabled=["Từ xã", "Sang xã", "Lý do"])
    quotas = dict(zip(rows["unit_code"], rows["quota"].astype(int)))
    try:
        accepted = plans.accepted_moves(
            edited[["Từ xã", "Sang xã", "Số lượng", "Chấp nhận"]].itertuples(index=False))
        after = allocation.apply_moves(quotas, accepted)
    except XkldError as exc:
        st.error(plain(exc.message))
        return
    st.metric("Tổng chỉ tiêu sau điều chỉnh", metrics.fmt_int(sum(after.values())),
              delta=f"{sum(m.amount for m in accepted)} người được chuyển", delta_color="off")
    if st.button("Lưu thành bản nháp", key="moves_save"):
        params = plans.Params(sum(after.values()), "population", 0.5, 4, None, tuple(after.items()))
        pid, _ = plans.save_draft(con, year=f.year, province=f.province, params=params, quotas=after, user=user,
                                  name=f"Điều chỉnh giữa năm T{f.month}/{f.year}", comment="đề xuất tự động")
        st.success(f"Đã lưu phương án số {pid}.")


def _compare_tab(con: Any, f: Filters, is_demo: bool) -> None:
    """Two plans of the year side by side, and the map of their difference."""
    year = st.session_state.get("plan_year", f.year + 1)
    listing = plans.list_plans(con, year, f.province)  # type: ignore[arg-type]
    if len(listing) < 2:
        st.info("Cần ít nhất hai phương án của năm để so sánh.")
        return
    ids, name = list(listing["plan_id"]), _plan_name(listing)
    a = st.selectbox("Phương án A", ids, key="cmp_a", index=1, format_func=name)
    b = st.selectbox("Phương án B", ids, key="cmp_b", index=0, format_func=name)
    diff = plans.compare(con, a, b)
    tables.show(diff.rename(columns={"code": "Mã", "a": f"A: {name(a)}", "b": f"B: {name(b)}",
                                      "difference": "Chênh lệch (B − A)"}), hide_index=True, width="stretch")
    shapes = queries.shapes(con, "2025", "commune", "fine", f.province)
    idx = diff.set_index("code")
    repainting_map(maps.change_spec(shapes, idx["a"], idx["b"], f"{name(b)} so với {name(a)}", demo=is_demo),
                   "cmp_map", 420)


def render_workbench(f: Filters, user: auth.User) -> None:
    """The three tabs of the workbench for the province chosen in the sidebar."""
    if not f.province:
        st.info("Chọn một tỉnh ở thanh bên để phân bổ chỉ tiêu cho các xã.")
        return
    con = connection()
    is_demo = queries.meta(con).get("contains_demo") == "true"
    demo_badge(is_demo)  # last year's results and the quotas in force are demo figures
    tabs = st.tabs(["Phân bổ chỉ tiêu năm", "Điều chỉnh giữa năm", "So sánh phương án"])
    with tabs[0]:
        _allocation_tab(con, f, user, is_demo)
    with tabs[1]:
        _midyear_tab(con, f, user)
    with tabs[2]:
        _compare_tab(con, f, is_demo)
