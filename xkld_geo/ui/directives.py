"""Pages for what the directives track besides head counts: priority groups, markets, job fairs,
and loans / returns / problems. Each follows the shared filters (year, month, province, commune)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler
from streamlit_folium import st_folium

from xkld_geo import auth, maps, metrics, periods, queries, references
from xkld_geo.build import programme
from xkld_geo.errors import XkldError
from xkld_geo.protection.problems import RULE
from xkld_geo.ui.common import Filters, connection, demo_badge, plain, repainting_map, settings
from xkld_geo.views import jobfairs, markets, priority


def _demo(con: Any) -> bool:
    is_demo = queries.meta(con).get("contains_demo") == "true"
    demo_badge(is_demo)
    return is_demo


SELECTED_STYLE = "background-color: #fff3cd; font-weight: 600"
"""How the selected commune's row is marked in a page's tables."""


def _unit_map(con: Any, f: Filters, values: pd.Series, legend: str, title: str, tooltip: tuple, key: str,
              is_demo: bool, classes: tuple | None = None, labels: pd.Series | None = None) -> None:
    """A choropleth of ``values`` (indexed by unit code) over provinces or a province's communes.

    The selected commune (if any) is outlined on top of its province's communes.
    """
    level = "province" if f.province is None else "commune"
    shapes = queries.shapes(con, "2025", level, "coarse" if f.province is None else "fine", f.province)
    props = pd.DataFrame({"value": values}).reindex(shapes["code"])
    if labels is not None:
        props["label"] = labels.reindex(shapes["code"])
    props["fill"] = [maps.colour_for(v, classes) for v in props["value"]]
    selected = shapes[shapes["code"] == f.commune] if f.province and f.commune else None
    caption = f"Viền đậm: {selected['name'].iloc[0]}" if selected is not None and len(selected) else None
    spec = maps.ChoroplethSpec(shapes, props, None, title, is_demo, overlay=selected, classes=legend,
                               tooltip=tooltip, label=caption)
    repainting_map(spec, key, 560)  # new figures repaint the drawn map and keep its zoom


def _commune_name(con: Any, f: Filters, rows: pd.DataFrame) -> str:
    """The selected commune's name, from the page's rows or else from the gazetteer."""
    found = rows.loc[rows["unit_code"] == f.commune, "unit_name"]
    if len(found):
        return str(found.iloc[0])
    unit = queries.unit(con, str(f.commune))
    return str(unit["name"].iloc[0]) if len(unit) else str(f.commune)


def _commune_headline(name: str, figures: list[tuple[str, str]] | None, key: str) -> None:
    """The selected commune's own figures, in a box above its province's map and table."""
    with st.container(border=True, key=key):
        st.markdown(f"**Xã/phường đang chọn: {plain(name)}**")
        if not figures:
            st.write("Chưa có số liệu của xã/phường này trong kỳ.")
            return
        for col, (label, value) in zip(st.columns(len(figures)), figures):
            col.metric(label, value)


def _selected_first(data: pd.DataFrame, commune: str | None, code_column: str = "Mã") -> pd.DataFrame:
    """``data`` with the selected commune's row moved to the top (unchanged without a selection)."""
    if commune is None:
        return data
    first = data[code_column] == commune
    return pd.concat([data[first], data[~first]])


def _highlight(styler: Styler, commune: str | None, code_column: str = "Mã",
               subset: list[str] | None = None) -> Styler:
    """Colour the selected commune's row (or its ``subset`` cells, which must include ``code_column``)."""
    if commune is None:
        return styler
    return styler.apply(lambda row: [SELECTED_STYLE if row[code_column] == commune else ""] * len(row),
                        axis=1, subset=subset)


def _marked(data: pd.DataFrame, commune: str | None, code_column: str = "Mã") -> pd.DataFrame | Styler:
    """A page's table with the selected commune first and highlighted; the plain table otherwise.

    Whole-number float columns (sums from the database) are shown as integers either way, and a
    Styler keeps other floats to one decimal (pandas would print six), so both views read alike.
    """
    data = data.copy()
    for column in data.columns:
        values = data[column]
        if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
            data[column] = values.astype("Int64")
    if commune is None or not (data[code_column] == commune).any():
        return data
    data = _selected_first(data, commune, code_column)
    return _highlight(data.style.format(precision=1, na_rep="–"), commune, code_column)


def render_priority(f: Filters) -> None:
    """Share of departures from a priority group, and coverage of its eligible pool."""
    con = connection()
    is_demo = _demo(con)
    group = st.selectbox("Nhóm ưu tiên", list(priority.GROUPS), key="priority_group",
                         format_func=priority.GROUPS.get)
    rows = priority.shares(con, f.year, f.month, f.province, group)
    st.caption("Một người lao động có thể thuộc nhiều nhóm: được tính một lần trong \"Tất cả nhóm ưu tiên\" "
               "và một lần trong mỗi nhóm của mình.")
    st.subheader(f"{priority.GROUPS[group]}: tỷ lệ trong số người đi, tháng 1–{f.month}/{f.year}")
    total, in_group = rows["total"].sum(), rows["in_group"].sum()
    cols = st.columns(3)
    cols[0].metric("Số người đi thuộc nhóm", metrics.fmt_int(in_group))
    cols[1].metric("Tỷ lệ trong số người đi", priority.label(100.0 * in_group / total if total else None))
    cols[2].metric("Đơn vị cần chú ý", str(int(rows["attention"].sum())),
                   help="Nhiều hộ nghèo (¼ cao nhất) nhưng tỷ lệ người ưu tiên thấp (¼ thấp nhất)")
    if f.province and f.commune:
        own = rows[rows["unit_code"] == f.commune]
        _commune_headline(_commune_name(con, f, rows), [
            ("Tổng số người đi", metrics.fmt_int(own["total"].iloc[0])),
            ("Số người đi thuộc nhóm", metrics.fmt_int(own["in_group"].iloc[0])),
            ("Tỷ lệ trong số người đi", priority.label(own["share_pct"].iloc[0])),
            ("Độ bao phủ nguồn", priority.label(own["coverage_pct"].iloc[0])),
            ("Cần chú ý", "Có" if own["attention"].iloc[0] else "Không"),
        ] if len(own) else None, "priority_commune")
    shares = rows.set_index("unit_code")
    _unit_map(con, f, shares["share_pct"], "share", "Tỷ lệ người thuộc nhóm",
              (("label", "Tỷ lệ trong số người đi", ""),), "priority_map", is_demo,
              classes=maps.LEGENDS["share"][:-1], labels=pd.Series(
                  [priority.label(v) for v in shares["share_pct"]], index=shares.index))
    st.dataframe(_marked(priority.table(rows), f.commune), hide_index=True, width="stretch", key="priority_table")


def render_markets(f: Filters, user: auth.User) -> None:
    """Flow map, market mix over time, safe share, income and cost, and where a market's workers come from."""
    con = connection()
    is_demo = _demo(con)
    mix = markets.by_market(con, f.year, f.month, f.province, f.commune)
    cols = st.columns(3)
    cols[0].metric("Số người đi", metrics.fmt_int(mix["departures"].sum()))
    cols[1].metric("Đến thị trường an toàn, thu nhập cao", metrics.fmt_pct(markets.safe_share(mix)))
    cols[2].metric("Số thị trường", str(int((mix["departures"] > 0).sum())))
    st_folium(markets.flow_map(con, mix, markets.origin_point(con, f.province), settings().static_url, is_demo),
              key="flow_map", height=520, use_container_width=True, returned_objects=[])
    st.markdown("**Cơ cấu thị trường theo tháng**")
    st.bar_chart(markets.monthly_mix(con, f.year, f.province), height=300, stack=True)
    used = mix[mix["departures"] > 0]
    market = st.selectbox("Xem nơi đi của người lao động sang thị trường", list(used["market"]) or ["JP"],
                          key="market_pick", format_func=dict(zip(mix["market"], mix["name_vi"])).get)
    origins = markets.origins(con, f.year, f.month, f.province, market).set_index("unit_code")["departures"]
    legend = "departures_province" if f.province is None else "departures_commune"
    _unit_map(con, f, origins, legend, f"Số người đi {market}", (("value", "Số người đi", ""),),
              "market_origin_map", is_demo, classes=maps.LEGENDS[legend][:-1])
    st.markdown("**Thu nhập và chi phí ước tính theo thị trường** (bảng tham chiếu, có nguồn)")
    reference = references.read(con, "markets")
    if auth.allowed(user, "edit_reference"):
        edited = st.data_editor(reference, key="reference_editor", hide_index=True, width="stretch",
                                num_rows="dynamic")
        if st.button("Lưu bảng thị trường", key="reference_save"):
            try:
                st.success(f"Đã lưu {references.save(con, 'markets', edited, user)} thị trường.")
            except XkldError as exc:
                st.error(plain(exc.message))
    else:
        st.dataframe(reference, hide_index=True, width="stretch", key="reference_table")


def render_jobfairs(f: Filters) -> None:
    """Compliance with "at least 4 people a month", the calendar table, and who missed twice running."""
    con = connection()
    is_demo = _demo(con)
    today, due_day = settings().effective_today, settings().report_due_day
    last = jobfairs.last_month(f.year, f.month, today, due_day)
    pending = "" if last == f.month else (
        f" Báo cáo tháng {last + 1}/{f.year} hạn ngày "
        f"{periods.due_date(f.year, last + 1, due_day):%d/%m/%Y}, chưa tính.")
    st.caption(f"Chỉ thị: mỗi xã đưa ít nhất {jobfairs.TARGET} người/tháng tới sàn giao dịch việc làm của tỉnh. "
               f"Kỳ tính: tháng 1–{last}/{f.year}; tháng xã không báo cáo tính là không đạt (0 người)."
               + pending)
    if last == 0:
        st.info(f"Năm {f.year}: chưa đến hạn báo cáo tháng nào.")
        return
    if f.province is None:
        rows = jobfairs.province_compliance(con, f.year, f.month, today, due_day)
        _unit_map(con, f, rows.set_index("unit_code")["pct"], "compliance", "Tỷ lệ lượt xã-tháng đạt (%)",
                  (("value", "Tỷ lệ đạt (%)", ""),), "jobfair_map", is_demo)
        st.dataframe(rows.rename(columns={
            "unit_code": "Mã", "unit_name": "Tên", "met": "Lượt xã-tháng đạt", "elapsed": "Lượt xã-tháng trong kỳ",
            "pct": "Tỷ lệ đạt (%)", "attendees": "Lượt dự sàn", "registrations": "Đăng ký lớp định hướng",
            "reported": "Lượt xã-tháng có báo cáo", "met_full": "Lượt xã-tháng đạt đủ (dự sàn và đăng ký định hướng)",
            "pct_full": "Tỷ lệ đạt đủ (%)"}), hide_index=True, width="stretch", key="jobfair_provinces")
        return
    monthly = jobfairs.monthly(con, f.year, f.month, f.province, today, due_day)
    comp = jobfairs.compliance(monthly)
    labels = pd.Series([f"{m}/{e}" for m, e in zip(comp["met"], comp["elapsed"])], index=comp["unit_code"])
    total = jobfairs.province_total(comp)
    cols = st.columns(5)
    cols[4].metric("Toàn tỉnh: đạt đủ (dự sàn và đăng ký định hướng)", metrics.fmt_pct(total["pct_full"]),
                   help=f"Tháng có ít nhất {jobfairs.TARGET} người dự sàn VÀ ít nhất {jobfairs.TARGET} người đăng ký "
                        "học định hướng, đúng như chỉ thị.")
    cols[0].metric("Toàn tỉnh: lượt xã-tháng đạt", f"{total['met']}/{total['elapsed']}")
    cols[1].metric("Toàn tỉnh: tỷ lệ đạt", metrics.fmt_pct(total["pct"]))
    cols[2].metric("Toàn tỉnh: lượt dự sàn", metrics.fmt_int(total["attendees"]))
    cols[3].metric("Toàn tỉnh: đăng ký lớp định hướng", metrics.fmt_int(total["registrations"]))
    if f.commune:
        own = comp[comp["unit_code"] == f.commune]
        _commune_headline(_commune_name(con, f, comp), [
            (f"Số tháng đạt ≥ {jobfairs.TARGET} người", labels[f.commune]),
            ("Tỷ lệ tháng đạt", metrics.fmt_pct(own["pct"].iloc[0])),
            ("Tháng có báo cáo", f"{own['reported'].iloc[0]}/{own['elapsed'].iloc[0]}"),
            ("Lượt dự sàn", metrics.fmt_int(own["attendees"].iloc[0])),
            ("Hai tháng liền không đạt", "Có" if own["missed_two"].iloc[0] else "Không"),
        ] if len(own) else None, "jobfair_commune")
    _unit_map(con, f, comp.set_index("unit_code")["pct"], "compliance", f"Số tháng đạt ≥ {jobfairs.TARGET} người",
              (("label", "Số tháng đạt", ""),), "jobfair_map", is_demo, labels=labels)
    table = pd.DataFrame({"Mã": comp["unit_code"], "Tên": comp["unit_name"],
                          "Số tháng đạt": labels.to_numpy(),
                          "Số tháng đạt đủ (dự sàn và đăng ký định hướng)": [
                              f"{m}/{e}" for m, e in zip(comp["met_full"], comp["elapsed"])],
                          "Tháng có báo cáo": comp["reported"],
                          "Lượt dự sàn": comp["attendees"], "Đăng ký lớp định hướng": comp["registrations"],
                          "Hai tháng liền không đạt": comp["missed_two"].map({True: "Có", False: ""})})
    st.dataframe(_marked(table, f.commune), hide_index=True, width="stretch", key="jobfair_table")
    st.markdown(f"**Lịch dự sàn theo tháng** (ô dưới {jobfairs.TARGET} tô đỏ; ô \"–\": xã chưa báo cáo, "
                "tính là không đạt)")
    calendar = _selected_first(jobfairs.calendar(monthly), f.commune)
    months = [c for c in calendar.columns if c[1:].isdigit()]  # T1..T12, not "Tên"
    styled = calendar.style.map(lambda v: "background-color: #f9dcdc" if pd.isna(v) or v < jobfairs.TARGET
                                else "background-color: #dbeaf5", subset=months).format(na_rep="–")
    st.dataframe(_highlight(styled, f.commune, subset=["Mã", "Tên"]), hide_index=True, width="stretch",
                 key="jobfair_calendar")
    missed = comp[comp["missed_two"]]
    st.markdown(f"**Xã hai tháng liền không đạt: {len(missed)}**")
    st.markdown(plain(", ".join(missed["unit_name"])) or "Không có.")


def render_programme(f: Filters) -> None:
    """Loans, returns, contract breaches / illegal stay and fraud reports per unit, with a map."""
    con = connection()
    is_demo = _demo(con)
    rows = programme.problems(con, f.year, f.month, f.province)
    st.caption(RULE)
    totals = rows[list(programme.PROBLEM_COLUMNS)].sum()
    cols = st.columns(len(programme.PROBLEM_COLUMNS))
    for col, (key, label) in zip(cols, programme.PROBLEM_COLUMNS.items()):
        col.metric(label, metrics.fmt_int(totals[key]))
    if f.province and f.commune:
        own = rows[rows["unit_code"] == f.commune]
        _commune_headline(_commune_name(con, f, rows), [
            (label, metrics.fmt_int(own[key].iloc[0])) for key, label in programme.PROBLEM_COLUMNS.items()
        ] if len(own) else None, "problem_commune")
    measure = st.radio("Bản đồ theo", list(programme.PROBLEM_COLUMNS)[2:], key="problem_measure",
                       format_func=programme.PROBLEM_COLUMNS.get, horizontal=True)
    legend = "departures_province" if f.province is None else "departures_commune"
    _unit_map(con, f, rows.set_index("unit_code")[measure], legend, programme.PROBLEM_COLUMNS[measure],
              (("value", programme.PROBLEM_COLUMNS[measure], ""),), "problem_map", is_demo,
              classes=maps.LEGENDS[legend][:-1])
    st.dataframe(_marked(rows.rename(columns={"unit_code": "Mã", "unit_name": "Tên"} | programme.PROBLEM_COLUMNS),
                         f.commune), hide_index=True, width="stretch", key="problem_table")
