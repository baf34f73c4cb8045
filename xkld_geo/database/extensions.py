"""The DuckDB extensions the project needs, shipped inside Python wheels and loaded by file path.

DuckDB's extension server is unreachable here (and in many government networks), so nothing is
ever downloaded: ``spatial`` comes from ``duckdb-extension-spatial`` and ``postgres`` (the shared
store, :mod:`xkld_geo.database.store`) from ``duckdb-extension-postgres``, each matching the installed
duckdb version exactly.
"""
from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import duckdb

from xkld_geo.errors import DatabaseError


def _shipped(module: str, package: str) -> Path:
    """The ``extensions`` folder of the wheel ``package`` (imported as ``module``)."""
    try:
        pkg = importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - install problem
        raise DatabaseError(f"Thiếu gói {package}; hãy cài theo requirements.txt.", package=package) from exc
    return Path(pkg.__file__ or "").resolve().parent / "extensions"


def spatial_path() -> Path:
    """Path of the spatial extension shipped by the ``duckdb-extension-spatial`` wheel.

    The extension server is unreachable here (and in many government networks), so the extension
    is loaded from the file inside the package, matching the installed duckdb version exactly.
    """
    base = _shipped("duckdb_extension_spatial", "duckdb-extension-spatial")
    wanted = base / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(base.glob("v*/spatial.duckdb_extension"))
    raise DatabaseError(
        f"Phần mở rộng spatial không khớp phiên bản duckdb {duckdb.__version__} "
        f"(có: {', '.join(p.parent.name for p in found) or 'không có'}).",
        duckdb_version=duckdb.__version__, found=[str(p) for p in found])


def postgres_path() -> Path:
    """The ``postgres`` extension of the ``duckdb-extension-postgres`` wheel, loadable by path.

    DuckDB derives the extension's entry point from the file name, and the wheel names the file
    ``postgres.duckdb_extension`` while the extension calls itself ``postgres_scanner``: a link
    with that name, in a folder of our own under the temporary directory, points at the wheel's file.
    """
    shipped = (_shipped("duckdb_extension_postgres", "duckdb-extension-postgres") / f"v{duckdb.__version__}"
               / "postgres.duckdb_extension")
    if not shipped.exists():
        raise DatabaseError(f"Phần mở rộng postgres không khớp phiên bản duckdb {duckdb.__version__}.",
                            duckdb_version=duckdb.__version__, path=str(shipped))
    folder = Path(tempfile.gettempdir()) / "xkld-duckdb-extensions" / f"v{duckdb.__version__}"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "postgres_scanner.duckdb_extension"
    if not link.exists() or link.resolve() != shipped:
        tmp = folder / f".postgres_scanner.{id(link)}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(shipped)
        tmp.replace(link)   # atomic: replicas starting together never see half a link
    return link
