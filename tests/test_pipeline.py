"""Issue #18 part A: recruitment orders, interviews, training, the funnel and labour demand.

The funnel of the fixture province equals figures computed by hand; on the demo data every step is
at most the one before it and nothing is counted after today; the three imports are validated
(row, field, reason in Vietnamese), idempotent and all-or-nothing per row; the page renders its tabs.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page
from xkld_geo.database import db
from xkld_geo.errors import IngestError
from xkld_geo.intake import ingest, kinds
from xkld_geo.pipeline import demand, funnel, orders, training
from xkld_geo.settings import Settings
from xkld_geo.views import jobfairs

TODAY = dt.date(2026, 3, 15)
LICENCE = "123/LĐTBXH-GP"


def _fixture_pipeline(con) -> None:
    """Known fairs, orders, interviews and courses for 2025, replacing every demo row."""
    for t in ("job_fair_attendance", "recruitment_orders", "order_interviews", "training_courses"):
        con.execute(f"DELETE FROM {t}")
    con.executemany("INSERT INTO job_fair_attendance VALUES (CAST(? AS DATE), ?, ?, ?, false)", [
        ("2025-01-01", "99001", 10, 6), ("2025-02-01", "99001", 5, 4), ("2025-03-01", "99002", 8, 3),
        ("2025-06-01", "99003", 20, 20),                       # after May: outside the period
        ("2025-02-01", "98001", 30, 30)])                      # another province
    con.executemany("INSERT INTO recruitment_orders VALUES (?, 'L1', '99', 'JP', 'xay_dung', ?, NULL, 4000, 1200, "
                    "CAST(? AS DATE), CAST(? AS DATE), NULL, ?, false)", [
                        ("O1", 10, "2025-01-15", "2025-02-10", "interviewed"),
                        ("O2", 8, "2025-03-01", None, "recruiting"),        # no interview date: announcement
                        ("O3", 20, "2025-06-01", "2025-07-01", "interviewed"),  # cohort after May
                        ("O4", 5, "2024-11-01", "2024-12-20", "departed")])     # cohort of 2024
    con.executemany("INSERT INTO order_interviews VALUES (?, ?, ?, ?, ?, false)", [
        ("O1", "99001", 5, 3, 2), ("O1", "99002", 2, 1, 0), ("O2", "99002", 3, 2, 1), ("O3", "99001", 9, 9, 9),
        ("O4", "99003", 4, 4, 4), ("O1", "98001", 7, 7, 7)])
    con.executemany("INSERT INTO training_courses VALUES (?, ?, ?, 'P', 'JP', NULL, ?, CAST(? AS DATE), "
                    "CAST(? AS DATE), ?, ?, false)", [
                        ("D-O1", "99001", "orientation", "O1", "2025-03-01", "2025-03-15", 3, 3),
                        ("D-O1", "99002", "orientation", "O1", "2025-03-01", "2025-03-15", 1, 1),
                        ("D-O2", "99002", "orientation", "O2", "2025-04-01", "2025-04-15", 2, 1),
                        ("N-O1", "99001", "language", "O1", "2025-02-15", "2025-04-15", 3, 3),   # not orientation
                        ("G-1", "99001", "orientation", None, "2025-02-01", "2025-02-10", 50, 40),  # no order
                        ("D-O3", "99001", "orientation", "O3", "2025-08-01", "2025-08-15", 9, 9)])  # cohort after May


def test_the_funnel_of_the_fixture_province_is_the_hand_computed_one(tiny_con) -> None:
    _fixture_pipeline(tiny_con)
    view = funnel.build_funnel(tiny_con, 2025, 5, "99")
    steps = view.steps.set_index("step")
    assert steps["count"].to_dict() == {"attended": 23, "registered": 13, "interviewed": 10, "passed": 6,
                                        "trained": 5, "departed": 3}
    expected = [None, 100 * 13 / 23, 100 * 10 / 13, 100 * 6 / 10, 100 * 5 / 6, 100 * 3 / 5]
    got = steps["conversion_pct"].tolist()
    assert got[0] is None or pd.isna(got[0])
    assert got[1:] == pytest.approx(expected[1:])
    units = view.units.set_index("unit_code")
    assert units.loc["99001", list(funnel.STEPS)].tolist() == [15, 10, 5, 3, 3, 2]
    assert units.loc["99002", list(funnel.STEPS)].tolist() == [8, 3, 5, 3, 2, 1]
    assert units.loc["99002", "interviewed_pct"] == pytest.approx(100 * 5 / 3)   # step above 100%: shown as is
    assert units.loc["99004", list(funnel.STEPS)].sum() == 0 and pd.isna(units.loc["99004", "registered_pct"])
    commune = funnel.build_funnel(tiny_con, 2025, 5, "99", "99001").steps
    assert commune["count"].tolist() == [15, 10, 5, 3, 3, 2]
    national = funnel.build_funnel(tiny_con, 2025, 5).units.set_index("unit_code")
    assert national.loc["98", list(funnel.STEPS)].tolist() == [30, 30, 7, 7, 0, 7]
    assert national.loc["99", "attended"] == 23


def _monotone(units: pd.DataFrame) -> None:
    names = list(funnel.STEPS)
    for prev, step in zip(names, names[1:]):
        bad = units[units[step] > units[prev]]
        assert bad.empty, (step, bad[["unit_code", prev, step]].head().to_dict("records"))


@pytest.mark.parametrize("year,month", [(2025, 12), (2025, 5), (2026, 3), (2023, 2)])
def test_on_the_demo_data_every_step_is_at_most_the_one_before(tiny_con, year: int, month: int) -> None:
    _monotone(funnel.counts(tiny_con, year, month))
    _monotone(funnel.counts(tiny_con, year, month, "99"))
    # the last step counts departures dated by the period's end (orders depart 100-160 days after
    # their interview), so a period ending in the spring may have none yet
    assert funnel.counts(tiny_con, year, month)["departed"].sum() > 0 or month <= 5


def test_the_demo_pipeline_counts_nothing_after_today(tiny_con) -> None:
    def f(sql: str) -> object:
        return tiny_con.execute(sql, {"t": TODAY} if "$t" in sql else {}).fetchone()[0]
    assert f("SELECT count(*) FROM recruitment_orders WHERE NOT is_demo") == 0
    assert f("SELECT max(announced_on) FROM recruitment_orders") <= TODAY
    assert f("""SELECT count(*) FROM order_interviews i JOIN recruitment_orders o USING (order_code)
                WHERE o.interview_on > $t OR (i.departed > 0 AND o.departure_on > $t)""") == 0
    assert f("SELECT count(*) FROM training_courses WHERE start_on > $t OR (completed > 0 AND end_on > $t)") == 0
    assert f("SELECT count(*) FROM recruitment_orders WHERE status IN ('announced', 'recruiting', 'interviewed')") > 0
    assert f("SELECT count(*) FROM licensed_companies") == 0    # demo companies never reach the public list


@pytest.mark.real_data
def test_on_the_real_warehouse_every_step_is_at_most_the_one_before(real_con) -> None:
    for province in (None, "40"):
        _monotone(funnel.counts(real_con, 2025, 12, province))


def test_orders_training_and_demand_on_the_fixture(tiny_con) -> None:
    _fixture_pipeline(tiny_con)
    view = orders.build_orders(tiny_con, 2025, 5, dt.date(2025, 6, 15), "99")
    assert set(view.open_orders["order_code"]) == {"O1", "O2", "O3"} and view.open_places == 38
    assert set(view.period_orders["order_code"]) == {"O1", "O2"}
    o1 = view.period_orders.set_index("order_code").loc["O1"]
    assert (o1["interviewed"], o1["passed"], o1["departed"]) == (7, 4, 2)     # 99's communes only
    assert "chưa có trong danh sách" in o1["company"]
    train = training.build_training(tiny_con, 2025, 5, TODAY, "99")
    by_type = train.by_type.set_index("course_type")
    assert by_type.loc["orientation", ["enrolled", "completed"]].tolist() == [56, 45]
    assert by_type.loc["orientation", "completion_pct"] == pytest.approx(100 * 45 / 56)
    gone = tiny_con.execute("SELECT sum(d.departures) FROM departures d JOIN v_communes c USING (commune_code) "
                            "WHERE c.province_code = '99' AND d.month BETWEEN '2025-01-01' AND '2025-05-01'").fetchone()[0]
    assert train.all_departures == gone and train.orientation_share_pct == pytest.approx(100 * 45 / gone)
    need = demand.build_demand(tiny_con, 2025, 12, "99")
    assert need.total_places == 38 and need.total_departed == 2 + 0 + 7 + 1 + 9
    assert need.places.loc["Xây dựng", "Nhật Bản"] == 38


@pytest.mark.parametrize("attended,registered,met,full", [
    ([5, 6, 4], [4, 1, 4], 3, 2), ([3, 8], [3, 8], 1, 1), ([4, 4], [0, 0], 2, 0), ([], [], 0, 0)])
def test_job_fair_compliance_needs_attendance_and_orientation(attended, registered, met: int, full: int) -> None:
    assert jobfairs.months_met(attended)[0] == met
    assert jobfairs.months_met_full(attended, registered) == full


def test_job_fair_full_compliance_per_commune(tiny_con) -> None:
    tiny_con.execute("DELETE FROM job_fair_attendance WHERE commune_code = '99001' AND year(month) = 2025")
    tiny_con.executemany("INSERT INTO job_fair_attendance VALUES (CAST(? AS DATE), '99001', ?, ?, false)",
                         [("2025-01-01", 5, 4), ("2025-02-01", 6, 1), ("2025-03-01", 4, 4)])
    comp = jobfairs.compliance(jobfairs.monthly(tiny_con, 2025, 3, "99")).set_index("unit_code")
    assert (comp.loc["99001", "met"], comp.loc["99001", "met_full"]) == (3, 2)
    assert comp.loc["99001", "pct_full"] == pytest.approx(200 / 3)
    national = jobfairs.province_compliance(tiny_con, 2025, 3).set_index("unit_code")
    assert national.loc["99", "met_full"] == comp["met_full"].sum()


# --- imports -----------------------------------------------------------------------------------

ORDER_HEAD = ("Mã đơn hàng,Số giấy phép doanh nghiệp,Tỉnh/thành phố,Thị trường,Ngành nghề,Số chỉ tiêu tuyển,"
              "Ngày thông báo,Ngày phỏng vấn,Ngày xuất cảnh dự kiến,Trạng thái\n")
ORDER_OK = "DH-1,123/ldtbxh-gp,Tỉnh Thử Nghiệm,Nhật Bản,Xây dựng,30,05/01/2026,20/02/2026,15/06/2026,Đang tuyển\n"
INTERVIEW_HEAD = "Mã đơn hàng,Mã xã,Số người dự phỏng vấn,Số người trúng tuyển,Số người đã xuất cảnh\n"
TRAINING_HEAD = ("Mã khóa học,Loại khóa,Cơ sở đào tạo,Mã đơn hàng,Ngày bắt đầu,Ngày kết thúc,Mã xã,"
                 "Số học viên ghi danh,Số học viên hoàn thành\n")


@pytest.fixture()
def con_with_order(tiny_con, tiny_db: Settings):
    tiny_con.execute("INSERT INTO licensed_companies VALUES ($l, 'Công ty Thử', '99', 'JP', NULL)", {"l": LICENCE})
    report = ingest.import_file(tiny_con, (ORDER_HEAD + ORDER_OK).encode(), "don_hang.csv", "orders", "can_bo", tiny_db)
    assert (report.accepted, report.rejected) == (1, 0)
    return tiny_con


@pytest.mark.parametrize("kind,row,field,reason", [
    ("orders", "DH-2,999/GP,99,Nhật Bản,Xây dựng,30,05/01/2026,,,Đang tuyển", "Số giấy phép doanh nghiệp",
     "không có trong danh sách doanh nghiệp"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,Mỹ Tho,Xây dựng,30,05/01/2026,,,Đang tuyển", "Thị trường", "không có trong danh mục"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Lái tàu vũ trụ,30,05/01/2026,,,Đang tuyển", "Ngành nghề", "ngành nghề"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Xây dựng,ba mươi,05/01/2026,,,Đang tuyển", "Số chỉ tiêu tuyển", "không phải số"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Xây dựng,30,05/04/2026,,,Đang tuyển", "Ngày thông báo", "ngoài khoảng"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Xây dựng,30,05/01/2026,01/01/2026,,Đang tuyển", "Ngày phỏng vấn",
     "trước ngày thông báo"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Xây dựng,30,05/01/2026,,,Xong rồi", "Trạng thái", "trạng thái"),
    ("orders", "DH-2,123/LĐTBXH-GP,99,JP,Xây dựng,30,05/01/2026,,01/06/2026,Đã xuất cảnh", "Trạng thái",
     "không sau hôm nay"),
    ("orders", "DH-2,123/LĐTBXH-GP,77,JP,Xây dựng,30,05/01/2026,,,Đang tuyển", "Tỉnh/thành phố", "không có tỉnh"),
    ("orders", "DH 2;DROP,123/LĐTBXH-GP,99,JP,Xây dựng,30,05/01/2026,,,Đang tuyển", "Mã đơn hàng", "mã chỉ gồm"),
    ("interviews", "DH-9,99001,5,3,0", "Mã đơn hàng", "đơn hàng chưa được nhập"),
    ("interviews", "DH-1,99001,3,5,0", "Số người trúng tuyển", "lớn hơn số dự phỏng vấn"),
    ("interviews", "DH-1,99001,5,3,4", "Số người đã xuất cảnh", "lớn hơn số trúng tuyển"),
    ("interviews", "DH-1,12345,5,3,0", "Mã xã", "không có trong danh mục xã"),
    ("training", "K1,Bơi lội,Trường A,,01/03/2026,10/03/2026,99001,5,4", "Loại khóa", "loại khóa"),
    ("training", "K1,Định hướng,Trường A,DH-9,01/03/2026,10/03/2026,99001,5,4", "Mã đơn hàng", "chưa được nhập"),
    ("training", "K1,Định hướng,Trường A,,01/03/2026,10/03/2026,99001,5,6", "Số học viên hoàn thành", "lớn hơn số ghi danh"),
    ("training", "K1,Định hướng,Trường A,,10/03/2026,01/03/2026,99001,5,4", "Ngày kết thúc", "trước ngày bắt đầu"),
    ("training", "K1,Định hướng,Trường A,,01/03/2026,30/04/2026,99001,5,4", "Số học viên hoàn thành", "chưa kết thúc"),
    ("training", "K1,Định hướng,,,01/03/2026,10/03/2026,99001,5,4", "Cơ sở đào tạo", "thiếu giá trị"),
])
def test_import_validation(con_with_order, tiny_db: Settings, kind: str, row: str, field: str, reason: str) -> None:
    head = {"orders": ORDER_HEAD, "interviews": INTERVIEW_HEAD, "training": TRAINING_HEAD}[kind]
    table = kinds.KINDS[kind].table
    before = con_with_order.execute(f"SELECT count(*) FROM {table} WHERE NOT is_demo").fetchone()[0]
    report = ingest.import_file(con_with_order, (head + row + "\n").encode(), "tep.csv", kind, "can_bo", tiny_db)
    assert (report.accepted, report.rejected, report.outcome) == (0, 1, "rejected")
    line = report.rejects.iloc[0]
    assert line["Dòng"] == 2 and field in line["Cột"] and reason in line["Lý do"], line.to_dict()
    assert con_with_order.execute(f"SELECT count(*) FROM {table} WHERE NOT is_demo").fetchone()[0] == before
    assert b"L\xc3\xbd do" in report.rejects_csv()         # the rejection file, with its 'Lý do' column


def test_imports_write_by_key_and_a_second_import_changes_nothing(con_with_order, tiny_db: Settings) -> None:
    con = con_with_order
    rows = INTERVIEW_HEAD + "dh-1,99001,8,5,\nDH-1,99002,3,1,0\nDH-1,99001,1,1,0\n"
    first = ingest.import_file(con, rows.encode(), "pv.csv", "interviews", "can_bo", tiny_db)
    assert (first.accepted, first.rejected) == (2, 1) and "trùng với dòng 2" in first.rejects["Lý do"].iloc[0]
    stored = con.execute("SELECT commune_code, interviewed, passed, departed FROM order_interviews "
                         "WHERE order_code = 'DH-1' ORDER BY 1").fetchall()
    assert stored == [("99001", 8, 5, 0), ("99002", 3, 1, 0)]      # the order code as stored, blank departed 0
    state = con.execute("SELECT count(*), sum(hash(COLUMNS(*))) FROM order_interviews").fetchone()
    again = ingest.import_file(con, rows.encode(), "pv.csv", "interviews", "can_bo", tiny_db)
    assert (again.accepted, again.already_present, again.outcome) == (0, 2, "partial")
    assert con.execute("SELECT count(*), sum(hash(COLUMNS(*))) FROM order_interviews").fetchone() == state
    changed = ingest.import_file(con, (INTERVIEW_HEAD + "DH-1,99001,9,6,2\n").encode(), "pv2.csv", "interviews",
                                 "can_bo", tiny_db)
    assert (changed.accepted, changed.units_replaced) == (1, 1)
    assert "thay số liệu cũ của 1 đơn hàng–xã" in changed.summary()
    log = con.execute("SELECT period, unit_code, detail, old_total, new_total FROM import_changes "
                      "WHERE import_id = $i", {"i": changed.import_id}).fetchall()
    assert log == [("2026-02", "99001", "DH-1", 8.0, 9.0)]
    course = TRAINING_HEAD + "K1,Giáo dục định hướng,Trường A,DH-1,01/03/2026,10/03/2026,99001,6,5\n"
    assert ingest.import_file(con, course.encode(), "k.csv", "training", "can_bo", tiny_db).accepted == 1
    view = funnel.build_funnel(con, 2026, 3, "99", "99001", tiny_db.today).steps.set_index("step")["count"]
    assert (view["interviewed"], view["passed"], view["trained"], view["departed"]) == (9, 6, 5, 2)


def test_an_order_file_without_its_columns_is_refused_with_the_template_named(tiny_con, tiny_db: Settings) -> None:
    with pytest.raises(IngestError) as err:
        ingest.import_file(tiny_con, "Mã đơn hàng,Ghi chú\nDH-1,x\n".encode(), "sai.csv", "orders", "can_bo", tiny_db)
    assert "thiếu cột bắt buộc" in err.value.message and "Đơn hàng tuyển lao động" in err.value.message


@pytest.mark.parametrize("kind", ["orders", "interviews", "training"])
def test_templates_have_every_column(kind: str) -> None:
    k = kinds.KINDS[kind]
    head = kinds.template_csv(kind).decode("utf-8-sig").splitlines()[0].split(",")
    assert head == [c.header for c in k.columns]
    assert kinds.template_xlsx(kind)[:2] == b"PK"


# --- the page ----------------------------------------------------------------------------------

def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table of the page with ``column`` (AppTest finds tables by position, not key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _page(unit: str | None = "99") -> AppTest:
    return run_page("pages/14_Tuyen_chon_dao_tao.py", query={"unit": unit} if unit else None)


def test_the_page_shows_the_funnel_orders_training_and_demand(app_env: Settings) -> None:
    national = _page(unit=None)
    assert not national.exception and not national.error
    assert any("Dữ liệu minh họa" in m.value for m in national.markdown)     # demo figures are labelled
    _fixture_pipeline(db.connect(app_env))
    at = _page()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Từ sàn đến xuất cảnh", "Đơn hàng", "Đào tạo", "Nhu cầu lao động"]
    at.selectbox(key="year").set_value(2025).run()
    at.selectbox(key="month").set_value(5).run()
    assert not at.exception and not at.error
    steps = _table(at, "Số người")
    assert steps["Số người"].tolist() == [23, 13, 10, 6, 5, 3]
    assert "O2" in set(_table(at, "Mã đơn hàng")["Mã đơn hàng"])
    assert _table(at, "Loại khóa")["Ghi danh"].tolist() == [0, 3, 56]
    assert not _table(at, "Tỷ lệ đáp ứng").empty
    at.selectbox(key="commune").set_value("99001").run()
    assert _table(at, "Số người")["Số người"].tolist() == [15, 10, 5, 3, 3, 2]


# --- rebuilds and old databases ------------------------------------------------------------------

def test_a_rebuild_keeps_entered_orders_and_makes_the_demo_anew(con_with_order, tiny_db: Settings) -> None:
    from xkld_geo.warehouse import assembly

    con = con_with_order
    ingest.import_file(con, (INTERVIEW_HEAD + "DH-1,99001,8,5,0\n").encode(), "pv.csv", "interviews", "can_bo", tiny_db)
    demo_before = con.execute("SELECT count(*), sum(interviewed) FROM order_interviews WHERE is_demo").fetchone()
    con.close()                       # the fixture's connection: closing twice is harmless
    db.close_all()
    assert assembly.build(tiny_db, force=True).built
    con = db.connect(tiny_db)
    assert con.execute("SELECT licence_no, status FROM recruitment_orders WHERE NOT is_demo").fetchall() == [
        (LICENCE, "recruiting")]
    assert con.execute("SELECT commune_code, interviewed FROM order_interviews WHERE NOT is_demo").fetchall() == [
        ("99001", 8)]
    assert con.execute("SELECT count(*), sum(interviewed) FROM order_interviews WHERE is_demo").fetchone() == demo_before
    db.close_all()


def test_an_old_database_gets_the_pipeline_tables(tiny_data_dir, tmp_path) -> None:
    import gzip
    import shutil

    from tests.conftest import settings_for
    from tests.test_migrations import LEGACY

    path = tmp_path / "legacy.duckdb"
    with gzip.open(LEGACY) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    con = db.connect(settings_for(tiny_data_dir, path))
    assert con.execute("SELECT number FROM schema_migrations WHERE name LIKE '%recruitment orders%'").fetchone() == (5,)
    for table in ("recruitment_orders", "order_interviews", "training_courses"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert funnel.counts(con, 2025, 5, "99")["interviewed"].sum() == 0
    db.close_all()
