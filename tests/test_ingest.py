"""Data intake on the corpus in tests/data (see make_corpus.py): exact outcomes for every file.

The fictional country (tests/conftest.py) with its crosswalk: 'Xã Cũ Một' and 'Xã Hợp Nhất' merged
whole into 99001, 'Xã Bị Chia' split between 99002 and 99003. Today is 15 March 2026.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page
from xkld_geo.database import db
from xkld_geo.errors import IngestError
from xkld_geo.intake import charsets, ingest, kinds
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.warehouse import assembly

DATA = Path(__file__).parent / "data"
FEB = "2026-02-01"
MESSY_ROWS = {
    ("99001", "JP", "nam", "thuc_tap_sinh", "ho_ngheo"): 5,   # 'Xã Thử 1' 3 + old 'Xã Cũ Một' 2
    ("99001", "KR", "nam", "eps", "khac"): 1,                 # old 'XÃ HỢP NHẤT'
    ("99002", "JP", "nu", "eps", "khac"): 2,                  # NFD 'xã  thử 2'
    ("99003", "KR", "nam", "doanh_nghiep", "bo_doi_xuat_ngu"): 1,
    ("99004", "TW", "nu", "doanh_nghiep", "khac"): 4,         # code only
    ("98001", "JP", "nam", "thuc_tap_sinh", "khac"): 2,       # 'P. Mẫu 1', 'TP Mẫu'
}


def _import(con, settings: Settings, name: str, kind: str = "departures", **changes) -> ingest.ImportReport:
    return ingest.import_file(con, (DATA / name).read_bytes(), name, kind, "can_bo",
                              dataclasses.replace(settings, **changes))


def _entered(con, month: str = FEB) -> dict[tuple[str, ...], int]:
    rows = con.execute("SELECT commune_code, market, sex, channel, priority_group, departures FROM departures "
                       "WHERE month = CAST($m AS DATE) AND NOT is_demo", {"m": month}).fetchall()
    return {tuple(r[:5]): r[5] for r in rows}


def _process_env(settings: Settings) -> dict[str, str]:
    """The environment of a separate process (the command line) working on ``settings``' database."""
    return os.environ | {"XKLD_DB": str(settings.db_path), "XKLD_DATA_DIR": str(settings.data_dir),
                         "XKLD_TODAY": settings.today.isoformat(), "XKLD_ID_KEY_FILE": str(settings.id_key_file)}


def _state(con) -> tuple:
    """Everything an import may touch, summed up."""
    return tuple(con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchone()
                 for t in ("departures", "quotas", "job_fair_attendance", "register_entries", "import_changes"))


@pytest.mark.parametrize("name, encoding", [("xa_thang02_lon_xon.csv", "utf-8"),
                                            ("xa_thang02_tcvn3.csv", "tcvn3"),
                                            ("xa_thang02_vni.csv", "vni")])
def test_messy_names_in_every_encoding(history_con, history_db: Settings, name: str, encoding: str) -> None:
    report = _import(history_con, history_db, name)
    assert (report.rows, report.accepted, report.rejected, report.already_present) == (7, 7, 0, 0)
    assert report.outcome == "ok" and report.encoding == encoding
    assert _entered(history_con) == MESSY_ROWS
    assert report.units_replaced == 5            # the demo figures of five commune-months were replaced


@pytest.mark.parametrize("legacy", ["tcvn3", "vni"])
def test_a_utf8_file_typed_with_a_legacy_font(history_con, history_db: Settings, legacy: str) -> None:
    """Saved as CSV UTF-8, but the rows were typed with a TCVN3/VNI font (the header is ours)."""
    header, rows = (DATA / "xa_thang02_lon_xon.csv").read_bytes().decode("utf-8").split("\r\n", 1)
    rows = unicodedata.normalize("NFC", rows)
    encode = charsets.to_tcvn3 if legacy == "tcvn3" else charsets.to_vni
    data = (header + "\r\n").encode("utf-8") + encode(rows).decode("cp1252").encode("utf-8")
    report = ingest.import_file(history_con, data, "font_cu.csv", "departures", "can_bo", history_db)
    assert (report.accepted, report.rejected, report.encoding) == (7, 0, f"utf-8+{legacy}")
    assert _entered(history_con) == MESSY_ROWS


def test_reimporting_the_same_or_an_overlapping_file_does_not_double(history_con, history_db: Settings) -> None:
    _import(history_con, history_db, "xa_thang02_lon_xon.csv")
    before = _state(history_con)
    again = _import(history_con, history_db, "xa_thang02_lon_xon.csv")
    legacy = _import(history_con, history_db, "xa_thang02_tcvn3.csv")   # same report, other encoding
    for report in (again, legacy):
        assert (report.accepted, report.already_present, report.outcome) == (0, 7, "unchanged")
    assert _state(history_con)[:4] == before[:4] and _entered(history_con) == MESSY_ROWS
    log = history_con.execute("SELECT kind, outcome, file_hash FROM import_log ORDER BY import_id").fetchall()
    assert [r[1] for r in log] == ["ok", "unchanged", "unchanged"] and log[0][2] == log[1][2] != log[2][2]


def test_a_new_version_replaces_the_old_and_the_change_is_logged(history_con, history_db: Settings) -> None:
    _import(history_con, history_db, "xa_thang02_lon_xon.csv")
    report = ingest.import_file(history_con, "Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n"
                                "02/2026,99004,TW,nữ,dn,6\n".encode(), "v2.csv", "departures", "can_bo", history_db)
    assert (report.accepted, report.units_replaced) == (1, 1)
    assert _entered(history_con)[("99004", "TW", "nu", "doanh_nghiep", "khac")] == 6
    change = history_con.execute("SELECT period, unit_code, old_total, new_total FROM import_changes "
                                 "WHERE import_id = $i", {"i": report.import_id}).fetchall()
    assert change == [("2026-02", "99004", 4.0, 6.0)]


BAD_ROWS = {4: ("Thị trường", "thị trường 'Mỹ' không có trong danh mục"),
            6: ("Số người", "số âm"),
            7: ("Dòng", "cùng xã và kỳ với một dòng bị lỗi"),
            8: ("Tên xã/phường", "đã được chia"),
            9: ("Tên xã/phường", "Không tìm thấy xã 'Xã Không Tồn Tại'"),
            10: ("Tháng", "tháng 13 không có")}


def test_a_bad_row_in_the_middle(history_con, history_db: Settings) -> None:
    report = _import(history_con, history_db, "xa_thang02_dong_loi.csv")
    assert (report.rows, report.accepted, report.rejected, report.outcome) == (9, 3, 6, "partial")
    rejects = report.rejects.set_index("Dòng")
    assert sorted(rejects.index) == sorted(BAD_ROWS)
    for row, (field, reason) in BAD_ROWS.items():
        assert rejects.loc[row, "Cột"] == field and reason in rejects.loc[row, "Lý do"], (row, rejects.loc[row].to_dict())
    assert "99002" in rejects.loc[8, "Lý do"] and "99003" in rejects.loc[8, "Lý do"]   # split: never guessed
    assert rejects.loc[9, "Lý do"].count("[99") == 3                                   # three nearest candidates
    assert set(_entered(history_con)) == {("99001", "JP", "nam", "thuc_tap_sinh", "khac"),
                                          ("99002", "JP", "nam", "thuc_tap_sinh", "khac"),
                                          ("99004", "KR", "nam", "eps", "khac")}
    # 99005's and 99003's demo figures were not half-replaced
    assert history_con.execute("SELECT bool_and(is_demo) FROM departures WHERE month = DATE '2026-02-01' "
                               "AND commune_code IN ('99003', '99005')").fetchone()[0] is True
    text = report.rejects_csv().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Dòng,Cột,Lý do,Tháng") and "'-1" in text   # no formula injection


def test_totals_must_match_their_details(history_con, history_db: Settings) -> None:
    report = _import(history_con, history_db, "xa_thang02_tong_sai.csv")
    assert (report.rows, report.accepted, report.rejected) == (5, 2, 3)
    assert "dòng tổng (4) khác tổng các dòng chi tiết (3)" in report.rejects["Lý do"].iloc[0]
    assert _entered(history_con) == {("99002", "JP", "nu", "thuc_tap_sinh", "khac"): 1}


def test_registers_deduplicate_workers_across_reports(history_con, history_db: Settings) -> None:
    commune = _import(history_con, history_db, "danh_sach_xa.csv", "register")
    assert (commune.accepted, commune.rejected, commune.duplicates_merged) == (3, 1, 0)
    assert commune.rejects["Cột"].tolist() == ["Số CCCD/CMND"]
    company = _import(history_con, history_db, "danh_sach_cong_ty.xlsx", "register")
    assert (company.rows, company.accepted, company.duplicates_merged, company.rejected) == (4, 2, 2, 0)
    assert _entered(history_con) == {("99001", "JP", "nam", "thuc_tap_sinh", "ho_ngheo"): 1,
                                     ("99001", "KR", "nu", "eps", "khac"): 1,
                                     ("99002", "JP", "nam", "thuc_tap_sinh", "khac"): 1,
                                     ("99004", "TW", "nu", "doanh_nghiep", "khac"): 1}
    assert _entered(history_con, "2026-03-01") == {("99003", "JP", "nam", "thuc_tap_sinh", "khac"): 1}
    again = [_import(history_con, history_db, n, "register") for n in ("danh_sach_xa.csv", "danh_sach_cong_ty.xlsx")]
    assert [(r.accepted, r.already_present, r.duplicates_merged) for r in again] == [(0, 3, 0), (0, 2, 2)]
    assert history_con.execute("SELECT count(*) FROM register_entries").fetchone()[0] == 5


def test_no_id_number_or_name_is_stored_or_handed_back(history_con, history_db: Settings) -> None:
    report = _import(history_con, history_db, "danh_sach_xa.csv", "register")
    secrets = ["001095000001", "095000001", "Nguyễn Văn An", "12345", "Phạm Văn Dũng"]
    rejects = report.rejects_csv().decode("utf-8-sig")
    assert not [s for s in secrets if s in rejects]
    for table in ("register_entries", "import_log", "audit_log", "import_changes", "departures"):
        dump = history_con.execute(f"SELECT * FROM {table}").df().astype(str).to_csv()
        assert not [s for s in secrets[:3] if s in dump], table
    assert Path(history_db.id_key_file).stat().st_mode & 0o077 == 0      # the key file is private


def test_a_changed_id_key_is_refused(history_con, history_db: Settings, tmp_path: Path) -> None:
    _import(history_con, history_db, "danh_sach_xa.csv", "register")
    with pytest.raises(IngestError, match="Khóa băm"):
        _import(history_con, history_db, "danh_sach_cong_ty.xlsx", "register", id_key_file=tmp_path / "other.key")


def test_quotas_from_an_office_spreadsheet(history_con, history_db: Settings) -> None:
    report = _import(history_con, history_db, "chi_tieu_2026.xlsx", "quotas")
    assert (report.rows, report.accepted, report.rejected) == (3, 2, 1)
    assert report.rejects.set_index("Dòng").loc[6, "Lý do"] == "không phải số nguyên"
    quotas = dict(history_con.execute("SELECT unit_code, quota FROM quotas WHERE year = 2026 AND NOT is_demo "
                                      "AND unit_level = 'commune'").fetchall())
    assert quotas == {"99001": 40, "99002": 35}                          # the formula read as its value
    province = history_con.execute("SELECT quota FROM quotas WHERE year = 2026 AND unit_code = '99'").fetchone()[0]
    communes = history_con.execute("SELECT sum(quota) FROM quotas q JOIN v_communes c ON c.commune_code = q.unit_code "
                                   "WHERE year = 2026 AND c.province_code = '99'").fetchone()[0]
    assert province == communes
    logged = history_con.execute("SELECT unit_code, new_quota, import_id FROM quota_changes ORDER BY 1").fetchall()
    assert logged == [("99001", 40, report.import_id), ("99002", 35, report.import_id)]


@pytest.mark.parametrize("content, name, changes, message", [
    ((DATA / "khong_phai_bang.csv").read_bytes(), "khong_phai_bang.csv", {}, "khong_phai_bang.csv"),
    ((DATA / "xa_thang02_lon_xon.csv").read_bytes(), "lon.csv", {"max_upload_mb": 0.0001}, "vượt giới hạn"),
    ((DATA / "xa_thang02_lon_xon.csv").read_bytes(), "dai.csv", {"max_import_rows": 3}, "dòng"),
    (b"Th\xc3\xa1ng,M\xc3\xa3 x\xc3\xa3\n02/2026,99001\n", "thieu_cot.csv", {}, "thiếu cột bắt buộc: Thị trường"),
    (b"\xd0\xcf\x11\xe0" + bytes(600), "cu.xls", {}, ".xls"),
    (b"PK\x03\x04" + bytes(100), "hong.xlsx", {}, "hong.xlsx"),
])
def test_unusable_files_are_refused_and_nothing_changes(history_con, history_db: Settings, content: bytes, name: str,
                                                        changes: dict, message: str) -> None:
    before = _state(history_con)
    with pytest.raises(IngestError) as caught:
        ingest.import_file(history_con, content, name, "departures", "can_bo", dataclasses.replace(history_db, **changes))
    assert message in caught.value.message and name in caught.value.message
    assert _state(history_con) == before
    assert history_con.execute("SELECT outcome, file_name FROM import_log").fetchall() == [("refused", name)]


def test_templates_are_read_back_by_the_importer() -> None:
    from xkld_geo.intake import spreadsheets

    limits = spreadsheets.Limits(10**6, 100)
    for key, kind in kinds.KINDS.items():
        for data in (kinds.template_xlsx(key), kinds.template_csv(key)):
            sheet = spreadsheets.read(data, f"mau-{key}", kind, limits)
            read = [c.key for c in kind.columns if c.key not in kinds.NOT_READ]   # names are never read
            assert list(sheet.frame.columns) == read and len(sheet.frame) == 1


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from xkld_geo.database import db
from xkld_geo import registrations
from xkld_geo.intake import ingest, writes
from xkld_geo.settings import load_settings
real = writes._replace
def replace_then_die(*args, **kwargs):
    result = real(*args, **kwargs)      # rows deleted and inserted, transaction not committed
    os.kill(os.getpid(), signal.SIGKILL)
writes._replace = replace_then_die
con = db.open_connection(load_settings(secrets={}).db_path)
path = Path(sys.argv[1])
ingest.import_file(con, path.read_bytes(), path.name, "departures", "can_bo", load_settings(secrets={}))
"""


def test_a_killed_import_leaves_the_database_as_it_was(history_db: Settings) -> None:
    con = db.open_connection(history_db.db_path)
    before = _state(con) + (con.execute("SELECT count(*) FROM import_log").fetchone(),)
    con.close()
    env = _process_env(history_db)
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(DATA / "xa_thang02_lon_xon.csv")],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    con = db.open_connection(history_db.db_path)
    try:
        assert _state(con) + (con.execute("SELECT count(*) FROM import_log").fetchone(),) == before
    finally:
        con.close()


def test_imports_survive_a_rebuild(history_db: Settings) -> None:
    con = db.open_connection(history_db.db_path)
    _import(con, history_db, "xa_thang02_lon_xon.csv")
    _import(con, history_db, "danh_sach_xa.csv", "register")
    _import(con, history_db, "chi_tieu_2026.xlsx", "quotas")
    entered = con.execute("SELECT * FROM departures WHERE NOT is_demo ORDER BY ALL").df()
    quotas = con.execute("SELECT * FROM quotas WHERE NOT is_demo OR unit_level = 'province' ORDER BY ALL").df()
    con.close()
    assembly.build(history_db, force=True)
    con = db.open_connection(history_db.db_path)
    try:
        pd.testing.assert_frame_equal(con.execute("SELECT * FROM departures WHERE NOT is_demo ORDER BY ALL").df(), entered)
        pd.testing.assert_frame_equal(con.execute("SELECT * FROM quotas WHERE NOT is_demo OR unit_level = 'province' "
                                                  "ORDER BY ALL").df(), quotas)
        assert con.execute("SELECT count(*) FROM import_log").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM register_entries").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM departures WHERE month = DATE '2026-02-01' AND commune_code = '99001' "
                           "AND is_demo").fetchone()[0] == 0          # no demo rows beside the entered ones
    finally:
        con.close()


def test_command_line_import(history_db: Settings, tmp_path: Path) -> None:
    env = _process_env(history_db)
    db.close_all()
    run = lambda *args: subprocess.run([sys.executable, "-m", "xkld_geo", *args], cwd=PROJECT_ROOT, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    out = tmp_path / "loi.xlsx"
    bad = run("import", str(DATA / "xa_thang02_dong_loi.csv"), "--kind", "departures", "--rejects", str(out))
    assert bad.returncode == 1 and "nhận 3" in bad.stdout and "bị từ chối 6" in bad.stdout
    assert sorted(pd.read_excel(out)["Dòng"]) == sorted(BAD_ROWS)
    good = run("import", str(DATA / "xa_thang02_lon_xon.csv"), "--kind", "departures")
    assert good.returncode == 0 and "nhận 7" in good.stdout
    refused = run("import", str(DATA / "khong_phai_bang.csv"), "--kind", "departures")
    assert refused.returncode == 2 and "khong_phai_bang.csv" in refused.stderr and "Traceback" not in refused.stderr
    template = tmp_path / "mau.xlsx"
    assert run("template", "--kind", "register", "--out", str(template)).returncode == 0
    assert pd.read_excel(template).columns[0] == "Số CCCD/CMND"


def _import_page(role: str | None = "clerk") -> AppTest:
    return run_page("pages/7_Nhap_du_lieu.py", role=role)


@pytest.mark.parametrize("role", [None, "viewer", "planner"])
def test_import_page_is_for_clerks_and_administrators(app_env: Settings, role: str | None) -> None:
    at = _import_page(role)
    assert not at.exception and not at.file_uploader
    assert (len(at.error) == 1 and "không có quyền" in at.error[0].value) if role else at.text_input


def test_import_page_imports_a_report_and_lists_its_rejected_rows(app_env: Settings) -> None:
    at = _import_page()
    assert not at.exception and at.selectbox(key="import_kind").value == "departures"
    assert at.button(key="import_run").disabled
    name = "xa_thang02_dong_loi.csv"
    at.file_uploader(key="import_file").set_value((name, (DATA / name).read_bytes(), "text/csv")).run()
    at.button(key="import_run").click().run()
    assert not at.exception and not at.error
    figures = {m.label: m.value for m in at.metric}
    # the fixture country of app_env has no crosswalk: 'Xã Bị Chia' is simply not found there
    assert (figures["Số dòng"], figures["Nhận"], figures["Bị từ chối"]) == ("9", "3", "6")
    assert len(at.warning) == 1 and "nhận 3" in at.warning[0].value
    rejects = at.dataframe[0].value
    assert sorted(rejects["Dòng"]) == sorted(BAD_ROWS)
    log = at.dataframe[-1].value
    assert log.iloc[0]["Tệp"] == name and log.iloc[0]["Kết quả"] == "Nhận một phần" and log.iloc[0]["Người nhập"] == "test_clerk"
    assert any(m.value == "Đã ghi 3 dòng được nhận." for m in at.markdown)  # the live counter's last line
    assert at.get("progress")                                            # and its bar
    at.run()                                                             # the page runs again (a later visit):
    assert {m.label: m.value for m in at.metric}["Nhận"] == "3"          # the result stays on screen


def test_an_import_tells_its_progress_rows_read_checked_and_written(history_con, history_db: Settings,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import openpyxl

    from xkld_geo.intake import spreadsheets

    told: list[tuple[str, int, int | None]] = []
    report = ingest.import_file(history_con, (DATA / "xa_thang02_lon_xon.csv").read_bytes(), "a.csv", "departures",
                                "can_bo", history_db, on_progress=lambda *a: told.append(a))
    stages = [t[0] for t in told]
    assert stages == ["read", "checked", "written"]
    assert told[1][1] == report.rows and told[1][2] >= len({k[0] for k in MESSY_ROWS})     # communes checked
    assert told[2] == ("written", report.accepted, report.rows)
    monkeypatch.setattr(spreadsheets, "ROWS_STEP", 2)                    # an XLSX tells its rows as it reads
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tháng", "Mã xã", "Thị trường", "Giới tính", "Hình thức", "Số người"])
    for i in range(7):
        sheet.append(["02/2026", "99004", "TW", "nữ", "dn", i + 1])
    out = io.BytesIO()
    book.save(out)
    told.clear()
    ingest.import_file(history_con, out.getvalue(), "b.xlsx", "departures", "can_bo", history_db,
                       on_progress=lambda *a: told.append(a))
    read = [(done, total) for stage, done, total in told if stage == "read"]
    assert read[:3] == [(2, 8), (4, 8), (6, 8)] and read[-1] == (8, 8)
    assert [stage for stage, _, _ in told][-2:] == ["checked", "written"]


@pytest.mark.parametrize(("stage", "done", "total", "text"), [
    ("read", 12000, 1048575, "Đã đọc 12.000 / 1.048.575 dòng…"),
    ("read", 500, None, "Đã đọc 500 dòng…"),
    ("checked", 3321, 3321, "Đã kiểm tra 3.321 dòng, 3.321 xã/phường; đang ghi vào cơ sở dữ liệu…"),
    ("written", 12000, 12000, "Đã ghi 12.000 dòng được nhận."),
])
def test_the_progress_line_reads_in_vietnamese(stage: str, done: int, total: int | None, text: str) -> None:
    from xkld_geo.ui.imports import progress_text

    assert progress_text(stage, done, total)[0] == text


def test_import_page_refuses_an_unreadable_file_once(app_env: Settings) -> None:
    at = _import_page("admin")
    name = "khong_phai_bang.csv"
    at.file_uploader(key="import_file").set_value((name, (DATA / name).read_bytes(), "text/csv")).run()
    at.button(key="import_run").click().run()
    assert not at.exception and len(at.error) == 1 and name in at.error[0].value.replace("\\", "")   # shown escaped
    assert at.dataframe[-1].value.iloc[0]["Kết quả"] == "Không đọc được tệp"   # the label of "refused"


def test_import_page_offers_each_template(app_env: Settings) -> None:
    at = _import_page()
    for kind in kinds.KINDS:
        at.selectbox(key="import_kind").set_value(kind).run()
        assert not at.exception and not at.error
        labels = {b.proto.label for b in at.get("download_button")}
        assert {"Tải mẫu XLSX", "Tải mẫu CSV"} <= labels, (kind, labels)


@pytest.mark.parametrize("name", ["../../../etc/passwd.csv", "x'; DROP TABLE departures; --.csv",
                                  "C:\\Windows\\system32\\bao_cao.csv", "a" * 5000 + ".csv"],
                         ids=["traversal", "sql", "windows-path", "long"])
def test_hostile_file_names_are_only_labels(history_con, history_db: Settings, name: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file name is never a path and never SQL: the report is imported in memory, nothing is
    written beside it, and the log keeps a bounded label."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    report = ingest.import_file(history_con, (DATA / "xa_thang02_lon_xon.csv").read_bytes(), name, "departures",
                                "can_bo", history_db)
    assert (report.accepted, report.rejected) == (7, 0) and _entered(history_con) == MESSY_ROWS
    assert list(cwd.iterdir()) == []
    logged = history_con.execute("SELECT file_name FROM import_log").fetchone()[0]
    assert logged == name[:200]


def test_command_line_import_while_another_process_holds_the_database(history_db: Settings) -> None:
    """The running app holds DuckDB's writer lock: the command says so, in Vietnamese, no traceback."""
    env = _process_env(history_db)
    db.close_all()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(history_db.db_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = subprocess.run([sys.executable, "-m", "xkld_geo", "import", str(DATA / "xa_thang02_lon_xon.csv"),
                              "--kind", "departures"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode != 0 and "đang được một tiến trình khác mở" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("column,value", [
    ("Số người", "١٢"),             # Arabic-Indic twelve
    ("Số người", "２"),              # full-width two
    ("Số người", "1２"),
    ("Số người", "৩"),               # Bengali three
    ("Tháng", "０2/2026"),
    ("Tháng", "02/٢٠٢٦"),
])
def test_only_ascii_digits_are_numbers(history_con, history_db: Settings, column: str, value: str) -> None:
    """Digits of other scripts are refused with the reason, never silently read as a count or a month."""
    cells = {"Tháng": "02/2026", "Mã xã": "99004", "Thị trường": "TW", "Giới tính": "nữ", "Hình thức": "dn",
             "Số người": "6"} | {column: value}
    data = (",".join(cells) + "\n" + ",".join(cells.values()) + "\n").encode()
    report = ingest.import_file(history_con, data, "chu_so.csv", "departures", "can_bo", history_db)
    assert (report.accepted, report.rejected) == (0, 1)
    row = report.rejects.iloc[0]
    assert row["Cột"] == column and "chỉ nhận chữ số 0–9" in row["Lý do"], row.to_dict()
    assert f"U+{ord(next(c for c in value if not c.isascii())):04X}" in row["Lý do"]
