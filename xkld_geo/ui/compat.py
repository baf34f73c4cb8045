"""Every use of a library's internals, in one place, and the versions they were written for.

The rest of ``xkld_geo`` (and serve.py, app.py, pages/) uses only the documented APIs of
Streamlit, Starlette and folium: ``tests/test_compat.py`` parses every module and fails when a
private name (``_something``) of ``streamlit``, ``streamlit_folium`` or ``starlette``, or one of
Streamlit's internal modules (``streamlit.runtime``, ``streamlit.web``), is used anywhere but here.
What is left here has no public equivalent in Streamlit 1.67:

- :func:`run_marker`: an object that is the same during one script run of a session and new on
  the next (``ScriptRunContext.cursors``), which keeps one database cursor and one data-version
  check per page run;
- :func:`fragment_rerun`: whether this run is a fragment's own rerun
  (``ScriptRunContext.fragment_ids_this_run``), which tells a part (``ui.part``) to check the
  session itself;
- :func:`page_identity`: the page a run is for (``ScriptRunContext.page_script_hash``), which tells
  the shared filters that the user came from another page. The page ``st.navigation`` returns is
  public, but a part's own rerun (``st.fragment``) does not run ``st.navigation`` while the run
  may be for another page than the last full run (AppTest's ``switch_page`` after a part's rerun);
- :func:`install_socket_wrapper`: Streamlit's server binds its listening socket in
  ``streamlit.web.server.starlette.starlette_server._bind_socket``; serve.py wraps it so that
  connections send without Nagle's delay (:mod:`xkld_geo.server.listener` holds the socket logic);
- :func:`run_server`: ``streamlit run`` started from a Python script (``streamlit.web.cli.main``),
  after the wrapper above is installed;
- :data:`STREAMLIT_TESTIDS`: the ``data-testid`` values of Streamlit's elements that the pages'
  CSS selects (the metric, the file uploader, the sidebar and header, the page's containers).
  They are meant for testing, not styling, and may change in any release; ``tests/test_compat.py``
  fails when a module selects one not listed here.

Streamlit's own ``/_stcore/metrics`` route is hidden by :mod:`xkld_geo.server.gateway` (a URL path, not a
Python name); the map is the project's own component
(:mod:`xkld_geo.ui.map_component`, ``declare_component``), no longer a clone of ``st_folium``.

:data:`WRITTEN_FOR` pins the versions these were checked against (as requirements.txt pins them).
:func:`check_versions` runs when the server starts (serve.py's lifespan) and on the first page
run of a process: when an installed version differs, it logs, in English and Vietnamese, what to
check, and :func:`admin_notice` gives administrators the same advice once per session in the UI.
This module imports only Streamlit's public API at import time; the internals are imported where
they are used, so a moved internal fails there, with the name to look for, not the whole app.
"""
from __future__ import annotations

import functools
import importlib
import logging
import socket
from dataclasses import dataclass
from importlib import metadata
from typing import Callable, Sequence

log = logging.getLogger("xkld_geo.ui.compat")

WRITTEN_FOR: dict[str, str] = {"streamlit": "1.67.0", "starlette": "1.10.0"}
"""The library versions whose internals this module was written and tested for (requirements.txt)."""

SERVER_MODULE = "streamlit.web.server.starlette.starlette_server"
"""Streamlit's module that binds the listening socket (``_bind_socket``)."""

STREAMLIT_TESTIDS: frozenset[str] = frozenset({
    "stMetricValue", "stMetricLabel", "stMetricDelta",                  # headline figures (size, no cut-off)
    "stFileUploaderDropzone", "stFileUploaderDropzoneInstructions",     # uploader texts in Vietnamese
    "stMarkdownContainer",
    "stSidebar", "stSidebarCollapsedControl", "stSidebarNavLink",       # hidden on screens
    "stPageLink-NavLink",                                               # the app's own menu: its icons
    "stHeader", "stToolbar",
    "stAppViewContainer", "stMainBlockContainer", "stVerticalBlock",    # meeting and lobby screens' layout
})
"""Streamlit's ``data-testid`` values that the pages' CSS selects (ui/common.py PAGE_CSS,
ui/overview.py, ui/public.py, ui/navigation.py). After an upgrade, open the overview (normal and
``mode=present``), the public screen (``mode=kiosk``), the menu and an import page: the metric
labels must wrap, the uploader must read "Chọn tệp", the menu must show its icons."""

CHECKS = (
    "run_marker (ScriptRunContext.cursors), fragment_rerun (ScriptRunContext.fragment_ids_this_run), "
    "page_identity (ScriptRunContext.page_script_hash), "
    f"{SERVER_MODULE}._bind_socket, streamlit.web.cli.main, the data-testid values in "
    "xkld_geo/ui/compat.py STREAMLIT_TESTIDS; run tests/test_compat.py, tests/test_listener.py, "
    "tests/test_app.py and the browser tests")


@dataclass(frozen=True)
class Mismatch:
    """A library whose installed version is not the one :data:`WRITTEN_FOR` names."""

    name: str
    expected: str
    found: str | None   # None: not installed


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def mismatches() -> list[Mismatch]:
    """The libraries whose installed version (:func:`installed`) differs from :data:`WRITTEN_FOR`."""
    return [Mismatch(name, want, got) for name, want in WRITTEN_FOR.items() if (got := installed(name)) != want]


def describe(found: Sequence[Mismatch], vietnamese: bool = False) -> str:
    """``found`` as 'streamlit 1.68.0 (written for 1.67.0)' (or its Vietnamese), comma-separated."""
    missing, tested = ("chưa cài", "đã kiểm tra với") if vietnamese else ("missing", "written for")
    return ", ".join(f"{m.name} {m.found or missing} ({tested} {m.expected})" for m in found)


@functools.cache
def check_versions() -> tuple[Mismatch, ...]:
    """Compare the installed versions with :data:`WRITTEN_FOR`, once per process; a difference is
    logged as a warning in English and Vietnamese, naming what to check."""
    found = tuple(mismatches())
    if found:
        log.warning("library versions differ from those xkld_geo/ui/compat.py was written for: %s. "
                    "Check: %s.", describe(found), CHECKS)
        log.warning("Phiên bản thư viện khác với phiên bản mà xkld_geo/ui/compat.py được viết cho: %s. "
                    "Cần kiểm tra các phần dùng nội bộ của thư viện (xem docs/architecture.md, mục "
                    "'Mô-đun tương thích') và chạy lại các kiểm thử nêu trên.", describe(found, vietnamese=True))
    return found


def admin_notice() -> str | None:
    """What an administrator is told (in Vietnamese) when :func:`check_versions` found a difference."""
    found = check_versions()
    if not found:
        return None
    return ("Phiên bản thư viện đang cài khác với phiên bản ứng dụng đã được kiểm tra: "
            + describe(found, vietnamese=True)
            + ". Cần kiểm tra: ô số liệu đầu trang, ô chọn tệp, thực đơn, bản đồ và chế độ trình chiếu; "
            "chạy lại kiểm thử tests/test_compat.py và các kiểm thử trình duyệt (xem docs/architecture.md, "
            "mục \"Mô-đun tương thích\").")


# --- Streamlit's script run ------------------------------------------------------------------

def _context() -> object | None:
    """Streamlit's context of the running script, or None outside one (tests, bare mode, threads)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True)


def run_marker() -> object | None:
    """An object that is the same (``is``) during one script run of this session and new on the
    next, or None outside a script run: Streamlit's cursors of the run, which it makes anew for
    every run (fragment reruns included). No public API says which run this is."""
    ctx = _context()
    return None if ctx is None else ctx.cursors  # type: ignore[attr-defined]


def page_identity() -> str | None:
    """The page this script run is for (Streamlit's page script hash), or None outside a run."""
    ctx = _context()
    return None if ctx is None else ctx.page_script_hash  # type: ignore[attr-defined]


def fragment_rerun() -> bool:
    """Whether this run is a fragment's own rerun, not a run of the whole page (Streamlit names
    the fragments a run is for; ``st.fragment`` has no public way to ask)."""
    ctx = _context()
    return bool(ctx is not None and ctx.fragment_ids_this_run)  # type: ignore[attr-defined]


# --- Streamlit's server ----------------------------------------------------------------------

BindSocket = Callable[[str, int, int], socket.socket]


def _server() -> object:
    return importlib.import_module(SERVER_MODULE)


def install_socket_wrapper(wrap: Callable[[BindSocket], BindSocket]) -> None:
    """Make Streamlit's server bind its listening socket through ``wrap(bind)``; once per process
    (a second call changes nothing). Must run before the server starts (serve.py's launcher)."""
    server = _server()
    if not socket_wrapper_installed():
        setattr(server, "_bind_socket", wrap(server._bind_socket))  # type: ignore[attr-defined]
        server._bind_socket.xkld_wrapped = True  # type: ignore[attr-defined]


def socket_wrapper_installed() -> bool:
    """Whether :func:`install_socket_wrapper` ran in this process."""
    return bool(getattr(_server()._bind_socket, "xkld_wrapped", False))  # type: ignore[attr-defined]


def run_server(script: str, argv: Sequence[str]) -> None:
    """``streamlit run script *argv`` in this process (Streamlit's command line, called from Python)."""
    from streamlit.web import cli

    cli.main(["run", script, *argv], prog_name="streamlit")


def menu_of_files_off() -> None:
    """Tell Streamlit, at the server's start, that this app's menu is app.py's ``st.navigation``,
    never the folder ``pages/``.

    Streamlit decides once per process whether an app "uses the pages directory" (a folder named
    ``pages`` beside the main script) and, until the first ``st.navigation`` call of the process
    says otherwise, runs a requested file under ``pages/`` *by itself*, without app.py, titled and
    listed by its file name ("Quan tri"): so the first visitor of a freshly started server who opens
    ``/Quan_tri`` saw the names of the internal pages (menu, tab title). ``st.navigation`` sets the
    same flag to False on its first call; this sets it before any session runs. A Streamlit internal
    (``PagesManager.uses_pages_directory``): a Streamlit that no longer
    has it needs nothing here. Called by serve.py's start-up (its lifespan); ``client.showSidebarNavigation = false`` in
    ``.streamlit/config.toml`` hides that menu under a bare ``streamlit run app.py`` too."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:   # a Streamlit without it
        return
    if hasattr(PagesManager, "uses_pages_directory"):
        PagesManager.uses_pages_directory = False
