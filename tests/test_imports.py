"""The layers of xkld_geo, checked from the code's own imports (not by greps):

- no module of ``xkld_geo`` imports itself back through others (no import loop at all);
- the contracts of ``[tool.importlinter]`` in pyproject.toml, run by ``lint-imports``: the database
  layers (database, schema, dataversion, store, db) import nothing above them; the data intake
  imports no domain package (they register with it: :mod:`xkld_geo.registrations`); only
  ``xkld_geo.ui`` imports streamlit;
- an import refuses to run before the domain packages have registered their kinds and hooks.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from xkld_geo.settings import PROJECT_ROOT


def _loops(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    loops.append(sorted(group))
    return loops


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("xkld_geo", cache_dir=None)
    loops = _loops(graph)
    shown = ["; ".join(" -> ".join(graph.find_shortest_chain(a, b) or (a, b)) for a, b in zip(loop, loop[1:] + loop[:1]))
             for loop in loops]
    assert not loops, "import loops:\n" + "\n".join(shown)


def test_the_loop_finder_finds_a_loop() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.b", imported="p.c")
    assert _loops(graph) == [["p.a", "p.b"]]


def test_the_import_contracts_are_kept() -> None:
    # in a process of its own: lint-imports configures logging (and would silence the loggers of
    # the tests that run after it in this one)
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--config", str(PROJECT_ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_import_refuses_to_run_before_the_registrations() -> None:
    code = ("from xkld_geo.errors import ConfigError\nfrom xkld_geo.intake import ingest, kinds, registry\n"
            "assert 'cases' not in kinds.KINDS\ntry:\n    registry.require()\nexcept ConfigError as exc:\n"
            "    print('refused:', exc.details['reason'])\n"
            "from xkld_geo import registrations\nregistry.require()\nprint(sorted(kinds.KINDS))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "refused: intake_not_registered"
    assert "cases" in lines[1] and "orders" in lines[1]
