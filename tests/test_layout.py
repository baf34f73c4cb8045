"""The house plan holds: the README's layout names every package and module, modules stay small,
only the UI imports streamlit, and no statement bypasses :mod:`xkld_geo.db`."""
from __future__ import annotations

import re

import pytest

from xkld_geo.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "xkld_geo"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def _layout() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Layout", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_the_readme_layout_names_every_module(module) -> None:
    layout = _layout()
    relative = module.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        assert f"`{relative.parts[0]}/`" in layout, f"package {relative.parts[0]}/ missing from the README layout"
    assert f"`{module.stem}`" in layout or f"`{relative.parts[0]}/{module.stem}`" in layout or \
        f"xkld_geo/{relative.as_posix()}" in layout, f"{relative} missing from the README layout"


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_modules_stay_under_400_lines(module) -> None:
    assert len(module.read_text(encoding="utf-8").splitlines()) < 400


def test_only_the_ui_imports_streamlit_and_no_statement_bypasses_db() -> None:
    for module in MODULES:
        text = module.read_text(encoding="utf-8")
        relative = module.relative_to(PACKAGE).as_posix()
        if not relative.startswith("ui/") and relative != "settings.py":  # settings reads st.secrets lazily
            assert not re.search(r"^\s*(import streamlit|from streamlit)", text, re.M), relative
        if relative != "db.py":
            assert not re.search(r"\bcon\.execute\(|\.executemany\(|\.register\(|\.unregister\(", text), relative


def test_pages_only_wire_widgets() -> None:
    for page in sorted((PROJECT_ROOT / "pages").glob("*.py")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b|db\.(run|execute)", text), page.name
        assert len(text.splitlines()) <= 30, page.name
