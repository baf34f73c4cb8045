"""The single way into DuckDB: connections, the spatial extension, timeouts and query logging.

Every query of the project goes through :func:`run` (or :func:`execute` for statements without a
result), so a slow query is logged and a runaway one is interrupted in one place.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb
import pandas as pd

from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings, load_settings

log = logging.getLogger("xkld_geo.db")

Params = Mapping[str, Any] | None


def spatial_extension_path() -> Path:
    """Path of the spatial extension shipped by the ``duckdb-extension-spatial`` wheel.

    The extension server is unreachable here (and in many government networks), so the extension
    is loaded from the file inside the package, matching the installed duckdb version exactly.
    """
    try:
        import duckdb_extension_spatial as pkg
    except ImportError as exc:  # pragma: no cover - install problem
        raise DatabaseError("Thiếu gói duckdb-extension-spatial; hãy cài theo requirements.txt.",
                            package="duckdb-extension-spatial") from exc
    base = Path(pkg.__file__).resolve().parent / "extensions"
    wanted = base / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(base.glob("v*/spatial.duckdb_extension"))
    raise DatabaseError(
        f"Phần mở rộng spatial không khớp phiên bản duckdb {duckdb.__version__} "
        f"(có: {', '.join(p.parent.name for p in found) or 'không có'}).",
        duckdb_version=duckdb.__version__, found=[str(p) for p in found])


def open_connection(path: Path | str, read_only: bool = False, spatial: bool = True,
                    create: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file (``:memory:`` allowed) and load the spatial extension by file path.

    A missing file is an error unless ``create`` is set (only the build creates databases), so a
    mistyped path never leaves an empty database behind.
    """
    if not create and str(path) != ":memory:" and not Path(path).exists():
        raise DatabaseError(
            f"Chưa có cơ sở dữ liệu {path}. Hãy chạy: python -m xkld_geo build", path=str(path))
    try:
        con = duckdb.connect(str(path), read_only=read_only,
                             config={"allow_unsigned_extensions": "true",
                                     "autoinstall_known_extensions": "false",
                                     "autoload_known_extensions": "false"})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():  # another process (the running app) holds the writer's lock
            raise DatabaseError(f"Cơ sở dữ liệu {path} đang được một tiến trình khác mở (thường là ứng dụng "
                                "đang chạy; DuckDB chỉ cho một tiến trình ghi). Hãy dừng ứng dụng rồi chạy lại "
                                "lệnh, hoặc nhập báo cáo qua trang Nhập dữ liệu.", path=str(path),
                                reason="locked") from exc
        raise DatabaseError(f"Không mở được cơ sở dữ liệu {path}: {exc}", path=str(path)) from exc
    if spatial:
        con.execute(f"LOAD '{spatial_extension_path()}'")
    return con


_shared: dict[tuple[str, bool], duckdb.DuckDBPyConnection] = {}
_shared_lock = threading.Lock()


def connect(settings: Settings | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A cursor on the process-wide connection to the configured database.

    DuckDB connections are not thread-safe but their cursors are; Streamlit serves each browser
    session on its own thread, so each caller gets its own cursor on one shared connection.
    """
    settings = settings or load_settings()
    key = (str(Path(settings.db_path).resolve()), read_only)
    with _shared_lock:
        con = _shared.get(key)
        if con is None:
            con = open_connection(settings.db_path, read_only=read_only)
            _shared[key] = con
    return con.cursor()


def close_all() -> None:
    """Close every shared connection (tests and rebuilds call this before replacing the file)."""
    with _shared_lock:
        for con in _shared.values():
            try:
                con.close()
            except duckdb.Error:  # pragma: no cover - already closed
                pass
        _shared.clear()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction on ``con``: committed when the block ends, rolled back (and the error
    raised again) when anything in it fails, even an interrupt, so nothing is half-written."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    """Interrupt the statement running on ``con`` if it outlives ``seconds``."""
    timer = threading.Timer(seconds, con.interrupt) if seconds > 0 else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()


def _timed(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params,
           timeout_s: float, slow_ms: float, fetch: bool) -> pd.DataFrame | None:
    start = time.perf_counter()
    try:
        with _deadline(con, timeout_s):
            rel = con.execute(sql, dict(params) if params else None)
            result = rel.df() if fetch else None
    except duckdb.InterruptException as exc:
        raise DatabaseError(f"Truy vấn {name} quá {timeout_s:.0f} giây và đã bị dừng.",
                            query=name, timeout_s=timeout_s) from exc
    except duckdb.CatalogException as exc:
        raise DatabaseError(f"Cơ sở dữ liệu thiếu bảng cho truy vấn {name}: {exc}. "
                            "Hãy chạy: python -m xkld_geo build --force", query=name) from exc
    elapsed = (time.perf_counter() - start) * 1000
    level = logging.WARNING if elapsed > slow_ms else logging.DEBUG
    log.log(level, "query %s took %.1f ms", name, elapsed)
    return result


def run(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None,
        settings: Settings | None = None) -> pd.DataFrame:
    """Run a named, parametrised query (``$name`` placeholders) and return a DataFrame."""
    s = settings or load_settings()
    out = _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch=True)
    assert out is not None
    return out


def execute(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None,
            settings: Settings | None = None) -> None:
    """Run a named statement that returns nothing (DDL, INSERT)."""
    s = settings or load_settings()
    _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch=False)
