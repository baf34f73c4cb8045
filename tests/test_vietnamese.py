"""Vietnamese everywhere: collation in SQL and Python, the vi-VN formats in each output, the label
registry, the archipelago labels on whole-country maps and the tables' Vietnamese formatting."""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import duckdb
import openpyxl
import pandas as pd
import pytest

from xkld_geo import maps
from xkld_geo.figures import export
from xkld_geo.maps import archipelagos
from xkld_geo.text import collation, formats, labels

WRONG_IN_BYTE_ORDER = [("Cà Mau", "Cao Bằng"), ("Hà Nội", "Huế"), ("Dak Lak", "Đà Nẵng"), ("Đồng Tháp", "Gia Lai"),
                       ("An Giang", "Ân Thi"), ("Ba Vì", "Bắc Ninh"), ("Ô Môn", "Ơ Ni"), ("Ứng Hòa", "Vĩnh Long")]


@pytest.mark.parametrize("first, second", WRONG_IN_BYTE_ORDER)
def test_python_sorts_names_in_vietnamese_order(first: str, second: str) -> None:
    assert collation.sorted_names([second, first]) == [first, second]


@pytest.mark.parametrize("first, second", WRONG_IN_BYTE_ORDER)
def test_sql_sorts_names_in_vietnamese_order(first: str, second: str) -> None:
    con = duckdb.connect()
    got = [r[0] for r in con.execute(f"SELECT n FROM (VALUES ($a), ($b)) t(n) ORDER BY n {collation.SQL}",
                                     {"a": second, "b": first}).fetchall()]
    assert got == [first, second]


def test_python_and_sql_agree_on_the_provinces(tiny_con) -> None:
    names = [r[0] for r in tiny_con.execute("SELECT name FROM admin_units").fetchall()] + \
        ["Cao Bằng", "Cà Mau", "Huế", "Hà Nội", "Đà Nẵng", "Điện Biên", "Đắk Lắk", "Quảng Trị", "Tây Ninh"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (n VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[n] for n in names])
    sql = [r[0] for r in con.execute(f"SELECT n FROM t ORDER BY n {collation.SQL}").fetchall()]
    assert collation.sorted_names(names) == sql


def test_the_province_list_is_in_vietnamese_order(real_con) -> None:
    from xkld_geo.figures import queries
    names = list(queries.provinces(real_con)["name"])
    assert names == collation.sorted_names(names)
    assert names.index("Cà Mau") < names.index("Cao Bằng") and names.index("Hà Nội") < names.index("Huế")


@pytest.mark.parametrize("value, text", [(133900, "133.900"), (7392, "7.392"), (0, "0"), (None, "–"),
                                         (float("nan"), "–"), (-1234, "-1.234")])
def test_whole_numbers(value: object, text: str) -> None:
    assert formats.fmt_int(value) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("value, decimals, text", [(254.5, 1, "254,5"), (1254.25, 2, "1.254,25"), (0.0, 1, "0,0"),
                                                   (1234567.0, 1, "1.234.567,0")])
def test_decimals(value: float, decimals: int, text: str) -> None:
    assert formats.fmt_dec(value, decimals) == text


def test_percent_ratio_date_and_legend_range() -> None:
    assert formats.fmt_pct(113.7) == "113,7%"
    assert formats.fmt_ratio(724, 3321) == "724/3.321"
    assert formats.fmt_date(dt.date(2026, 12, 7)) == "07/12/2026"
    assert formats.fmt_datetime(dt.datetime(2026, 12, 7, 14, 5)) == "07/12/2026 14:05"
    assert formats.fmt_range(10000, 39999) == "10.000–39.999" and formats.fmt_range(40000) == "Từ 40.000 trở lên"


def test_map_legends_write_numbers_vi_vn() -> None:
    text = " ".join(c.label for classes in maps.LEGENDS.values() for c in classes)
    assert not re.search(r"\d{4,}", text.replace(".", "")) or "10.000" in text
    assert not re.search(r"\b\d{4,}\b", text)                        # no 10000 nor 1000


def test_the_chart_locale_is_vietnamese() -> None:
    from xkld_geo.ui import overview
    from xkld_geo.views import markets
    assert overview.TREND_SPEC["config"]["locale"]["number"]["thousands"] == "."
    spec = markets.mix_spec(pd.DataFrame({"Tháng": [1], "color": ["Nhật Bản"], "value": [1]}))
    assert spec["config"]["locale"] == formats.VEGA_LOCALE
    assert {t.get("title") for t in spec["encoding"]["tooltip"]} >= {"Số người", "Thị trường"}


def test_the_ranking_xlsx_keeps_numbers_with_thousands_formats() -> None:
    table = pd.DataFrame({"Mã": ["01"], "Tên": ["Hà Nội"], "Chỉ tiêu năm": [12345], "Đạt tiến độ (%)": [113.7]})
    book = openpyxl.load_workbook(io.BytesIO(export.ranking_xlsx(table, "Xếp hạng", demo=False)))
    sheet = book.active
    assert sheet.cell(5, 3).value == 12345 and sheet.column_dimensions["C"].number_format in ("#,##0", "General") \
        or sheet.cell(5, 3).number_format == formats.XLSX_INT
    assert sheet.cell(5, 2).value == "Hà Nội"


@pytest.mark.parametrize("vocabulary, code, text", [
    ("plan_status", "draft", "Bản nháp"), ("plan_status", "submitted", "Đã trình duyệt"),
    ("method", "population", "Theo dân số trong tuổi lao động"), ("import_outcome", "partial", "Nhận một phần"),
    ("import_outcome", "ok", "Đã nhận đủ"), ("role", "admin", "Quản trị"), ("role", "clerk", "Cán bộ nhập liệu"),
    ("audit_action", "import_ok", "Nhập dữ liệu: đã nhận đủ"), ("kind", "departures", None)])
def test_labels_name_codes_in_vietnamese(vocabulary: str, code: str, text: str | None) -> None:
    got = labels.label(vocabulary, code)
    assert got != code and (text is None or got == text)


def test_a_plan_list_reads_in_vietnamese() -> None:
    listing = pd.DataFrame({"plan_id": [1], "name": ["A"], "status": ["draft"], "method": ["population"],
                            "author": ["x"], "updated_at": [pd.Timestamp("2026-12-01")], "version": [1],
                            "comment": [""], "total": [100]})
    shown = labels.labelled(listing, {"status": "plan_status", "method": "method"})
    assert list(shown.columns) == ["Số phương án", "Tên", "Trạng thái", "Phương pháp", "Người lập", "Cập nhật lúc",
                                   "Phiên bản", "Ghi chú", "Tổng chỉ tiêu"]
    assert shown["Trạng thái"].iloc[0] == "Bản nháp"


def _shapes(ymin: float, ymax: float) -> pd.DataFrame:
    ring = '{"type":"Polygon","coordinates":[[[105,%s],[106,%s],[106,%s],[105,%s],[105,%s]]]}' % (
        ymin, ymin, ymax, ymax, ymin)
    return pd.DataFrame({"code": ["01"], "name": ["Thử"], "geojson": [ring], "center_lon": [105.5],
                         "xmin": [105.0], "ymin": [ymin], "xmax": [106.0], "ymax": [ymax]})


def _spec(shapes: pd.DataFrame) -> maps.ChoroplethSpec:
    props = pd.DataFrame({"fill": ["#2c7bb6"], "quota": [1], "departures": [1], "pct": [100.0]}, index=shapes["code"])
    return maps.ChoroplethSpec(shapes, props, None, "Đạt tiến độ", demo=False)


def test_whole_country_maps_name_both_archipelagos() -> None:
    national, province = _spec(_shapes(8.5, 23.0)), _spec(_shapes(18.0, 20.0))
    html = maps.page_html(maps.choropleth_map(national, "/app/static"))
    named = [json.dumps(name)[1:-1] for name, _, _ in archipelagos.ARCHIPELAGOS]   # as the script writes them
    assert all(n in html for n in named)
    assert named[0] not in maps.page_html(maps.choropleth_map(province, "/app/static"))
    assert "imperial: false" in html and "control.scale()" not in html          # kilometres only


def test_the_png_export_and_the_report_figure_name_both_archipelagos() -> None:
    fig = export.map_figure(_spec(_shapes(8.5, 23.0)), "Cả nước")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Quần đảo Hoàng Sa" in texts and "Quần đảo Trường Sa" in texts
    left, right = fig.axes[0].get_xlim()
    assert right >= max(lon for _, _, lon in archipelagos.ARCHIPELAGOS)       # inside the frame
    fig2 = export.map_figure(_spec(_shapes(18.0, 20.0)), "Một tỉnh")
    assert not [t for t in fig2.axes[0].texts if "Quần đảo" in t.get_text()]


def test_the_release_map_names_both_archipelagos(real_con, tmp_path) -> None:
    from xkld_geo.release import site
    result = site.publish(real_con, tmp_path / "release", dt.date(2026, 12, 1), 5)
    page = (tmp_path / "release" / "latest" / "index.html").read_text(encoding="utf-8")
    for name, _, _ in archipelagos.ARCHIPELAGOS:   # in the map's configuration, which map.js draws
        assert name in page or json.dumps(name)[1:-1] in page, result
    assert "xkld-archipelago" in (tmp_path / "release" / "latest" / "assets" / "map.js").read_text(encoding="utf-8")


def test_screen_tables_get_vi_vn_formats() -> None:
    from xkld_geo.ui import tables
    frame = pd.DataFrame({"Năm": [2026], "Số người": [7392], "Tỷ lệ (%)": [254.5],
                          "Thời điểm": [pd.Timestamp("2026-12-07 14:05")]})
    config, decimals = tables.number_config(frame)
    assert config["Số người"]["type_config"]["format"] == formats.TABLE_INT
    assert "Năm" not in config                                                  # a year stays 2026
    assert config["Thời điểm"]["type_config"]["format"] == formats.TABLE_DATETIME
    assert decimals == {"Tỷ lệ (%)": 1}
    styled = tables.decimal_comma(frame, decimals)
    assert "254,5" in styled.to_html()


def _audit_actions_written() -> set[str]:
    """Every audit action the code writes as a literal (``audit(con, who, "action", ...)``), and the
    families written from a variable (``import_<outcome>``, ``month_<action>``)."""
    import re

    from xkld_geo.reporting import approval
    from xkld_geo.settings import PROJECT_ROOT

    found: set[str] = set()
    for path in (PROJECT_ROOT / "xkld_geo").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"audit\(con, [^,]+, \"([a-z_]+)\"", text))
        found |= set(re.findall(r"audit\(con, [^,]+, \"([a-z_]+)\" if", text))
        found |= set(re.findall(r"else \"([a-z_]+)\", f\"\{k\.key\}", text))
    found |= {f"import_{o}" for o in labels.IMPORT_OUTCOMES} | {f"month_{a}" for a in approval.ACTIONS}
    return found


def test_every_audit_action_the_code_writes_has_a_vietnamese_label() -> None:
    written = _audit_actions_written()
    assert {"login", "totp_removed", "form_import", "month_approve", "import_partial"} <= written
    assert [a for a in sorted(written) if labels.label("audit_action", a) == a] == []


@pytest.mark.parametrize(("action", "target", "detail", "shown"), [
    ("plan_saved", "3", "version=2", ("3", "phiên bản 2")),
    ("plan_approved", "3", "12 quotas changed", ("3", "12 chỉ tiêu thay đổi")),
    ("reference_edited", "companies", "40 rows", ("companies", "40 dòng")),
    ("login", None, "source=10.0.0.1", ("", "từ địa chỉ 10.0.0.1")),
    ("user_added", "b", "role=clerk; scope=Tỉnh Nghệ An", ("b", "vai trò: Cán bộ nhập liệu; phạm vi: Tỉnh Nghệ An")),
    ("case_opened", "VV-1", "fraud; received", None),
    ("case_status", "VV-1", "received → verifying", ("VV-1", "Đã tiếp nhận → Đang xác minh")),
    ("case_updated", "VV-1", "agency/outcome/note", ("VV-1", "cơ quan, kết quả, ghi chú")),
    ("import", "departures:thang11.xlsx", "", None),
    ("notify_subscription", "digest", "bật", None),
    ("month_import", "import:7", "3 xã–tháng", ("lần nhập 7", "3 xã–tháng")),
])
def test_audit_details_read_in_vietnamese(action: str, target: str | None, detail: str,
                                          shown: tuple[str, str] | None) -> None:
    import re

    got = labels.audit_detail(action, target, detail)
    if shown is not None:
        assert got == shown
    words = " ".join(got)
    assert not re.search(r"\b(version|quotas|rows|source|role|scope|received|verifying|departures|digest|import)\b"
                         r"|\w+=", words.replace("thang11.xlsx", "")), got


def test_the_audit_table_shows_actions_targets_and_details_in_vietnamese() -> None:
    frame = pd.DataFrame({"Thời điểm": [pd.Timestamp("2026-12-01")], "Tài khoản": ["a"], "Việc": ["totp_removed"],
                          "Đối tượng": ["b"], "Chi tiết": [None]})
    shown = labels.audit_table(frame)
    assert shown["Việc"].iloc[0] == "Gỡ xác thực hai bước" and shown["Chi tiết"].iloc[0] == ""


def test_every_screenshot_a_guide_shows_is_made_by_the_browser_tests() -> None:
    from tests.test_browser_vietnamese import GUIDE_SHOTS, MAX_SHOT_BYTES
    from xkld_geo.text import guides

    shown = {image for file in guides.GUIDES.values() for image in guides.images(file)}
    assert shown <= {f"anh/{name}" for name in GUIDE_SHOTS}            # each one shown is made by a test
    for image in shown:
        path = guides.FOLDER / image
        assert path.exists(), f"{image}: run tests/test_browser_vietnamese.py -k guide_screenshots"
        assert path.stat().st_size < MAX_SHOT_BYTES, image


def test_a_guide_is_cut_at_its_screenshots_for_the_app() -> None:
    from xkld_geo.text import guides

    parts = guides.parts("Mở trang.\n\n![Trang Tổng quan](anh/tong-quan.png)\n\nRồi bấm.")
    assert [(text.strip(), image.name if image else None) for text, image in parts] == [
        ("Mở trang.", None), ("Trang Tổng quan", "tong-quan.png"), ("Rồi bấm.", None)]
