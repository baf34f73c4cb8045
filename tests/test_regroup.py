"""scripts/regroup.py, the record of the move from the flat top level, rewrites what it has not seen:
imports split by destination, a module's local name renamed with it, a second run changes nothing,
and a top-level module without a mapping stops it before anything moves.

The package's name is spelled in pieces here, so that running the script does not rewrite its own test.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from xkld_geo.settings import PROJECT_ROOT

P = "xkld" + "_geo"


def _script():
    spec = importlib.util.spec_from_file_location("regroup", PROJECT_ROOT / "scripts" / "regroup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["regroup"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


regroup = _script()


def _rewrite(text: str, python: bool = True, extra: dict[str, str] | None = None, moved: bool = False) -> str:
    moves = dict(regroup.MOVES) | (extra or {})
    new_packages = {regroup.dotted(n).rsplit(".", 1)[0] for n in moves.values()}
    mappings = [regroup.Mapping(regroup.dotted(o), regroup.dotted(n), Path(o),
                                active=moved or regroup.dotted(o) not in new_packages) for o, n in moves.items()]
    rewriter = regroup.Rewriter(mappings)
    out = rewriter.text(text)
    if python and rewriter.renames:
        out = regroup.rename_names(out, rewriter.renames)
    return out


@pytest.mark.parametrize("before, after", [
    (f"from {P} import auth, db, maps  # noqa: E402\n",
     f"from {P}.access import auth  # noqa: E402\nfrom {P}.database import db  # noqa: E402\n"
     f"from {P} import maps  # noqa: E402\n"),
    (f"    from {P} import db\n", f"    from {P}.database import db\n"),
    (f"from {P}.db import run, value\n", f"from {P}.database.db import run, value\n"),
    (f"import {P}.store as store\n", f"import {P}.database.store as store\n"),
    (f"from {P} import (\n    queries,\n    settings as settings_mod,\n)\n",
     f"from {P}.figures import queries\nfrom {P} import settings as settings_mod\n"),
    (f"from {P}.schema import tables\n", f"from {P}.database.schema import tables\n"),
    (f'mock.patch("{P}.store.open_shared")\n', f'mock.patch("{P}.database.store.open_shared")\n'),
    (f'run("from {P} import db, store; print(1)")\n', f'run("from {P}.database import db, store; print(1)")\n'),
    (f"{P}.ui.common and {P}.maps\n", f"{P}.ui.common and {P}.maps\n"),
])
def test_imports_and_dotted_names_follow_the_move(before: str, after: str) -> None:
    assert _rewrite(before) == after
    assert _rewrite(after) == after  # a second run changes nothing


def test_paths_in_docs_and_settings_follow_the_move() -> None:
    text = (f"`{P}/db.py`, `{P}/schema/` and `{P}/build/warehouse.py`; `python -m {P} build`\n"
            f'"{P}/gateway.py" = ["E402"]\n')
    out = _rewrite(text, python=False)
    assert out == (f"`{P}/database/db.py`, `{P}/database/schema/` and `{P}/warehouse/assembly.py`; "
                   f'`python -m {P} build`\n"{P}/server/gateway.py" = ["E402"]\n')
    assert _rewrite(out, python=False) == out


def test_a_module_that_changes_its_name_is_renamed_where_it_is_used() -> None:
    before = (f"from {P}.build import demo, warehouse\n\n"
              "def f(s, warehouse_path):\n"
              "    monkeypatch.setattr(warehouse, 'carry_over', None)\n"
              "    x = f'{warehouse.build(s)}'\n"
              "    return warehouse.build(s, force=True), demo.x, call(warehouse=1)  # warehouse.build\n")
    out = _rewrite(before)
    assert out == (f"from {P}.warehouse import demo, assembly\n\n"
                   "def f(s, warehouse_path):\n"
                   "    monkeypatch.setattr(assembly, 'carry_over', None)\n"
                   "    x = f'{assembly.build(s)}'\n"
                   "    return assembly.build(s, force=True), demo.x, call(warehouse=1)  # warehouse.build\n")
    assert _rewrite(out) == out


def test_tests_naming_a_module_relative_to_the_package_follow_it() -> None:
    db_py, sheets_py = "db" + ".py", "sheets" + ".py"
    text = f'if relative != "{db_py}":\n    if path.name == "{sheets_py}":\n'
    out = regroup.rewrite_tests_paths(text, regroup.MOVES)
    assert out == f'if relative != "database/{db_py}":\n    if path.name == "{sheets_py}":\n'
    assert regroup.rewrite_tests_paths(out, regroup.MOVES) == out


def test_an_old_module_whose_name_becomes_a_package_is_rewritten_only_when_it_moves() -> None:
    extra = {f"{P}/database.py": f"{P}/database/backend.py"}
    first = _rewrite(f"from {P} import database, db\nfrom {P}.database import Database\n", extra=extra, moved=True)
    assert first == (f"from {P}.database import backend, db\nfrom {P}.database.backend import Database\n")
    assert _rewrite(first, extra=extra, moved=False) == first


def test_an_unmapped_top_level_module_stops_everything(tmp_path: Path, monkeypatch, capsys) -> None:
    package = tmp_path / P
    package.mkdir()
    db_py = "db" + ".py"  # spelled in pieces too: the script rewrites such names in tests
    for name in ("__init__.py", db_py, "novelty.py"):
        (package / name).write_text('"""x"""\n', encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    monkeypatch.setattr(regroup, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as stopped:
        regroup.plan(dict(regroup.MOVES), regroup.KEEP)
    assert stopped.value.code == 2
    assert f"{P}/novelty.py" in capsys.readouterr().err
    assert (package / db_py).exists()
    the_plan = regroup.plan(dict(regroup.MOVES) | {f"{P}/novelty.py": f"{P}/text/novelty.py"}, regroup.KEEP)
    assert [(str(s), str(d)) for s, d in the_plan.moves] == [(f"{P}/db.py", f"{P}/database/db.py"),
                                                            (f"{P}/novelty.py", f"{P}/text/novelty.py")]
