"""Output is escaped: URL parameters, names and notices are shown as text, never as Markdown links,
images or markup; spreadsheet text never becomes a formula (issue 13, items 6, 11 and 12)."""
from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.figures import references
from xkld_geo.settings import Settings
from xkld_geo.text import markup

LINK = "[Đăng nhập lại](http://evil.example/login)"
IMAGE = "![x](http://evil.example/pixel.png)"
PAYLOADS = [LINK, IMAGE, "<img src=x onerror=alert(1)>", "**đậm** _nghiêng_ `mã`", ":red[đỏ] $x^2$",
            "www.evil.example", "http://evil.example", "HTTPS://WWW.EVIL.EXAMPLE", "thu@evil.example",
            "# Tiêu đề\n- mục\n1. mục", "a | b\n--|--"]

_LINK_OR_IMAGE = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
_BARE_URL = re.compile(r"(?i)(https?://|www\.|\w@\w)")  # Streamlit links these even when escaped


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.replace("  \n", "\n").replace(markup.JOINER, ""))


def _live_markup(body: str) -> bool:
    """Whether Markdown ``body`` would render a link, image, raw HTML or a bare autolink."""
    return bool(_LINK_OR_IMAGE.search(body) or _BARE_URL.search(body.replace("\\", "")) or re.search(r"(?<!\\)<[A-Za-z/!?]", body))


@pytest.mark.parametrize("text", PAYLOADS)
def test_markdown_text_shows_the_text_and_nothing_else(text: str) -> None:
    escaped = markup.markdown_text(text)
    assert _unescape(escaped) == text
    assert not _live_markup(escaped)
    assert not re.search(r"(?m)^\s*(?<!\\)[-#>|]", escaped) and not re.search(r"(?m)^\s*\d+(?<!\\)\.", escaped)


def test_markdown_text_keeps_ordinary_text_readable() -> None:
    for text in ("Xã Thử 4 (Tỉnh Thử Nghiệm), tháng 1–6/2024", "python -m xkld_geo build", "Dòng 3, cột X: sai"):
        assert markup.markdown_text(text) == text


def test_html_text_and_cell_text() -> None:
    assert markup.html_text('<img src=x onerror="a">') == "&lt;img src=x onerror=&quot;a&quot;&gt;"
    assert [markup.cell_text(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", 5)] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok", 5]



def _bodies(at: AppTest) -> list[str]:
    """Every Markdown body the page rendered: messages, titles, captions, markdown, button labels."""
    out: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "info", "error", "success"):
        out += [str(e.value) for e in getattr(at, kind) if not getattr(e, "allow_html", False)]  # not our own CSS
    out += [str(b.label) for b in at.button]
    return out


@pytest.mark.parametrize("payload", [LINK, IMAGE])
@pytest.mark.parametrize("path,name,role", [("pages/1_Cong_khai.py", "unit", None), ("app.py", "unit", "viewer"),
                                            ("app.py", "every", "viewer"), ("app.py", "year", "viewer"),
                                            ("app.py", "month", "viewer")])
def test_url_parameters_are_shown_as_text(app_env: Settings, path: str, name: str, role: str | None,
                                          payload: str) -> None:
    query = {name: payload} if name != "every" else {"mode": "present", "cycle": "99", name: payload}
    at = run_page(path, role, query)
    assert not at.exception
    bodies = _bodies(at)
    warned = [b for b in bodies if "không hợp lệ" in b]
    assert warned, bodies
    assert all(not _live_markup(b) for b in bodies), bodies
    assert any("evil.example" in b for b in warned)  # shown, as text


@pytest.mark.parametrize("every", ["²", "٣", "1" * 50, "-5"])
def test_odd_rotation_periods_fall_back_without_a_traceback(app_env: Settings, every: str) -> None:
    at = run_page("app.py", query={"mode": "present", "cycle": "99", "every": every})
    assert not at.exception
    assert at.number_input(key="cycle_every").value == 20


def test_notices_are_shown_as_text(app_env: Settings) -> None:
    con = db.connect(app_env)
    references.save_notice(con, "hotline", f"Gọi {LINK}", auth.User("admin", "admin", "admin"))
    references.save_notice(con, "fraud_warning", f"Cảnh giác {IMAGE}", auth.User("admin", "admin", "admin"))
    con.close()
    at = run_page("pages/1_Cong_khai.py", role=None)
    assert not at.exception
    bodies = _bodies(at)
    assert "evil.example/login" in at.info[0].value
    assert all(not _live_markup(b) for b in bodies), bodies


def test_display_name_is_shown_as_text(app_env: Settings) -> None:
    from xkld_geo.access import auth

    con = db.connect(app_env)
    auth.create_user(con, "markdown_name", "mat-khau-dai-du", "viewer", display_name=LINK)
    token, _ = auth.login(con, "markdown_name", "mat-khau-dai-du")
    con.close()
    at = run_page("app.py", role=None, state={"auth_token": token})
    assert not at.exception
    shown = [c.value for c in at.caption if "Đăng nhập:" in c.value]
    assert shown and "evil.example" in shown[0] and not _live_markup(shown[0])


def test_ranking_and_annex_spreadsheets_hold_no_formula(tiny_con) -> None:
    import pandas as pd
    from openpyxl import load_workbook

    from xkld_geo.figures import export

    table = pd.DataFrame({"Mã": ["99001"], "Tên": ["=HYPERLINK(\"http://evil.example\",\"x\")"],
                          "Ghi chú": ["+1+1"], "Khác": ["@SUM(A1)"], "Web": ["http://evil.example"]})
    book = load_workbook(io.BytesIO(export.ranking_xlsx(table, "=1+1", True)))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    assert not book.active._hyperlinks
    assert any(c.value == "=1+1" for c in cells)  # the text itself is kept


def test_reference_text_is_bounded_by_the_server(tiny_con) -> None:

    table = references.read(tiny_con, "markets")
    table.loc[table["code"] == "JP", "name_vi"] = "N" * (references.NAME_CHARS + 1)
    table.loc[table["code"] == "KR", "source"] = "S" * 2001
    errors = references.check_markets(table)
    assert any("name_vi" in e and str(references.NAME_CHARS) in e for e in errors)
    assert any("source" in e and "2.000" in e for e in errors)
    companies = pd.DataFrame([{"licence_no": "GP-1", "name": "X" * 501, "province_code": "99", "markets": "JP",
                               "valid_until": None}])
    assert any("tối đa 500" in e for e in references.check_companies(companies))
