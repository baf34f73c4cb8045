"""Browser test of the cases page (Chromium via Playwright), served on the tiny fictional country:
the map of open cases draws every commune of the province, coloured by its open cases."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser_support import _add_users, counts, login, map_frame, serve
from xkld_geo.database import db
from xkld_geo.settings import Settings

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def tiny_app_url(tiny_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served on a free local port against a copy of the tiny warehouse, with one user per role."""
    folder = tmp_path_factory.mktemp("tiny_server")
    served = folder / "served.duckdb"
    shutil.copyfile(tiny_template.db_path, served)
    _add_users(served)
    db.close_all()
    yield from serve(served, tiny_template, folder)


def test_the_open_cases_map_draws(page: Any, tiny_app_url: str, tiny_template: Settings) -> None:
    con = db.open_connection(Path(tiny_template.db_path), read_only=True)
    try:
        expected = dict(con.execute("""SELECT commune_code, count(*) FROM cases WHERE status <> 'closed'
                                       AND commune_code LIKE '99%' GROUP BY 1""").fetchall())
    finally:
        con.close()
    assert expected, "the demo data has open cases in province 99"
    login(page, f"{tiny_app_url}/Bao_ho_cong_dan?unit=99", role="planner")
    page.get_by_text("Vụ việc đang mở").first.wait_for(timeout=30_000)
    counts(page, "choropleth", 6)
    frame = map_frame(page, 6)
    shown = frame.evaluate("""() => { const out = {};
        for (const l of Object.values(window.map._layers))
            if (l.feature && l.feature.properties && typeof l.feature.properties.value === 'number')
                out[l.feature.properties.code || l.feature.id] = l.feature.properties.value;
        return out; }""")
    assert sum(shown.values()) == sum(expected.values()), shown
    assert page.external == []
