"""How a notification reads: one plain-text and one HTML layout (Jinja2), filled from a
:class:`Letter`. Every value is plain text (names, comments, numbers); the HTML layout escapes them
all (Jinja2's autoescape), so a commune's or a reviewer's text can never become markup in a mailbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import jinja2

FOOTER = ("Đây là thư tự động của hệ thống XKLĐ-Geo, xin đừng trả lời thư này. Người dùng có tài khoản thay đổi "
          "loại thư nhận tại trang 'Thông báo'; danh sách người phụ trách do Sở Nội vụ cập nhật.")
DEMO = "Dữ liệu minh họa: các số liệu và địa chỉ trong thư này là giả định, dùng để trình diễn hệ thống."

_TEXT = """{{ letter.greeting }}

{% for p in letter.paragraphs %}{{ p }}

{% endfor %}{% if letter.rows %}{{ letter.headers | join(' | ') }}
{% for row in letter.rows %}- {{ row | join(' | ') }}
{% endfor %}
{% endif %}{% for p in letter.closing %}{{ p }}

{% endfor %}{% if letter.demo %}{{ demo }}

{% endif %}--
{{ footer }}
"""

_HTML = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>{{ letter.subject }}</title></head>
<body style="font-family: Arial, sans-serif; font-size: 14px; color: #1f2933;">
{% if letter.demo %}<p style="background:#fff3cd;padding:6px;"><strong>{{ demo }}</strong></p>{% endif %}
<p>{{ letter.greeting }}</p>
{% for p in letter.paragraphs %}<p>{{ p }}</p>
{% endfor %}{% if letter.rows %}<table style="border-collapse: collapse;" cellpadding="4" border="1">
<thead><tr>{% for h in letter.headers %}<th style="background:#e8eef5;">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in letter.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endif %}{% for p in letter.closing %}<p>{{ p }}</p>
{% endfor %}<hr><p style="color:#6b7280;font-size:12px;">{{ footer }}</p>
</body></html>
"""

_env = jinja2.Environment(loader=jinja2.DictLoader({"letter.txt": _TEXT, "letter.html": _HTML}),
                          autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class Letter:
    """What a message says: plain text everywhere (never markup)."""

    subject: str
    greeting: str
    paragraphs: Sequence[str]
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[object]] = ()
    closing: Sequence[str] = field(default_factory=tuple)
    demo: bool = False


def text(letter: Letter) -> str:
    """The plain-text body."""
    return _env.get_template("letter.txt").render(letter=letter, footer=FOOTER, demo=DEMO)


def html(letter: Letter) -> str:
    """The HTML body, every value escaped."""
    return _env.get_template("letter.html").render(letter=letter, footer=FOOTER, demo=DEMO)
