"""The data clerk's page: templates to download, a report to import, what happened, the import log."""
from __future__ import annotations

import re
from typing import Any

import streamlit as st

from xkld_geo.access import auth, scope
from xkld_geo.errors import XkldError
from xkld_geo.intake import ingest, kinds
from xkld_geo.text import formats, labels
from xkld_geo.ui import tables
from xkld_geo.ui.admin import republish_after_change
from xkld_geo.ui.common import connection, settings

REPORT_KEY = "_import_report"
MARKDOWN_SIGNS = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation sign: Markdown lets a backslash take each one literally."""


def plain(text: str) -> str:
    """``text`` for st.error / st.success, shown as typed: file names and header cells come from the
    uploaded file, so a '[link](http://...)', an image, HTML, ':red[...]' or '$...$' in them must not
    become a link, a fetched image or markup on an official message. Bare URLs stop being links too."""
    return MARKDOWN_SIGNS.sub(r"\\\1", text)


def _report(report: ingest.ImportReport) -> None:
    """Counts, the outcome, the refused rows and their file."""
    cols = st.columns(5)
    for col, (label, value) in zip(cols, (("Số dòng", report.rows), ("Nhận", report.accepted),
                                          ("Đã có từ trước", report.already_present), ("Bị từ chối", report.rejected),
                                          ("Gộp trùng (người)", report.duplicates_merged))):
        col.metric(label, formats.fmt_int(value))
    text = f"Lần nhập số {report.import_id}. {report.summary()}"
    if report.encoding not in ("utf-8", "utf-8-sig", "xlsx"):
        text += f" Bảng mã của tệp: {report.encoding} (đã chuyển sang Unicode)."
    {"ok": st.success, "unchanged": st.info, "partial": st.warning, "rejected": st.error}[report.outcome](plain(text))
    if report.rejected:
        st.caption("Các dòng bị từ chối (sửa trong tệp gốc theo số dòng rồi nhập lại; dòng đã nhận không bị ghi hai lần):")
        tables.show(report.rejects.head(500), hide_index=True, width="stretch", key="import_rejects_table")
        stem = report.file.rsplit(".", 1)[0]
        cols = st.columns(2)
        cols[0].download_button("Tải các dòng bị từ chối (CSV)", report.rejects_csv(), f"{stem}.bi-tu-choi.csv",
                                "text/csv", key="import_rejects_csv")
        cols[1].download_button("Tải các dòng bị từ chối (XLSX)", report.rejects_xlsx(), f"{stem}.bi-tu-choi.xlsx",
                                key="import_rejects_xlsx")


def progress_text(stage: str, done: int, total: int | None) -> tuple[str, float | None]:
    """The live line of an import's progress (:data:`ingest.Progress`) and its bar's fraction."""
    if stage == "read":
        of = f" / {formats.fmt_int(total)}" if total else ""
        return f"Đã đọc {formats.fmt_int(done)}{of} dòng…", (min(done / total, 1.0) * 0.6 if total else None)
    if stage == "checked":
        return (f"Đã kiểm tra {formats.fmt_int(done)} dòng, {formats.fmt_int(total or 0)} xã/phường; "
                "đang ghi vào cơ sở dữ liệu…", 0.8)
    return f"Đã ghi {formats.fmt_int(done)} dòng được nhận.", 1.0


def _progress(counter: Any, bar: Any) -> ingest.Progress:
    """A callback for ``ingest.import_file`` that rewrites ``counter`` and moves ``bar`` as the
    import reads, checks and writes (each call sends its element to the browser at once)."""
    def told(stage: str, done: int, total: int | None) -> None:
        text, fraction = progress_text(stage, done, total)
        counter.write(text)
        if fraction is not None:
            bar.progress(fraction)
    return told


def render_imports(user: auth.User) -> None:
    """Templates, the upload form and its report, then the newest imports."""
    con = connection()
    kind = st.selectbox("Loại báo cáo", scope.import_kinds(user, kinds.KINDS), key="import_kind",
                        format_func=lambda k: kinds.KINDS[k].title)
    spec = kinds.KINDS[kind]
    st.caption(spec.note)
    cols = st.columns(2)
    cols[0].download_button("Tải mẫu XLSX", kinds.template_xlsx(kind), f"mau-{kind}.xlsx", key="template_xlsx")
    cols[1].download_button("Tải mẫu CSV", kinds.template_csv(kind), f"mau-{kind}.csv", "text/csv",
                            key="template_csv")
    limit = settings().max_upload_mb
    upload = st.file_uploader(f"Tệp báo cáo (CSV hoặc XLSX, tối đa {limit:.0f} MB)", type=["csv", "txt", "xlsx"],
                              key="import_file", max_upload_size=max(1, int(limit)))
    if st.button("Nhập dữ liệu", key="import_run", type="primary", disabled=upload is None) and upload is not None:
        # the page stays busy, and says with what, until the import is written and published
        with st.status(f"Đang nhập tệp {plain(upload.name)}…", expanded=True) as status:
            place = st.empty()

            def waiting(ahead: int) -> None:
                place.info(f"Máy chủ đang nhập {ahead} tệp lớn trước tệp của bạn; tệp của bạn đứng thứ {ahead + 1} "
                           "trong hàng đợi và sẽ được nhập ngay khi đến lượt. Xin đừng tải lại trang.")
            try:
                status.write(f"Đọc và kiểm tra từng dòng của tệp ({upload.size / 1e6:.1f} MB)…".replace(".", ","))
                counter, bar = st.empty(), st.progress(0.0)
                st.session_state[REPORT_KEY] = done = ingest.import_file(con, upload.getvalue(), upload.name, kind,
                                                                         user, settings(),   # its scope applies
                                                                         on_wait=waiting,
                                                                         on_progress=_progress(counter, bar))
                place.empty()
                status.write(f"Đã đọc {formats.fmt_int(done.rows)} dòng, nhận {formats.fmt_int(done.accepted)}.")
                if done.accepted:
                    status.write("Cập nhật bản dữ liệu mở…")
                    republish_after_change(con, "Dữ liệu")
                status.update(label=f"Đã nhập xong tệp {plain(upload.name)}: kết quả ở dưới.", state="complete",
                              expanded=False)
            except XkldError as exc:
                st.session_state.pop(REPORT_KEY, None)
                place.empty()
                status.update(label="Không nhập được tệp.", state="error")
                st.error(plain(exc.message))
    if REPORT_KEY in st.session_state:
        _report(st.session_state[REPORT_KEY])
    st.subheader("Nhật ký nhập liệu")
    log = scope.own_rows(user, ingest.import_log(con), user_column="Người nhập")   # a company: its own imports
    tables.show(labels.labelled(log, {"Loại": "kind", "Kết quả": "import_outcome"}),
                hide_index=True, width="stretch", key="import_log_table", empty="Chưa có lần nhập nào.")
