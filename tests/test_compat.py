"""Library internals stay in one module (xkld_geo/ui/compat.py), which checks the versions it was
written for."""
from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from xkld_geo.settings import PROJECT_ROOT
from xkld_geo.ui import compat

WATCHED = ("streamlit", "streamlit_folium", "starlette")
INTERNAL_MODULES = ("streamlit.runtime", "streamlit.web")
"""Streamlit's modules that are no API of its own: only the compatibility module imports them."""
COMPAT = PROJECT_ROOT / "xkld_geo" / "ui" / "compat.py"


def _watched(module: str) -> bool:
    return module.split(".")[0] in WATCHED


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def internals(source: str) -> list[str]:
    """The uses of a private name or an internal module of :data:`WATCHED` libraries in ``source``:
    imports (``from streamlit_folium import _component_func``, ``import streamlit.web.cli``) and
    attributes of a name bound to such a module (``starlette_server._bind_socket``)."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}   # local name -> the watched module (or object) it stands for
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _watched(alias.name):
                    bound[(alias.asname or alias.name).split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
                    if any(_private(p) for p in alias.name.split(".")) or alias.name.startswith(INTERNAL_MODULES):
                        found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and _watched(node.module):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                bound[alias.asname or alias.name] = full
                if any(_private(p) for p in full.split(".")) or full.startswith(INTERNAL_MODULES):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                found.append(f"line {node.lineno}: {bound[base.id]} … .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr") \
                and len(node.args) > 1 and isinstance(node.args[0], ast.Name) and node.args[0].id in bound \
                and isinstance(node.args[1], ast.Constant) and _private(str(node.args[1].value)):
            found.append(f"line {node.lineno}: {node.func.id}({bound[node.args[0].id]}, {node.args[1].value!r})")
    return found


def _modules() -> list[Path]:
    return sorted([*(PROJECT_ROOT / "xkld_geo").rglob("*.py"), *(PROJECT_ROOT / "pages").glob("*.py"),
                   PROJECT_ROOT / "app.py", PROJECT_ROOT / "serve.py"])


@pytest.mark.parametrize("source, expected", [
    ("import streamlit as st\nst._main\n", 1),
    ("from streamlit_folium import _component_func\n", 1),
    ("import streamlit_folium\nstreamlit_folium._component_func(a=1)\n", 1),
    ("from streamlit.web.server.starlette import starlette_server\nstarlette_server._bind_socket\n", 2),
    ("from streamlit.runtime.scriptrunner import get_script_run_ctx\n", 1),
    ("import streamlit.web.cli\n", 1),
    ("from streamlit.web.server.starlette import starlette_server as s\nsetattr(s, '_bind_socket', 1)\n", 2),
    ("import streamlit as st\nst.session_state['_keep_year']\nst.__version__\n", 0),
    ("from starlette.routing import Route\nimport folium\nfolium.Map()._name\n", 0),
])
def test_the_scan_finds_private_names_of_the_watched_libraries(source: str, expected: int) -> None:
    assert len(internals(source)) == expected


def test_no_module_uses_a_library_internal_outside_the_compatibility_module() -> None:
    found = {str(path.relative_to(PROJECT_ROOT)): uses for path in _modules() if path != COMPAT
             and (uses := internals(path.read_text(encoding="utf-8")))}
    assert found == {}
    assert internals(COMPAT.read_text(encoding="utf-8"))   # the scan does see what compat holds


def test_every_streamlit_testid_the_css_selects_is_listed_in_the_compatibility_module() -> None:
    used: set[str] = set()
    for path in _modules():
        used |= set(re.findall(r"data-testid=\\?[\"'](st[A-Za-z-]+)", path.read_text(encoding="utf-8")))
    assert used and used <= compat.STREAMLIT_TESTIDS, used - compat.STREAMLIT_TESTIDS


def test_the_versions_written_for_are_the_pinned_ones() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M))
    assert {name: pins.get(name) for name in compat.WRITTEN_FOR} == compat.WRITTEN_FOR
    assert compat.mismatches() == []   # the test environment is the pinned one


def test_a_different_version_is_logged_and_told_to_an_administrator(monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    newer = {"streamlit": "1.68.0", "starlette": "1.10.0"}
    monkeypatch.setattr(compat, "installed", newer.get)
    compat.check_versions.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="xkld_geo.ui.compat"):
            found = compat.check_versions()
            compat.check_versions()   # once per process
        assert found == (compat.Mismatch("streamlit", "1.67.0", "1.68.0"),)
        english, vietnamese = [r.getMessage() for r in caplog.records]
        assert "streamlit 1.68.0 (written for 1.67.0)" in english and "_bind_socket" in english
        assert "Phiên bản thư viện khác" in vietnamese and "1.68.0 (đã kiểm tra với 1.67.0)" in vietnamese
        notice = compat.admin_notice()
        assert notice is not None and "streamlit 1.68.0 (đã kiểm tra với 1.67.0)" in notice
        assert "Cần kiểm tra" in notice and "written" not in notice
    finally:
        compat.check_versions.cache_clear()
    monkeypatch.undo()
    assert compat.admin_notice() is None


def test_an_administrator_is_told_once_per_session(app_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_page

    monkeypatch.setattr(compat, "admin_notice", lambda: "Phiên bản thư viện đang cài khác")
    at = run_page("app.py", role="admin")
    assert not at.exception
    assert [w.value for w in at.sidebar.warning if "Phiên bản thư viện" in w.value]
    at.run()
    assert not [w.value for w in at.sidebar.warning if "Phiên bản thư viện" in w.value]
    viewer = run_page("app.py", role="viewer")
    assert not [w.value for w in viewer.sidebar.warning if "Phiên bản thư viện" in w.value]
