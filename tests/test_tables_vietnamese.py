"""What the browser cannot read (tables are drawn in a canvas), read from each page's run: every
table of every page, for the administrator (who opens them all), names its columns in Vietnamese,
shows no stored code and formats its numbers vi-VN."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import problems, run_page
from xkld_geo.settings import Settings
from xkld_geo.text import formats
from xkld_geo.ui.navigation import MENU

ENTRIES = [entry for entries in MENU.values() for entry in entries]
IDENTIFIER = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
CODES = {"draft", "submitted", "approved", "superseded", "population", "last_year", "blend", "departures", "ok",
         "partial", "rejected", "unchanged", "admin", "clerk", "planner", "viewer", "release_published",
         "login", "user_added", "import_ok", "import_partial", "import_rejected"}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.file for e in ENTRIES])
def test_tables_speak_vietnamese(app_env: Settings, entry) -> None:
    at = run_page(f"pages/{entry.file}", role="admin", query={"unit": "99"}, settings=app_env)
    assert not at.exception, problems(at)
    for table in at.dataframe:
        frame = table.value
        config = json.loads(table.proto.columns or "{}")
        names = [str(c) for c in frame.columns]
        shown = [config.get(n, {}).get("label") or n for n in names]   # the header a person reads
        assert not [n for n in shown if IDENTIFIER.match(n)], (entry.file, shown)
        for column in frame.columns:
            if frame[column].dtype == object:
                values = {str(v) for v in frame[column].dropna().tolist()}
                assert not values & CODES, (entry.file, column, values & CODES)
        for name in names:
            kind = frame[name].dtype.kind
            if kind in "iu" and not re.match(r"^(Năm|Tháng|Mã|Số phương án|Lần nhập|Phiên bản|Kỳ)", name):
                assert config.get(name, {}).get("type_config", {}).get("format") in (formats.TABLE_INT,
                                                                                     formats.TABLE_SIGNED_INT), name
