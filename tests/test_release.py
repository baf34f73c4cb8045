"""The static open-data release (issue 17): files, description, disclosure, versions, serving.

Built from the tiny fictional country (tests/conftest.py). The disclosure tests read the files a
reader downloads, never the code's internals: no count from 1 to threshold - 1 anywhere, no person,
and no published month-on-month difference that is a small count.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest

from tests.browser_support import _free_port
from tests.conftest import run_page, settings_for
from xkld_geo import DEMO_LABEL, cli
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.figures import references
from xkld_geo.release import content as release
from xkld_geo.release import site as release_site
from xkld_geo.settings import Settings

THRESHOLD = 5
COUNT_TABLES = ("national", "provinces", "communes", "markets", "province_markets")


def _copy_db(template: Settings, folder: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template.data_dir, folder / "data", dirs_exist_ok=True)
    shutil.copyfile(template.db_path, folder / "tiny.duckdb")
    return settings_for(folder / "data", folder / "tiny.duckdb")


@pytest.fixture(scope="module")
def published(tiny_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two monthly releases of the tiny country from one database: January (published on 15 February)
    and January–February (15 March, the fixture's today, so it is latest/)."""
    root = tmp_path_factory.mktemp("release")
    cfg = _copy_db(tiny_template, root)
    con = db.open_connection(cfg.db_path)
    try:
        # commune 99001 gets 2 departures in February: 7 to the end of January, 9 to the end of
        # February, both publishable on their own; published together they would tell "2 in February"
        con.execute("UPDATE departures SET departures = 0 WHERE commune_code = '99001' "
                    "AND month = DATE '2026-02-01'")
        con.execute("UPDATE departures SET departures = 2 WHERE rowid = (SELECT min(rowid) FROM departures "
                    "WHERE commune_code = '99001' AND month = DATE '2026-02-01')")
        january = release_site.publish(con, root / "out", dt.date(2026, 2, 15), THRESHOLD)
        february = release_site.publish(con, root / "out", cfg.effective_today, THRESHOLD)
    finally:
        con.close()
    assert (january.version, february.version) == ("2026-01", "2026-02")
    yield root / "out"
    db.close_all()


RELEASES = ("2026-01", "2026-02")


def _tables(folder: Path, name: str) -> dict[str, pd.DataFrame]:
    """One table as read from each of its three files."""
    csv = pd.read_csv(folder / "data" / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    xlsx = pd.read_excel(folder / "data" / f"{name}.xlsx", dtype=str, keep_default_na=False)
    records = json.loads((folder / "data" / f"{name}.json").read_text(encoding="utf-8"))
    as_json = pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object) for c in csv.columns})
    return {"csv": csv, "xlsx": xlsx, "json": as_json}


def _counts(folder: Path) -> dict[tuple, tuple[int | None, str | None]]:
    """Every published count of a release by key (value, flag), from its JSON tables."""
    out: dict[tuple, tuple[int | None, str | None]] = {}
    for name in COUNT_TABLES:
        key_cols = release.KEYS[name]
        for row in json.loads((folder / "data" / f"{name}.json").read_text(encoding="utf-8")):
            out[(name, *(row[k] for k in key_cols))] = (row["departures"], row["departures_flag"])
    return out


def test_layout_and_latest(published: Path) -> None:
    rel = published / "releases" / "2026-02"
    for path in ("index.html", "datapackage.json", "release.json", "ghi-chu-phat-hanh.md", "geo/provinces.js",
                 "geo/provinces.geojson", "geo/communes-99.js", "tinh/99.html", "assets/leaflet/leaflet.js",
                 "assets/leaflet/leaflet.css", "assets/map.js", "assets/site.css"):
        assert (rel / path).is_file(), path
    assert release_site.manifest(published / "latest")["version"] == "2026-02"
    assert not (published / "latest").is_symlink()
    assert (published / "latest" / "index.html").read_bytes() == (rel / "index.html").read_bytes()
    assert "latest/index.html" in (published / "index.html").read_text(encoding="utf-8")
    packed = list(rel.rglob("*.gz"))   # for nginx gzip_static: exact copies of the text files
    assert {p.with_suffix("").name for p in packed} >= {"index.html", "provinces.js", "communes.csv", "leaflet.js"}
    assert all(gzip.decompress(p.read_bytes()) == p.with_suffix("").read_bytes() for p in packed)


def test_datapackage_is_valid_frictionless(published: Path) -> None:
    import frictionless

    path = published / "latest" / "datapackage.json"
    report = frictionless.validate(str(path))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    package = json.loads(path.read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert DEMO_LABEL in package["title"] and DEMO_LABEL in package["keywords"]
    fields = {f["name"]: f for r in package["resources"] if r["name"] == "communes-csv" for f in r["schema"]["fields"]}
    assert fields["departures"]["type"] == "integer" and fields["departures"]["unit"] == "người"
    assert fields["departures_flag"]["constraints"]["enum"] == ["c", "d"]   # d: hidden to protect a small count
    assert all(f.get("description") for f in fields.values())
    assert {r["format"] for r in package["resources"]} == {"csv", "xlsx", "json"}


def test_an_empty_table_is_never_published_without_saying_why(published: Path) -> None:
    # the fixture's list of licensed companies is empty (demo companies are never published)
    folder = published / "latest"
    assert _tables(folder, "companies")["csv"].empty
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    reason = release.empty_reason("companies")
    described = [r["description"] for r in package["resources"] if r["path"].startswith("data/companies.")]
    assert len(described) == 3 and all(reason in d for d in described)
    assert reason in (folder / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("version", RELEASES)
@pytest.mark.parametrize("name", list(release.TABLES))
def test_every_table_file_parses_and_the_formats_agree(published: Path, name: str, version: str) -> None:
    folder = published / "releases" / version
    assert (folder / "data" / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    got = _tables(folder, name)
    assert list(got["csv"].columns) == [f["name"] for f in release.TABLES[name]["fields"]]
    normal = {fmt: df.astype(str).replace({"None": "", "nan": "", "True": "true", "False": "false"})
              for fmt, df in got.items()}
    for fmt in ("xlsx", "json"):
        pd.testing.assert_frame_equal(normal[fmt].reset_index(drop=True), normal["csv"].reset_index(drop=True),
                                      check_dtype=False, obj=f"{name}.{fmt}")


@pytest.mark.parametrize("version", RELEASES)
def test_suppressed_cells_are_flags_not_values(published: Path, version: str) -> None:
    counts = _counts(published / "releases" / version)
    assert any(flag == "c" for _, flag in counts.values()), "the fixture has small counts to hide"
    for key, (value, flag) in counts.items():
        assert (value is None) == (flag is not None), key
        assert flag in (None, "c", "d"), key   # d: hidden to protect a small count (disclosure.protect)


def _all_counts_in_files(folder: Path) -> list[tuple[str, int]]:
    """Every count a reader finds in a release: the tables in all formats and the map files."""
    found: list[tuple[str, int]] = []
    for name in COUNT_TABLES:
        for fmt, df in _tables(folder, name).items():
            found += [(f"{name}.{fmt}", int(v)) for v in df["departures"] if str(v) not in ("", "None", "nan")]
    for path in [*(folder / "geo").glob("*.js"), *(folder / "geo").glob("*.geojson")]:
        text = path.read_text(encoding="utf-8")
        found += [(path.name, int(v)) for v in re.findall(r'"departures":(\d+)', text)]
    for path in [folder / "index.html", *(folder / "tinh").glob("*.html")]:
        cells = re.findall(r'<td class="n">([^<]*)</td><td class="n">', path.read_text(encoding="utf-8"))
        found += [(path.name, int(v.replace(".", ""))) for v in cells if v.replace(".", "").isdigit()]
    return found


def test_no_small_count_in_any_file(published: Path) -> None:
    found = [hit for v in RELEASES for hit in _all_counts_in_files(published / "releases" / v)]
    assert len(found) > 20, "the fixture publishes counts"
    assert [(f, v) for f, v in found if 0 < v < THRESHOLD] == []


def test_no_person_name_phone_or_id(tiny_template: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture) -> None:
    """A register of named workers is imported by the command line, which publishes again on its own
    (XKLD_PUBLISH_AUTO); nothing identifying reaches the release, nor any priority group below the province."""
    cfg = _copy_db(tiny_template, tmp_path)
    secrets = ("079199001234", "Nguyễn Thị Bí Mật", "0912345678", "Công ty Kín Đáo")
    register = ("Số CCCD/CMND,Họ và tên,Ngày xuất cảnh,Giới tính,Mã xã,Thị trường,Hình thức,Nhóm ưu tiên,Đơn vị báo cáo\n"
                f"{secrets[0]},{secrets[1]},12/02/2026,Nữ,99001,Nhật Bản,Thực tập sinh kỹ thuật,Hộ nghèo,"
                f"{secrets[3]} {secrets[2]}\n")
    (tmp_path / "register.csv").write_text(register, encoding="utf-8")
    for key, value in {"XKLD_DB": str(cfg.db_path), "XKLD_DATA_DIR": str(cfg.data_dir), "XKLD_TODAY": "2026-03-15",
                       "XKLD_ID_KEY_FILE": str(cfg.id_key_file), "XKLD_PUBLISH_AUTO": "true",
                       "XKLD_PUBLISH_DIR": str(tmp_path / "out")}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["import", str(tmp_path / "register.csv"), "--kind", "register"]) == 0, capsys.readouterr()
    assert "Đã phát hành bản 2026-02" in capsys.readouterr().out
    con = db.open_connection(cfg.db_path, read_only=True)
    keys = [k for (k,) in con.execute("SELECT person_key FROM register_entries").fetchall()]
    con.close()
    assert keys
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix not in (".png", ".gz")]
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    for secret in (*secrets, *keys, "Hộ nghèo", "priority_group", "nhom_uu_tien"):
        assert secret not in text, secret
    for path in (tmp_path / "out" / "latest" / "data").glob("*.xlsx"):  # zipped: read the cells
        cells = pd.read_excel(path, dtype=str).to_string()
        assert not any(s in cells for s in secrets)


def test_same_figures_publish_nothing_new_and_a_correction_is_a_revision(
        tiny_template: Settings, tmp_path: Path) -> None:
    cfg = _copy_db(tiny_template, tmp_path)
    con = db.open_connection(cfg.db_path)
    try:
        first = release_site.publish(con, tmp_path / "out", cfg.effective_today, THRESHOLD)
        again = release_site.publish(con, tmp_path / "out", cfg.effective_today, THRESHOLD)
        assert first.created and not again.created and again.version == "2026-02"
        references.save_notice(con, "hotline", "Gọi 1900 0000 (giờ hành chính).", auth.User("test", "test", "admin"))
        con.execute("UPDATE departures SET departures = departures + 40 WHERE commune_code = '99005' "
                    "AND month = DATE '2026-02-01' AND departures > 0")
        revised = release_site.publish(con, tmp_path / "out", cfg.effective_today, THRESHOLD)
    finally:
        con.close()
    assert revised.created and revised.version == "2026-02-r2" and revised.revision_of == "2026-02"
    assert release_site.versions(tmp_path / "out") == ["2026-02", "2026-02-r2"]
    old = json.loads((tmp_path / "out" / "releases" / "2026-02" / "data" / "notices.json").read_text(encoding="utf-8"))
    assert "1900 0000" not in json.dumps(old, ensure_ascii=False)   # the earlier release is kept as it was
    latest = tmp_path / "out" / "latest"
    assert release_site.manifest(latest)["version"] == "2026-02-r2"
    assert any("Thông báo công khai: 1 ô thay đổi" in c for c in revised.changes)
    page = (latest / "index.html").read_text(encoding="utf-8")
    assert "hiệu đính bản" in page and "1900 0000" in page
    assert "Thay đổi so với bản 2026-02" in (latest / "ghi-chu-phat-hanh.md").read_text(encoding="utf-8")


def test_page_metadata_jsonld_and_release_note(published: Path) -> None:
    page = (published / "latest" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="vi">' in page and 'name="viewport"' in page and DEMO_LABEL in page
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert found
    meta = json.loads(found.group(1))
    assert "Dataset" in meta["@type"] and "dcat:Dataset" in meta["@type"]
    assert meta["license"].startswith("https://creativecommons.org/") and DEMO_LABEL in meta["keywords"]
    assert {d["contentUrl"] for d in meta["distribution"]} >= {"data/communes.csv", "datapackage.json"}
    assert "Ngày phát hành" in page and "Lũy kế đến hết tháng 2/2026" in page and "Chính sách hiệu đính" in page
    assert not re.search(r'(src="|<link[^>]*href=")(https?:)?//', page)  # nothing loaded from elsewhere


def test_two_consecutive_releases_leave_no_small_monthly_difference(published: Path) -> None:
    """A reader holding the January and the January–February releases subtracts every count
    published in both: with every figure rounded to base 5 (0 exact, "< 5" flagged ``c``), the
    interval of each difference never pins a monthly count from 1 to 4."""
    from xkld_geo.figures import disclosure

    before, after = (_counts(published / "releases" / v) for v in RELEASES)
    assert before.keys() == after.keys()
    assert before[("communes", "99001")] == (5, None)    # the fixture's trap: 7 then 9, shown 5 then 10
    assert after[("communes", "99001")] == (10, None)

    def label(value: int | None, flag: str | None) -> int | str:
        assert (value is None) == (flag in ("c", "d")) and flag in (None, "c", "d")
        assert value is None or value == 0 or (value >= THRESHOLD and value % THRESHOLD == 0)
        if flag == "d":
            return disclosure.HIDDEN
        return disclosure.small_label(THRESHOLD) if value is None else value

    pinned = {}
    for key in before:
        lo0, hi0 = disclosure.interval(label(*before[key]), THRESHOLD)
        lo1, hi1 = disclosure.interval(label(*after[key]), THRESHOLD)
        low, high = max(0, lo1 - hi0), hi1 - lo0            # cumulative counts never fall
        if low == high and 0 < low < THRESHOLD:
            pinned[key] = low
    assert pinned == {}


def test_publish_without_departures_says_why(tmp_path: Path) -> None:
    con = db.open_connection(":memory:")
    con.execute("CREATE TABLE departures (month DATE, departures INTEGER)")
    from xkld_geo.errors import PublishError

    with pytest.raises(PublishError, match="Chưa có số liệu"):
        release_site.publish(con, tmp_path / "out", dt.date(2026, 3, 15), THRESHOLD)
    assert not (tmp_path / "out" / "latest").exists()


@pytest.fixture()
def served(published: Path) -> Iterator[str]:
    """The latest release served by Python's http.server on a free loopback port."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(published / "latest")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _drawn(page: Any, shapes: int) -> None:
    page.wait_for_function(f"() => window.xkldFeatureCount && window.xkldFeatureCount.choropleth === {shapes}",
                           timeout=30_000)
    assert page.evaluate("() => document.querySelectorAll('.leaflet-overlay-pane canvas, "
                         ".leaflet-overlay-pane path').length") > 0


@pytest.mark.browser
def test_served_release_draws_its_maps_with_no_outside_request(page: Any, served: str) -> None:
    page.goto(f"{served}/index.html")
    _drawn(page, 2)
    assert page.get_by_test_id("demo-label").is_visible()
    assert page.get_by_role("heading", name="Cảnh báo lừa đảo").first.is_visible()
    page.goto(f"{served}/tinh/99.html")
    _drawn(page, 6)
    assert page.external == []
    assert page.responses and all(url.startswith(served) and status in (200, 304) for url, status in page.responses)


@pytest.mark.browser
def test_release_opens_straight_from_the_folder_on_a_phone(browser: Any, published: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        pg = context.new_page()
        outside: list[str] = []
        pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file://") else None)
        pg.goto((published / "latest" / "index.html").as_uri())
        _drawn(pg, 2)
        width = pg.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400  # one column: nothing wider than the phone
        assert outside == []
    finally:
        context.close()


def test_administrator_publishes_with_a_button(app_env: Settings, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:


    monkeypatch.setenv("XKLD_PUBLISH_DIR", str(tmp_path / "site"))
    at = run_page("pages/9_Quan_tri.py", role="admin", timeout=120)
    assert not at.exception and not at.error
    at.button(key="publish_release").click().run()
    assert not at.exception and not at.error
    assert any("Đã phát hành bản 2026-02" in s.value for s in at.success)
    assert release_site.versions(tmp_path / "site") == ["2026-02"]
    con = db.connect(app_env)
    assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'release_published'").fetchone()[0] == 1


def test_import_page_publishes_again_when_the_setting_asks(app_env: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:

    from xkld_geo.settings import PROJECT_ROOT

    monkeypatch.setenv("XKLD_PUBLISH_AUTO", "true")
    monkeypatch.setenv("XKLD_PUBLISH_DIR", str(tmp_path / "site"))
    at = run_page("pages/7_Nhap_du_lieu.py", role="clerk", timeout=120)
    name = "xa_thang02_dong_loi.csv"
    data = (PROJECT_ROOT / "tests" / "data" / name).read_bytes()
    at.file_uploader(key="import_file").set_value((name, data, "text/csv")).run()
    at.button(key="import_run").click().run()
    assert not at.exception and not at.error
    assert any("Đã phát hành bản 2026-02" in c.value for c in at.caption)
    assert release_site.versions(tmp_path / "site") == ["2026-02"]
