"""The user guide (Hướng dẫn sử dụng) of each role, Markdown pages under ``docs/huong-dan/``,
shown in the app's sidebar and readable as documentation (MkDocs)."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from xkld_geo.settings import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "docs" / "huong-dan"
GUIDES: dict[str, str] = {"viewer": "lanh-dao.md", "planner": "can-bo-ke-hoach.md", "clerk": "can-bo-nhap-lieu.md",
                          "commune": "can-bo-xa.md", "admin": "quan-tri.md"}
"""Role → its guide's file. An administrator reads every guide."""


@functools.cache
def text(file: str) -> str:
    """The Markdown of one guide (read once per process)."""
    return (FOLDER / file).read_text(encoding="utf-8")


def for_role(role: str) -> list[str]:
    """The guides a role reads: its own, and every guide for an administrator."""
    if role == "admin":
        return [text(f) for f in dict.fromkeys([GUIDES["admin"], *GUIDES.values()])]
    return [text(GUIDES[role])] if role in GUIDES else []


SHOTS = FOLDER / "anh"
"""The guides' screenshots, written by the browser tests (tests/test_browser_vietnamese.py,
``test_guide_screenshots``) so that they stay true to the screens."""
IMAGE = re.compile(r"!\[([^\]]*)\]\((anh/[A-Za-z0-9_.-]+\.png)\)")
"""A screenshot in a guide: ``![caption](anh/name.png)`` (a path relative to the guide's folder)."""


def images(file: str) -> list[str]:
    """The screenshots one guide shows (paths relative to :data:`FOLDER`)."""
    return [m.group(2) for m in IMAGE.finditer(text(file))]


def parts(markdown: str) -> list[tuple[str, Path | None]]:
    """A guide cut at its screenshots, for the app (Streamlit's Markdown does not load a relative
    image): ``(text, None)`` for Markdown, ``(caption, path)`` for a screenshot."""
    out: list[tuple[str, Path | None]] = []
    at = 0
    for m in IMAGE.finditer(markdown):
        if markdown[at:m.start()].strip():
            out.append((markdown[at:m.start()], None))
        out.append((m.group(1), FOLDER / m.group(2)))
        at = m.end()
    if markdown[at:].strip():
        out.append((markdown[at:], None))
    return out
