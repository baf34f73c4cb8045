#!/usr/bin/env python3
"""Regroup the flat top level of ``xkld_geo/`` into packages named for what they serve.

This script *is* the record of the move: :data:`MOVES` below is the table old path → new path.
It is mechanical and re-runnable, so it can be applied to a tree it has never seen (main after
other branches were merged) and a second run changes nothing:

1. Refuses to start (exit 2), listing them, when a module at the top of ``xkld_geo/`` is neither
   kept there (:data:`KEEP`, at most eight modules with ``__init__`` and ``__main__``) nor mapped.
   Map a new one on the command line: ``--map xkld_geo/novelty.py=xkld_geo/text/novelty.py``
   (repeatable; dotted names work too; it wins over a default), or keep it at the top with
   ``--keep novelty``.
2. ``git mv`` of every file (a package moves file by file, so a destination folder that already
   exists is merged into); ``__init__.py`` with a docstring for each new package.
3. Rewrites every reference in the tracked text files (Python, Markdown, TOML, YAML, shell, ...):
   ``from xkld_geo import db, store, auth`` is split by destination package; ``from xkld_geo.db
   import run``, ``import xkld_geo.db``, dotted names in strings (``mock.patch`` targets, logger
   names, import-linter contracts, mypy overrides, ``:mod:`` roles) and file paths
   (``xkld_geo/db.py``, ``xkld_geo/schema/``: docs, ruff per-file settings, scripts). When a module
   changes its name (``build/warehouse.py`` → ``warehouse/assembly.py``) the name it was imported
   under is renamed in the importing file too. ``python -m xkld_geo`` is left alone.
4. Applies the few text edits a regex cannot derive (:data:`EDITS`: docstrings saying where SQL
   lives, the new ``docs/architecture.md``, the top-level check in ``tests/test_layout.py``); an
   edit whose anchor is gone is listed as a manual fix-up instead.
5. Sorts the imports of the touched Python files with ruff (``--select I``) when the repository's
   ruff configuration sorts imports.

Exit status: 0 done (or nothing to do), 2 refused (nothing changed), 3 done but manual fix-ups are
listed at the end. ``--dry-run`` prints the plan and changes nothing.

Usage (from the repository root, on a clean tree; then review ``git status`` and commit)::

    .venv/bin/python scripts/regroup.py [--dry-run] [--map OLD=NEW ...] [--keep NAME ...]

Logger names follow the modules (``xkld_geo.db`` is now ``xkld_geo.database.db``): a log filter
outside the repository that names one must follow too.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = "xkld_geo"
SELF = Path(__file__).resolve()

KEEP = ("__init__", "__main__", "cli", "settings", "errors", "registrations")
"""Modules that stay at the top of the package: the package itself, its command line, settings, errors,
and (where it exists) the composition root that registers the domain packages with the shared layers."""
MAX_TOP = 8
"""At most this many modules (``*.py`` files, ``__init__`` and ``__main__`` included) at the top."""

MOVES: dict[str, str] = {
    # database/: the one way into the data and what keeps it fast and whole
    "xkld_geo/db.py": "xkld_geo/database/db.py",
    "xkld_geo/store.py": "xkld_geo/database/store.py",
    "xkld_geo/extensions.py": "xkld_geo/database/extensions.py",
    "xkld_geo/watchdog.py": "xkld_geo/database/watchdog.py",
    "xkld_geo/dataversion.py": "xkld_geo/database/dataversion.py",
    "xkld_geo/cache.py": "xkld_geo/database/cache.py",
    "xkld_geo/singleflight.py": "xkld_geo/database/singleflight.py",
    "xkld_geo/backup.py": "xkld_geo/database/backup.py",
    "xkld_geo/leftovers.py": "xkld_geo/database/leftovers.py",
    "xkld_geo/schema/": "xkld_geo/database/schema/",
    # access/: who someone is and what they may read and write
    "xkld_geo/auth.py": "xkld_geo/access/auth.py",
    "xkld_geo/second_factor.py": "xkld_geo/access/second_factor.py",
    "xkld_geo/scope.py": "xkld_geo/access/scope.py",
    # server/: what serve.py runs beside Streamlit
    "xkld_geo/gateway.py": "xkld_geo/server/gateway.py",
    "xkld_geo/health.py": "xkld_geo/server/health.py",
    "xkld_geo/listener.py": "xkld_geo/server/listener.py",
    # text/: how anything is written for a person (Vietnamese words, numbers, order, escaping, files)
    "xkld_geo/labels.py": "xkld_geo/text/labels.py",
    "xkld_geo/formats.py": "xkld_geo/text/formats.py",
    "xkld_geo/collation.py": "xkld_geo/text/collation.py",
    "xkld_geo/markup.py": "xkld_geo/text/markup.py",
    "xkld_geo/sheets.py": "xkld_geo/text/sheets.py",
    "xkld_geo/guides.py": "xkld_geo/text/guides.py",
    # figures/: the programme's figures as the views, reports and the release read them
    "xkld_geo/periods.py": "xkld_geo/figures/periods.py",
    "xkld_geo/queries.py": "xkld_geo/figures/queries.py",
    "xkld_geo/metrics.py": "xkld_geo/figures/metrics.py",
    "xkld_geo/disclosure.py": "xkld_geo/figures/disclosure.py",
    "xkld_geo/references.py": "xkld_geo/figures/references.py",
    "xkld_geo/export.py": "xkld_geo/figures/export.py",
    # warehouse/: the build (a package named build/ is ignored as output by .gitignore templates and tools)
    "xkld_geo/build/warehouse.py": "xkld_geo/warehouse/assembly.py",
    "xkld_geo/build/": "xkld_geo/warehouse/",
    # modules other branches of this round add at the top (skipped where they do not exist)
    "xkld_geo/database.py": "xkld_geo/database/backend.py",   # the Database object, one per backend
    "xkld_geo/audit.py": "xkld_geo/access/audit.py",
    "xkld_geo/processes.py": "xkld_geo/database/processes.py",  # beside leftovers, which names processes
}
"""Old path → new path, a module (``.py``) or a whole package (trailing ``/``). A module inside a
moved package may have an entry of its own (it wins over its package's)."""

PACKAGE_DOCS: dict[str, str] = {
    "xkld_geo/database": (
        "The one way into the data: the database object and its connections (:mod:`.db`), the\n"
        "extensions (:mod:`.extensions`), the shared PostgreSQL store (:mod:`.store`), query deadlines\n"
        "(:mod:`.watchdog`), the data version and the results shared per version (:mod:`.dataversion`,\n"
        ":mod:`.cache`, :mod:`.singleflight`), backups (:mod:`.backup`), leftovers of killed work\n"
        "(:mod:`.leftovers`) and the schema, declared once and moved by numbered migrations (:mod:`.schema`).\n"
        "\n"
        "Where SQL lives: a statement that belongs to one concept stays beside it, in that concept's module\n"
        "(plans in :mod:`xkld_geo.planning.plans`, cases in :mod:`xkld_geo.protection.cases`, ...); reads of\n"
        "the figures that several views share are in :mod:`xkld_geo.figures.queries`. Wherever it lives, every\n"
        "statement runs through the database object of :mod:`.db`, with a name and bound parameters, and the\n"
        "few identifiers that vary are whitelisted or quoted by ``db.quote_identifier``."),
    "xkld_geo/access": (
        "Who someone is and what they may do: accounts, roles, sessions and the audit log (:mod:`.auth`),\n"
        "the second factor (:mod:`.second_factor`) and every account's place, checked on the server\n"
        "(:mod:`.scope`)."),
    "xkld_geo/server": (
        "What ``serve.py`` runs beside the Streamlit app: the session-cookie and geometry routes\n"
        "(:mod:`.gateway`), the replica's health answer (:mod:`.health`) and the listening socket\n"
        "(:mod:`.listener`). No Streamlit page logic here."),
    "xkld_geo/text": (
        "How anything is written for a person: Vietnamese labels of stored codes (:mod:`.labels`), vi-VN\n"
        "numbers and dates (:mod:`.formats`), Vietnamese order (:mod:`.collation`), escaping for HTML,\n"
        "Markdown and spreadsheets (:mod:`.markup`), the one writer of spreadsheets and CSV files\n"
        "(:mod:`.sheets`) and the users' guides (:mod:`.guides`)."),
    "xkld_geo/figures": (
        "The programme's figures as views, reports and the release read them: reporting periods\n"
        "(:mod:`.periods`), the named reads that several views share (:mod:`.queries`), indicators and\n"
        "their classes (:mod:`.metrics`), disclosure control of public counts (:mod:`.disclosure`), the\n"
        "reference data administrators edit (:mod:`.references`) and the downloads (:mod:`.export`)."),
    "xkld_geo/warehouse": (
        "Building the warehouse: reading and checking the input files, the crosswalk across the 2025\n"
        "reform, the demo generator, and the atomic, idempotent build itself (:mod:`.assembly`)."),
}
"""Docstring of each package the move creates (or whose ``__init__.py`` it writes)."""

ARCHITECTURE = ROOT / "docs" / "architecture.md"
ARCHITECTURE_MARKER = "`database/` —"
ARCHITECTURE_SHA256 = "5e4f8c72323e34885758e845f33934dcd2d4225efc6fc3e161db22b348e45747"
"""The flat-layout page this script's :data:`ARCHITECTURE_TEXT` was written from (main at 87c0a58)."""
"""Present once docs/architecture.md describes the regrouped tree: it is then never rewritten."""


@dataclass
class Edit:
    """A text edit applied after the move: ``old`` → ``new`` in ``path`` (its new path; a glob edits the
    first file holding ``old``), idempotent."""

    path: str
    old: str
    new: str
    why: str


EDITS: list[Edit] = [
    Edit("xkld_geo/figures/queries.py",
         '"""Named, parametrised queries: the only SQL the app runs outside the build.\n',
         '"""Named, parametrised reads of the figures that several views share: units, shapes, attainment,\n'
         'monthly departures, origins.\n'
         '\n'
         'This is not the only SQL: a statement that belongs to one concept stays beside it, in that\n'
         "concept's module (plans in :mod:`xkld_geo.planning.plans`, cases in\n"
         ":mod:`xkld_geo.protection.cases`, ...), and only reads no single concept owns are kept here.\n"
         'Wherever it lives, every statement goes through the database object\n'
         '(:mod:`xkld_geo.database.db`) with a name and bound parameters.\n',
         "queries.py claimed to hold the only SQL while about fifty modules hold statements"),
    Edit("xkld_geo/database/*.py",
         "result), so a slow query is logged and a runaway one is interrupted in one place. The same place\n"
         "notices when",
         "result), so a slow query is logged and a runaway one is interrupted in one place (the statements\n"
         "themselves are written beside the concept they belong to: :mod:`xkld_geo.database` says where).\n"
         "The same place notices when",
         "the module every statement runs through says where the statements are written"),
    Edit("xkld_geo/warehouse/__init__.py",
         '"""Building the warehouse: reading and checking the input files, the crosswalk across the 2025 reform, '
         'the demo generator."""\n',
         '"""' + PACKAGE_DOCS["xkld_geo/warehouse"] + '"""\n',
         "the package moved from build/ names the module that builds (assembly)"),
    Edit("xkld_geo/warehouse/assembly.py", "in PostgreSQL (build.seed)", "in PostgreSQL (warehouse.seed)",
         "a comment naming the package's old name"),
    Edit("scripts/run.sh", "(xkld_geo/ui/listener.py)", "(xkld_geo/server/listener.py)",
         "a stale path (listener.py was never in ui/)"),
    Edit("docs/planning.md", "`xkld_geo/allocation.py`", "`xkld_geo/planning/allocation.py`",
         "a stale path (allocation.py moved into planning/ earlier)"),
    Edit("tests/test_layout.py",
         "\n\ndef test_pages_only_wire_widgets() -> None:",
         "\n\ndef test_at_most_eight_modules_at_the_top() -> None:\n"
         '    """The top of the package shows the architecture: everything else lives in a package named for\n'
         '    what it serves (scripts/regroup.py records the move)."""\n'
         '    top = sorted(p.name for p in PACKAGE.glob("*.py"))\n'
         f"    assert len(top) <= {MAX_TOP}, top\n"
         '    assert not (PACKAGE / "build").exists(), "build/ is warehouse/ (tools treat build/ as output)"\n'
         "\n\ndef test_pages_only_wire_widgets() -> None:",
         "the check that at most eight modules stay at the top of xkld_geo/"),
]
"""Edits a regex over module paths cannot derive. Applied when ``old`` is there and ``new`` is not."""


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class Mapping:
    """One dotted rename: old module or package → new one."""

    old: str
    new: str
    source: Path
    """The file or folder that is moved (relative to ROOT)."""
    active: bool = True
    """Whether references are rewritten this run (see :func:`plan`)."""


@dataclass
class Plan:
    mappings: list[Mapping]
    moves: list[tuple[Path, Path]]
    packages: list[Path]
    notes: list[str] = field(default_factory=list)


def dotted(path: str) -> str:
    """``xkld_geo/build/warehouse.py`` or ``xkld_geo/schema/`` → ``xkld_geo.build.warehouse`` / ``xkld_geo.schema``."""
    path = path.strip()
    if "/" not in path and not path.endswith(".py"):
        return path.strip(".")
    path = path.rstrip("/")
    if path.endswith(".py"):
        path = path[:-3]
    return path.replace("/", ".")


def as_path(name: str, package: bool) -> str:
    """The inverse of :func:`dotted`: a package gets a trailing slash, a module ``.py``."""
    base = name.replace(".", "/")
    return base + "/" if package else base + ".py"


def normalise(old: str, new: str) -> tuple[str, str]:
    """A --map pair, paths or dotted names, as two paths of the :data:`MOVES` kind."""
    is_pkg = old.endswith("/") or (ROOT / old.replace(".", "/")).is_dir() or (ROOT / old.rstrip("/")).is_dir()
    if "/" not in old and not old.endswith(".py"):
        old = as_path(old, is_pkg)
    if "/" not in new and not new.endswith(".py"):
        new = as_path(new, is_pkg)
    if is_pkg:
        return old.rstrip("/") + "/", new.rstrip("/") + "/"
    return old, new


def git(*args: str, capture: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, check=True, text=True,
                          stdout=subprocess.PIPE if capture else None)
    return done.stdout if capture else ""


def tracked(under: str | None = None) -> list[str]:
    out = git("ls-files", "-z", *([under] if under else []))
    return [p for p in out.split("\0") if p]


def plan(moves: dict[str, str], keep: tuple[str, ...]) -> Plan:
    """What to move and which references to rewrite; refuses (SystemExit 2) on an unmapped top module."""
    pkg_dir = ROOT / PKG
    mapped_top = {Path(old).stem for old in moves if old.endswith(".py") and old.count("/") == 1}
    unmapped = sorted(p.name for p in pkg_dir.glob("*.py") if p.stem not in keep and p.stem not in mapped_top)
    if unmapped:
        sys.stderr.write(
            "regroup: REFUSED, nothing changed. These top-level modules of xkld_geo/ have no mapping:\n"
            + "".join(f"  xkld_geo/{name}\n" for name in unmapped)
            + "Map each one, e.g. --map xkld_geo/NAME.py=xkld_geo/PACKAGE/NAME.py, or keep it with --keep NAME"
            f" (at most {MAX_TOP} modules at the top).\n")
        raise SystemExit(2)
    if len(keep) > MAX_TOP:
        sys.stderr.write(f"regroup: REFUSED: {len(keep)} modules kept at the top, at most {MAX_TOP}: {keep}\n")
        raise SystemExit(2)

    destinations = {dotted(new) for new in moves.values()}
    new_packages = set()
    for new in destinations:
        parts = new.split(".")
        for i in range(2, len(parts)):
            new_packages.add(".".join(parts[:i]))
    new_packages.update(dotted(n) for n in moves.values() if n.endswith("/"))

    result = Plan([], [], [])
    files = set(tracked(PKG))
    per_file: dict[str, str] = {}
    # packages first, then single files (a module's own entry wins over its package's)
    for old, new in sorted(moves.items(), key=lambda kv: (not kv[0].endswith("/"), kv[0])):
        if old.endswith("/"):
            for f in sorted(files):
                if f.startswith(old):
                    per_file[f] = new + f[len(old):]
        else:
            per_file[old] = new
    for old, new in moves.items():
        source = ROOT / old.rstrip("/")
        there = source.exists() and (source.is_dir() == old.endswith("/"))
        target = ROOT / new.rstrip("/")
        if not there and not target.exists():
            result.notes.append(f"{old}: not in this tree (nor {new}); skipped")
        ambiguous = dotted(old) in new_packages
        # An old module whose dotted name becomes a package (xkld_geo/database.py → xkld_geo/database/…)
        # is rewritten only in the run that moves it: afterwards the name means the new package.
        result.mappings.append(Mapping(dotted(old), dotted(new), Path(old.rstrip("/")), active=there or not ambiguous))
    for old_f, new_f in sorted(per_file.items()):
        src, dst = ROOT / old_f, ROOT / new_f
        if src.exists() and dst.exists():
            sys.stderr.write(f"regroup: REFUSED: both {old_f} and {new_f} exist; merge them by hand first.\n")
            raise SystemExit(2)
        if src.exists() and old_f in files:
            result.moves.append((Path(old_f), Path(new_f)))
    for name in sorted(new_packages):
        if name == PKG:
            continue
        result.packages.append(Path(name.replace(".", "/")))
    return result


# ---------------------------------------------------------------------------------------------
# Rewriting references

IMPORT_NAMES = r"\w+(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*\w+(?:[ \t]+as[ \t]+\w+)?)*"
PATTERN = re.compile(
    rf"(?P<imp>(?<![\w.])from[ \t]+(?P<mod>{PKG}(?:\.\w+)*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|{IMPORT_NAMES}))"
    rf"|(?P<dot>(?<![\w.]){PKG}(?:\.\w+)+)"
    rf"|(?P<path>(?<![\w.]){PKG}(?P<parts>(?:/\w+)+)(?P<py>\.py)?(?P<slash>/)?)")


class Rewriter:
    def __init__(self, mappings: list[Mapping]) -> None:
        self.table = {m.old: m.new for m in mappings if m.active}
        # local names to rename in the file: a module imported under a name that changed (warehouse → assembly)
        self.renames: dict[str, str] = {}

    def rewrite_dotted(self, name: str) -> str:
        parts = name.split(".")
        for k in range(len(parts), 1, -1):
            new = self.table.get(".".join(parts[:k]))
            if new is not None:
                return ".".join([new, *parts[k:]])
        return name

    def _import(self, m: re.Match[str], text: str) -> str:
        module, raw = m.group("mod"), m.group("names")
        comments = re.findall(r"#[^\n]*", raw)
        body = re.sub(r"#[^\n]*", "", raw).strip("()")
        names = [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()]
        groups: dict[str, list[str]] = {}
        for entry in names:
            name, _, alias = (part.strip() for part in re.sub(r"\s+", " ", entry).partition(" as "))
            full = self.rewrite_dotted(f"{module}.{name}")
            parent, stem = full.rsplit(".", 1)
            if stem != name and not alias:
                self.renames[name] = stem
            groups.setdefault(parent, []).append(f"{stem} as {alias}" if alias else stem)
        if list(groups) == [module] and groups[module] == [re.sub(r"\s+", " ", n) for n in names]:
            return m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        indent = text[line_start:m.start()]
        line_end = text.find("\n", m.end())
        rest = text[m.end():line_end if line_end >= 0 else len(text)]
        block = not indent.strip() and (not rest.strip() or rest.strip().startswith("#"))
        noqa = " ".join(c for c in comments if "noqa" in c)
        statements = [f"from {parent} import {', '.join(group)}" for parent, group in groups.items()]
        if block:
            if noqa:
                statements = [f"{s}  {noqa}" for s in statements]
            extra = [c for c in comments if "noqa" not in c]
            if extra:
                statements[0] += "  " + " ".join(extra)
            trailing = rest.strip()
            if "noqa" in trailing:  # the line's own noqa comment stays after the last statement: copy it
                statements[:-1] = [s if "noqa" in s else f"{s}  {trailing}" for s in statements[:-1]]
            return ("\n" + indent).join(statements)
        return "; ".join(statements)

    def _path(self, m: re.Match[str]) -> str:
        parts = m.group("parts").strip("/").split("/")
        name = self.rewrite_dotted(".".join([PKG, *parts]))
        if name == ".".join([PKG, *parts]):
            return m.group(0)
        return name.replace(".", "/") + (m.group("py") or "") + (m.group("slash") or "")

    def text(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group("imp"):
                return self._import(m, text)
            if m.group("dot"):
                return self.rewrite_dotted(m.group("dot"))
            return self._path(m)
        return PATTERN.sub(sub, text)


def rename_names(source: str, renames: dict[str, str]) -> str:
    """Rename the local names a moved module was imported under (``warehouse`` → ``assembly``):
    every NAME token not after a dot and not a keyword argument; strings and comments untouched."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                                                        tokenize.INDENT, tokenize.DEDENT)]
    depth = 0
    for i, tok in enumerate(significant):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type == tokenize.STRING and "f" in tok.string[:tok.string.index(tok.string[-1])].lower():
            start = offsets[tok.start[0] - 1] + tok.start[1]
            renamed = _rename_in_fstring(tok.string, renames)
            if renamed != tok.string:
                edits.append((start, start + len(tok.string), renamed))
            continue
        if tok.type != tokenize.NAME or tok.string not in renames:
            continue
        before = significant[i - 1] if i else None
        after = significant[i + 1] if i + 1 < len(significant) else None
        if before is not None and before.type == tokenize.OP and before.string == ".":
            continue
        if depth and after is not None and after.type == tokenize.OP and after.string == "=":
            continue
        if before is not None and before.type == tokenize.NAME and before.string == "import":
            continue  # the rewritten import already says the new name
        start = offsets[tok.start[0] - 1] + tok.start[1]
        edits.append((start, start + len(tok.string), renames[tok.string]))
    for start, end, new in reversed(edits):
        source = source[:start] + new + source[end:]
    return source


def _rename_in_fstring(literal: str, renames: dict[str, str]) -> str:
    """The replacement fields of an f-string (Python 3.11 tokenizes it as one string): ``{warehouse.x}``."""
    names = "|".join(map(re.escape, renames))

    def field(m: re.Match[str]) -> str:
        return re.sub(rf"(?<![\w.'\"])({names})(?=\s*[.(\[,)}}!:])", lambda n: renames[n.group(1)], m.group(0))
    return re.sub(r"(?<!\{)\{(?!\{)[^{}]*\}", field, literal)


def rewrite_package_paths(text: str, moves: dict[str, str]) -> str:
    """Docs name a module of a moved package relative to the package root (``build/demo.py``,
    ``schema/tables.py``): rewritten when nothing but a backtick, a space or a bracket precedes it."""
    def sub(m: re.Match[str]) -> str:
        old = f"{PKG}/{m.group(1)}"
        if old in moves and old.endswith(".py"):
            return moves[old][len(PKG) + 1:]
        for o, n in moves.items():
            if o.endswith("/") and old.startswith(o):
                return (n + old[len(o):])[len(PKG) + 1:]
        return m.group(0)
    packages = sorted({o[len(PKG) + 1:].rstrip("/") for o in moves if o.endswith("/")}, key=len, reverse=True)
    if not packages:
        return text
    pattern = rf"(?<![\w/.-])((?:{'|'.join(map(re.escape, packages))})/(?:\w+/)*\w+\.py)\b"
    return re.sub(pattern, sub, text)


def rewrite_tests_paths(text: str, moves: dict[str, str]) -> str:
    """Tests name module files relative to the package (``relative != "db.py"``); a line that compares
    a file's own name (``path.name == "sheets.py"``, still true after the move) is left alone."""
    pairs = [(old[len(PKG) + 1:], new[len(PKG) + 1:]) for old, new in moves.items() if old.endswith(".py")]
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if re.search(r"\.(name|stem)\b", line):
            continue
        for o, n in pairs:
            line = re.sub(rf"(['\"]){re.escape(o)}\1", rf"\g<1>{n}\g<1>", line)
        lines[i] = line
    return "".join(lines)


def candidates() -> list[Path]:
    out = []
    for rel in tracked():
        path = ROOT / rel
        if path.resolve() == SELF or rel.startswith("static/vendor/") or not path.is_file():
            continue
        if path.suffix.lower() in {".csv", ".xlsx", ".png", ".gz", ".duckdb", ".parquet", ".zip", ".js", ".css"}:
            continue
        out.append(path)
    return out


# ---------------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                        help="an extra mapping, e.g. xkld_geo/novelty.py=xkld_geo/text/novelty.py")
    parser.add_argument("--keep", action="append", default=[], metavar="NAME",
                        help="an extra module kept at the top of xkld_geo/ (at most eight in all)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--no-ruff", action="store_true", help="do not sort the touched files' imports")
    args = parser.parse_args(argv)

    moves = dict(MOVES)
    for pair in args.map:
        if "=" not in pair:
            parser.error(f"--map {pair}: expected OLD=NEW")
        old, new = normalise(*pair.split("=", 1))
        moves[old] = new
    for name in args.keep:  # --keep wins over a default mapping
        moves.pop(f"{PKG}/{name}.py", None)
    keep = tuple(dict.fromkeys([*KEEP, *args.keep]))
    the_plan = plan(moves, keep)

    print(f"regroup: {len(the_plan.moves)} file(s) to move")
    for src, dst in the_plan.moves:
        print(f"  git mv {src} {dst}")
    for note in the_plan.notes:
        print(f"  note: {note}")
    if args.dry_run:
        inactive = [m.old for m in the_plan.mappings if not m.active]
        if inactive:
            print(f"  (references of {inactive} are left alone: already moved, and the name is now a package)")
        return 0

    original_page = ARCHITECTURE.read_text(encoding="utf-8") if ARCHITECTURE.exists() else ""
    # 1. move (xkld_geo/database.py and a new xkld_geo/database/ may coexist for a moment: no clash)
    for src, dst in the_plan.moves:
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src), str(dst))
    for src, _ in the_plan.moves:  # folders left with caches only (a namespace package would import)
        folder = (ROOT / src).parent
        while folder != ROOT / PKG and folder.is_dir() and folder != ROOT:
            cache = folder / "__pycache__"
            if cache.is_dir():
                shutil.rmtree(cache)
            if any(folder.iterdir()):
                break
            folder.rmdir()
            folder = folder.parent
    for src, _ in the_plan.moves:  # stale bytecode of the old top-level modules
        for pyc in (ROOT / src).parent.glob(f"__pycache__/{(ROOT / src).stem}.*.pyc"):
            pyc.unlink()

    touched: set[Path] = set()
    manual: list[str] = []

    # 2. packages
    for package in the_plan.packages:
        init = ROOT / package / "__init__.py"
        if not (ROOT / package).is_dir() or init.exists():
            continue
        doc = PACKAGE_DOCS.get(package.as_posix())
        if doc is None:
            doc = f"The ``{package.name}`` package (made by scripts/regroup.py)."
            manual.append(f"{init.relative_to(ROOT)}: write the package's docstring (a placeholder was written)")
        init.write_text(f'"""{doc}"""\n', encoding="utf-8")
        git("add", str(init.relative_to(ROOT)))
        touched.add(init)

    # 3. references
    module_moves = {old: new for old, new in moves.items()}
    for path in candidates():
        try:
            before = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if PKG not in before and path.suffix != ".md":
            continue
        rewriter = Rewriter(the_plan.mappings)
        after = rewriter.text(before)
        if path.suffix == ".py":
            renames = {old: new for old, new in rewriter.renames.items() if old != new}
            if renames:
                after = rename_names(after, renames)
            if path.relative_to(ROOT).parts[0] == "tests":
                after = rewrite_tests_paths(after, {o: n for o, n in module_moves.items()
                                                    if (ROOT / n).exists() or (ROOT / o).exists()})
        if path.suffix == ".md":
            after = rewrite_package_paths(after, module_moves)
        if after != before:
            path.write_text(after, encoding="utf-8")
            touched.add(path)

    # 4. the edits no regex derives
    if ARCHITECTURE.exists() and ARCHITECTURE_MARKER not in ARCHITECTURE.read_text(encoding="utf-8"):
        ARCHITECTURE.write_text(ARCHITECTURE_TEXT, encoding="utf-8")
        touched.add(ARCHITECTURE)
        if hashlib.sha256(original_page.encode("utf-8")).hexdigest() != ARCHITECTURE_SHA256:
            manual.append("docs/architecture.md was replaced by the regrouped page, but the flat-layout page had "
                          "changed since this script was written: carry its additions over "
                          "(git diff HEAD -- docs/architecture.md)")
        for rel in unnamed_modules(ARCHITECTURE_TEXT):
            lines = [ln.strip() for ln in original_page.splitlines() if f"`{Path(rel).stem}`" in ln]
            manual.append(f"docs/architecture.md: describe xkld_geo/{rel} (the old page said: "
                          f"{' | '.join(lines) or 'nothing'})")
    elif ARCHITECTURE.exists():
        for rel in unnamed_modules(ARCHITECTURE.read_text(encoding="utf-8")):
            manual.append(f"docs/architecture.md: describe xkld_geo/{rel}")
    for edit in EDITS:
        targets = sorted(ROOT.glob(edit.path)) if any(c in edit.path for c in "*?[") else [ROOT / edit.path]
        targets = [t for t in targets if t.is_file()]
        if not targets:
            manual.append(f"{edit.path}: missing, so not edited ({edit.why})")
            continue
        contents = {t: t.read_text(encoding="utf-8") for t in targets}
        if any(edit.new in c for c in contents.values()):
            continue
        found = [t for t, c in contents.items() if edit.old in c]
        if not found:
            manual.append(f"{edit.path}: anchor not found, edit by hand ({edit.why})")
            continue
        found[0].write_text(contents[found[0]].replace(edit.old, edit.new, 1), encoding="utf-8")
        touched.add(found[0])

    # 5. import order
    py = sorted(str(p.relative_to(ROOT)) for p in touched if p.suffix == ".py" and p.exists())
    if py and not args.no_ruff and sorts_imports():
        subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--select", "I", "--quiet", *py],
                       cwd=ROOT, check=False)

    top = sorted(p.name for p in (ROOT / PKG).glob("*.py"))
    print(f"regroup: {len(touched)} file(s) rewritten; top of {PKG}/: {', '.join(top)}")
    if len(top) > MAX_TOP:
        manual.append(f"{len(top)} modules at the top of {PKG}/, at most {MAX_TOP}")
    if not the_plan.moves and not touched:
        print("regroup: nothing to do (already regrouped)")
    if manual:
        print("\nregroup: MANUAL FIX-UPS REMAIN:")
        for item in manual:
            print(f"  - {item}")
        return 3
    return 0


def sorts_imports() -> bool:
    """Whether the repository's ruff configuration selects the isort rules (I, I001)."""
    try:
        import tomllib
        config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):
        return False
    ruff = config.get("tool", {}).get("ruff", {})
    lint = ruff.get("lint", {})
    selected = [*lint.get("select", []), *lint.get("extend-select", []), *ruff.get("select", []),
                *ruff.get("extend-select", [])]
    return any(code == "ALL" or code == "I" or code.startswith("I0") for code in selected)


def unnamed_modules(layout: str) -> list[str]:
    """Modules of the package the architecture page does not name (the rule tests/test_layout.py checks)."""
    missing = []
    for module in sorted((ROOT / PKG).rglob("*.py")):
        if module.name == "__init__.py" or "__pycache__" in module.parts:
            continue
        relative = module.relative_to(ROOT / PKG)
        named = f"`{module.stem}`" in layout or f"`{relative.parts[0]}/{module.stem}`" in layout \
            or f"xkld_geo/{relative.as_posix()}" in layout
        package_named = len(relative.parts) == 1 or f"`{relative.parts[0]}/`" in layout
        if not (named and package_named):
            missing.append(relative.as_posix())
    return missing


ARCHITECTURE_TEXT = """\
# Cấu trúc mã nguồn

The tree shows the architecture: at most eight modules stay at the top of `xkld_geo/`, everything
else lives in a package named for what it serves (`scripts/regroup.py` records the move from the
flat layout, old path → new path).

- `app.py` — the entry point: the page menu (`xkld_geo/ui/navigation.py`) with Vietnamese titles,
  grouped *Lãnh đạo* / *Công khai* / *Nghiệp vụ*; every page checks the role itself.
- `serve.py` — what `scripts/run.sh` runs: `app.py` through `st.App`, plus the session-cookie routes
  of `xkld_geo/server/gateway.py` (HttpOnly cookie) and a 404 for `/_stcore/metrics`.
- `pages/` — one file per page, widgets only: check the role, read inputs, call one `build_*`, render.
- `xkld_geo/` — the library. At the top: `settings` (every setting, declared once), `errors` (the
  typed errors pages show once), `cli` (also run as `python -m xkld_geo`: `__main__`). Then:
  - `database/` — the one way into the data: `db` (named, timed, interruptible statements,
    `quote_identifier`, `registered`, `transaction`, `value`), `extensions` (DuckDB's spatial and
    postgres extensions, shipped in wheels and loaded by path), `store` (the shared PostgreSQL store
    behind `XKLD_DATABASE_URL`: attach, schema, advisory locks, reconnect, keyed lookups),
    `watchdog` (one thread enforcing every query's deadline), `dataversion` (the counter every
    write bumps), `cache` (results shared across sessions, keyed by that version), `singleflight`
    (sessions missing the same result wait for the one computing it), `backup` (consistent copies
    of the embedded file and their restore), `leftovers` (what killed builds and publishes left,
    cleaned at the next start);
    - `database/schema/` — every table declared once: `table` (what a declaration holds),
      `derived`, `operational`, `reference`, `pipeline`, `protection`, `notifications`, `views`,
      gathered by `tables` (the registry: `create_all`, what a rebuild keeps) — and the numbered
      `migrations`;
    - where SQL lives: a statement that belongs to one concept stays beside it, in that concept's
      module (plans in `planning/plans`, cases in `protection/cases`, …); the reads of figures
      that several views share are `figures/queries`. Every statement, wherever it is written,
      runs through `database/db` with a name and bound parameters;
  - `access/` — who someone is and what they may do: `auth` (users, roles, sessions, rate limits,
    the audit log), `second_factor` (TOTP with pyotp: enrolment, checks, required for
    administrators), `scope` (every account's place: the nation, a province, a commune or a
    company; what it may read and write, checked on the server);
  - `server/` — what `serve.py` runs beside Streamlit: `gateway` (the session-cookie endpoint and
    the geometry files' route), `health` (the replica's `/xkld/health` answer), `listener` (the
    listening socket, whose connections send without Nagle's delay: `python serve.py` installs it
    before Streamlit binds);
  - `text/` — how anything is written for a person: `labels` (the Vietnamese label of every status,
    role, kind, method and column name), `formats` (one vi-VN number and date format for screens,
    charts, XLSX and DOCX), `collation` (Vietnamese order of names, as ICU's `COLLATE vi` in SQL),
    `markup` (escaping for HTML, Markdown and spreadsheets), `sheets` (the one escaping writer of
    every spreadsheet and CSV the product writes), `guides` (the user guides per role, from
    `docs/huong-dan/`);
  - `figures/` — the programme's figures as views, reports and the release read them: `periods`
    (reporting periods, cut-offs, projection), `queries` (the named reads several views share),
    `metrics` (indicators and their classes), `disclosure` (rounds every public count),
    `references` (markets, licensed companies and public notices edited by administrators: one
    check → save → audit path), `export` (the ranking as XLSX, the map as PNG);
  - `warehouse/` — the warehouse build: `sources`, `boundaries`, `history` (the 2025 crosswalk),
    `countries`, `demo`, `programme` (demo loans, returns and problems), `demo_pipeline` (demo
    orders, interviews and courses), `demo_protection` (demo cases, clubs and returnees), `seed`
    (re-seeding the shared PostgreSQL store from a fresh build, keeping entered work), `assembly`
    (the build itself: every input checked first, written beside the target, moved into place
    when complete, idempotent by fingerprint);
  - `intake/` — imports (`queue`: large uploads wait their turn under a memory budget): `columns`
    (a template's columns and kinds, the shared columns), `kinds` (the registry of import kinds
    and their templates), `spreadsheets`, `charsets` (which encoding a file is in),
    `legacy_fonts` (the TCVN3/VNI/cp1258 codecs), `checks` (cell checks), `spelling` (one spelling
    of hand-typed unit names), `gazetteer` (commune matching), `writes`, `registers`, `ingest`;
  - `planning/` — `allocation` (the maths), `plans` (drafts, approval), `reallocation` (mid-year
    moves between communes), `annex` (the decision annex);
  - `views/` — what the pages show: `overview`, `period_tables` (the national tables of each period
    every overview and public request is cut from, shared and warmed), `priority`, `markets`,
    `jobfairs`, `problems` (loans, returns, breaches, fraud reports), `units` (the directive
    pages' unit map and selected commune), `public`;
  - `pipeline/` — from job fair to departure: `orders` (recruitment orders open now and by
    status), `funnel` (fair → orientation → interview → passed → trained → departed), `training`,
    `demand` (places offered against departures by occupation × market), `templates` and
    `imports` (their import kinds);
  - `protection/` — after departure: `cases` (the register of cases and their allowed moves),
    `casebook` (open cases, ageing, cases per company), `problems` (problem counts derived from the
    register), `clubs` (families' clubs), `returnees`, `templates` and `intake` (their import
    kinds);
  - `notifications/` — e-mails and webhooks that go out by themselves
    ([notifications](notifications.md)): `outbox`, `channels`, `templates`, `notices`, `scheduler`,
    `subscriptions`, `addresses`;
  - `foresight/` — `forecast` (year-end forecasts with an 80 % range, the method chosen by
    backtest, what it takes per unit); `views/outlook` turns them into the forecast page,
    `ui/foresight` draws it; `protection/alarms` flags clusters of fraud, breaches and illegal stay
    (Poisson–Gamma model);
  - `reporting/` — the reporting cycle: `completeness`, `people`, `profiles`, `report`,
    `document`, `emulation`, `monthly` (the commune's monthly report form: drafts, submission),
    `rules` (the validation rules the form and every import share: hard rules refuse, soft rules
    ask for a comment), `approval` (draft → submitted → approved / returned, locking,
    un-approval, one function per transition, audited; see [places](places.md));
  - `release/` — the static open-data release: `content` (the public tables and their metadata),
    `site` (the self-contained site), `assets/`; `figures/disclosure` rounds every public count;
  - `maps/` — the map layers (`archipelagos`: Quần đảo Hoàng Sa and Quần đảo Trường Sa labelled on
    every map of the whole country): `layers` (Leaflet assets, the base map), `choropleth`
    (classes, legends, the choropleth and its values-only repaint), `geometry` (content-hashed
    TopoJSON files, kept in a folder beside the database so each is built once per build),
    `warmup` (the pages' layers published after a build and, in the background, when the app
    starts), `flows` (the market flow lines);
  - `ui/` — the only package importing streamlit (`monthly` draws the commune's form and the
    province's review queue): `common` (connection, filters, escaping for Markdown),
    `map_component` (the map component's arguments, built once per shared map), `shared_tables`
    (the Arrow tables of shared views, converted once), `tables` (every table on screen, vi-VN
    formats), `attachments` (what the UI derives from a shared view or map spec, kept as long as
    the cache keeps the object), `navigation` (the menu), `access` (login, roles), `part` (parts of
    a page that rerun alone, `st.fragment`, checking the session again), one renderer per page
    group (`overview`, `directives`, `workbench`, `imports`, `public`, `admin`, `completeness`,
    `people`, `report`, `emulation`, `pipeline`, `protection`, `notifications`). `settings` reads
    `st.secrets` lazily, the one exception.
- `static/vendor/` — Leaflet 1.9.4 (BSD-2-Clause) and world-atlas country outlines (ISC), served by
  the app.
- `data/` — the built database; data files you provide. `tests/` — with the intake corpus and the
  hostile corpus in `tests/data/`, and the pre-migration database in `tests/data/legacy/`. `bench/`.
- `pyproject.toml` — ruff and mypy settings (the test command runs both).
- `scripts/regroup.py` — the record of the move from the flat layout (old path → new path); run
  again it changes nothing.
"""


if __name__ == "__main__":
    raise SystemExit(main())
