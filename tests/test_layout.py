"""The house plan holds: the architecture page (docs/architecture.md) names every package and module,
long modules are reported (a warning, not a cap: modules are split by concept, not by line count),
only the UI imports streamlit, and no statement bypasses :mod:`xkld_geo.database.db`."""
from __future__ import annotations

import re
import warnings

import pytest

from xkld_geo.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "xkld_geo"
LONG_MODULE = 400
"""Lines from which a module is reported as possibly holding more than one concept."""
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def _layout() -> str:
    return (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_the_readme_layout_names_every_module(module) -> None:
    layout = _layout()
    relative = module.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        assert f"`{relative.parts[0]}/`" in layout, f"package {relative.parts[0]}/ missing from docs/architecture.md"
    assert f"`{module.stem}`" in layout or f"`{relative.parts[0]}/{module.stem}`" in layout or \
        f"xkld_geo/{relative.as_posix()}" in layout, f"{relative} missing from docs/architecture.md"


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_long_modules_are_reported(module) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    if lines >= LONG_MODULE:
        warnings.warn(f"{module.relative_to(PACKAGE)} has {lines} lines: does it hold more than one concept?",
                      stacklevel=1)


def test_only_the_ui_imports_streamlit_and_no_statement_bypasses_db() -> None:
    for module in MODULES:
        text = module.read_text(encoding="utf-8")
        relative = module.relative_to(PACKAGE).as_posix()
        if not relative.startswith("ui/") and relative != "settings.py":  # settings reads st.secrets lazily
            assert not re.search(r"^\s*(import streamlit|from streamlit)", text, re.M), relative
        if relative not in ("database/db.py", "database/backend.py"):   # the database object and its statements
            assert not re.search(r"\bcon\.execute\(|\.executemany\(|\.register\(|\.unregister\(", text), relative


def test_at_most_eight_modules_at_the_top() -> None:
    """The top of the package shows the architecture: everything else lives in a package named for
    what it serves (scripts/regroup.py records the move)."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    assert not (PACKAGE / "build").exists(), "build/ is warehouse/ (tools treat build/ as output)"


def test_pages_only_wire_widgets() -> None:
    for page in sorted((PROJECT_ROOT / "pages").glob("*.py")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b|db\.(run|execute)", text), page.name
        assert len(text.splitlines()) <= 30, page.name
