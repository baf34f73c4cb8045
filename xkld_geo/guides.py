"""The user guide (Hướng dẫn sử dụng) of each role, Markdown pages under ``docs/huong-dan/``,
shown in the app's sidebar and readable as documentation (MkDocs)."""
from __future__ import annotations

import functools

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
