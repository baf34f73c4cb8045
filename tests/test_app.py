"""AppTest of the overview page (app.py): widgets found by key, numbers, errors shown once."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from xkld_geo import db, metrics
from xkld_geo.settings import PROJECT_ROOT, Settings

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture()
def app_env(tiny_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("XKLD_DB", str(tiny_db.db_path))
    monkeypatch.setenv("XKLD_DATA_DIR", str(tiny_db.data_dir))
    db.close_all()
    yield tiny_db
    db.close_all()


def _run(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def test_national_overview(app_env: Settings) -> None:
    at = _run()
    assert not at.exception and not at.error
    assert at.selectbox(key="year").value == 2026
    assert at.selectbox(key="province").value is None
    labels = {m.label: m.value for m in at.metric}
    con = db.open_connection(app_env.db_path, read_only=True)
    quota, dep = con.execute("SELECT SUM(quota), SUM(departures) FROM v_attainment "
                             "WHERE year = 2026 AND unit_level = 'province'").fetchone()
    con.close()
    assert labels["Chỉ tiêu"] == metrics.fmt_int(quota)
    assert labels["Đã xuất cảnh"] == metrics.fmt_int(dep)
    assert len(at.dataframe[0].value) == 2
    assert any("Dữ liệu minh họa" in m.value for m in at.markdown)


def test_choosing_a_province_shows_its_communes(app_env: Settings) -> None:
    at = _run()
    at.selectbox(key="province").set_value("99").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 6 and set(table["Mã"]) == {f"99{i:03d}" for i in range(1, 7)}
    assert at.query_params["unit"] == ["99"] or at.query_params["unit"] == "99"
    assert any("Tỉnh Thử Nghiệm" in h.value for h in at.subheader)


def test_url_reopens_the_same_view(app_env: Settings) -> None:
    at = _run({"year": "2024", "unit": "98"})
    assert at.selectbox(key="year").value == 2024
    assert at.selectbox(key="province").value == "98"
    assert len(at.dataframe[0].value) == 2


@pytest.mark.parametrize("query", [{"unit": "../../etc/passwd"}, {"year": "2024; DROP TABLE quotas"},
                                   {"unit": "x" * 5000}])
def test_hostile_url_parameters_fall_back_with_a_message(app_env: Settings, query: dict[str, str]) -> None:
    at = _run(query)
    assert not at.exception
    assert len(at.warning) == 1 and "không hợp lệ" in at.warning[0].value
    assert at.selectbox(key="province").value is None


def test_missing_database_shows_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XKLD_DB", str(tmp_path / "absent.duckdb"))
    db.close_all()
    at = _run()
    assert not at.exception
    assert len(at.error) == 1 and "python -m xkld_geo build" in at.error[0].value
