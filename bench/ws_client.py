"""A protocol-level Streamlit client for the benches: the app served on loopback, and sessions that
talk to it over ``/_stcore/stream`` with Streamlit's own protobufs (``BackMsg``/``ForwardMsg``).

No browser is re-implemented: a :class:`Session` does what the Streamlit frontend does on the wire
and nothing more. It sends ``rerun_script`` with the page, the URL query string the server last
set, the widget states it changes (by the widget ids read from the deltas) and the hashes of the
cacheable messages it holds, so the server answers those with a ``ref_hash`` as it does to a
browser; then it counts every frame until ``script_finished``. A logged-in session carries the
``xkld_session`` cookie in the handshake, as a browser does after the login (``xkld_geo.server.gateway``).
Geometry files named in a page (``/xkld/geo/<hash>``) are fetched once per session, gzipped, and
their bytes counted, as a browser with its HTTP cache would.

Used by ``bench/load_bench.py``, ``bench/public_bench.py`` (its helpers) and
``bench/year_switch_bench.py`` (its served copy and free port).
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GEOMETRY_URL = re.compile(rb"/xkld/geo/[0-9a-f]{20}\.topo\.json")
WIDGET_KINDS = ("selectbox", "radio", "checkbox", "multiselect", "number_input", "button")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float, proc: subprocess.Popen) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}) for {url}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server this script started (its own process group, by id)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


BENCH_USER, BENCH_PASSWORD = "bench_load", "mat-khau-bench-2026"
"""The account :func:`served_copy` opens (a browser bench logs in with it through the form)."""


def served_copy(source: Path, folder: Path, sessions: int, role: str = "viewer") -> tuple[Path, list[str]]:
    """A copy of ``source`` for the app to own, upgraded, with one bench user and ``sessions``
    logged-in session tokens (each as a login through the form would make)."""
    sys.path.insert(0, str(ROOT))
    from xkld_geo.access import auth
    from xkld_geo.database import db

    copy = folder / "served.duckdb"
    shutil.copyfile(source, copy)
    if source.with_suffix(".geometry").is_dir():   # the build's geometry files, as a served app has them
        shutil.copytree(source.with_suffix(".geometry"), copy.with_suffix(".geometry"))
    con = db.open_connection(copy)
    try:
        db.upgrade(con)
        auth.create_user(con, BENCH_USER, BENCH_PASSWORD, role)
        tokens = [auth.login(con, BENCH_USER, BENCH_PASSWORD)[0] for _ in range(sessions)]
    finally:
        con.close()
    return copy, tokens


@dataclass
class Server:
    """``python serve.py`` on a free loopback port, over its own database file."""

    db_path: Path
    env: dict[str, str]
    log_path: Path
    options: tuple[str, ...] = ()     # more Streamlit options (e.g. the baseline's)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--logger.level", "warning", *self.options],
            cwd=ROOT, stdout=self._log, stderr=self._log, start_new_session=True,
            env=os.environ | self.env | {"XKLD_DB": str(self.db_path)})
        wait_http(f"http://127.0.0.1:{self.port}/_stcore/health", 120, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop(self.proc)
        self._log.close()

    def rss_mb(self) -> float:
        assert self.proc is not None
        return rss_mb(self.proc.pid)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server has used so far (Linux /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One page run as the client felt it."""

    seconds: float
    bytes: int
    ok: bool
    error: str = ""


@dataclass
class Widget:
    """A widget of the last page run: its id, kind and options (as the frontend shows them)."""

    id: str
    kind: str
    options: list[str]
    fragment: str = ""   # the st.fragment it belongs to ('' = the page): a change reruns that part alone


class Session:
    """One browser tab, at the protocol level (see the module docstring)."""

    def __init__(self, port: int, cookie: str | None = None, timeout: float = 120.0, sticky: bool = False) -> None:
        self.port, self.cookie, self.timeout = port, cookie, timeout
        self.sticky = sticky                      # behind nginx: keep the replica its first answer named
        self.replica = ""                         # that replica (the ``xkld_replica`` cookie), when sticky
        self.ws: Any = None
        self.deflate = False
        self._zip: Any = None
        self.query_string = ""
        self.page_script_hash = ""
        self.widgets: dict[str, Widget] = {}
        self.cached: dict[str, Any] = {}         # hash -> ForwardMsg (cacheable messages received)
        self.geometry: set[bytes] = set()         # geometry URLs this tab has fetched (its HTTP cache)
        self._urls: list[bytes] = []               # geometry URLs named during the current run

    async def __aenter__(self) -> "Session":
        import websockets

        if self.sticky:   # as a browser does: the page first (nginx names the replica), then the socket
            self.replica = await asyncio.to_thread(_replica_cookie, f"http://127.0.0.1:{self.port}/_stcore/health")
        cookies = self.cookies()
        headers = {"Cookie": cookies} if cookies else {}
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                           additional_headers=headers)
        self.deflate = "permessage-deflate" in (self.ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        self._zip = zlib.compressobj(6, zlib.DEFLATED, -12) if self.deflate else None
        return self

    def cookies(self) -> str:
        """The Cookie header this tab sends: its login session and, behind nginx, its replica."""
        parts = ([f"xkld_session={self.cookie}"] if self.cookie else []) + (
            [f"xkld_replica={self.replica}"] if self.replica else [])
        return "; ".join(parts)

    def _wire(self, frame: bytes | str) -> int:
        """Bytes of ``frame`` on the wire: as compressed by permessage-deflate with context
        takeover when negotiated (estimated with zlib, 4 KB window as negotiated), else as is."""
        data = frame.encode() if isinstance(frame, str) else frame
        if self._zip is None:
            return len(data)
        return len(self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH))

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def rerun(self, page_name: str | None = None, widgets: dict[str, Any] | None = None) -> Run:
        """Run the page (``page_name`` switches to another page) with ``widgets`` (label → value as
        the frontend sends it: the option's text, a bool) changed; waits for ``script_finished``."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        if page_name is not None:
            state.page_name = page_name
            self.page_script_hash = ""
            self.widgets = {}
        else:
            state.page_script_hash = self.page_script_hash
        state.cached_message_hashes.extend(self.cached)
        # as the frontend does: a change to widgets of one fragment asks for that fragment's run
        parts = {self.widgets[label].fragment for label in widgets or {}}
        fragment = parts.pop() if len(parts) == 1 and page_name is None else ""
        state.fragment_id = fragment
        for label, value in (widgets or {}).items():
            widget = self.widgets[label]
            ws = state.widget_states.widgets.add()
            ws.id = widget.id
            if isinstance(value, bool):
                ws.bool_value = value
            elif widget.kind == "button":
                ws.trigger_value = True
            else:
                ws.string_value = str(value)
        started = time.monotonic()
        await self.ws.send(msg.SerializeToString())
        received, error = 0, ""
        new_widgets: dict[str, Widget] = {}
        try:
            while True:
                frame = await asyncio.wait_for(self.ws.recv(), self.timeout)
                received += self._wire(frame)
                done, problem = self._handle(frame, new_widgets, fragment)
                error = error or problem
                if done is not None:
                    ok = done and not error
                    break
        except (asyncio.TimeoutError, OSError) as exc:
            return Run(time.monotonic() - started, received, False, f"{type(exc).__name__}: {exc}")
        received += await self._fetch_geometry(frame_bytes=b"".join(self._urls))
        self._urls = []
        if fragment:   # the part's widgets are new, the rest of the page's stay
            new_widgets = {k: w for k, w in self.widgets.items() if w.fragment != fragment} | new_widgets
        self.widgets = new_widgets or self.widgets
        return Run(time.monotonic() - started, received, ok, error)

    def _handle(self, frame: bytes, widgets: dict[str, Widget], fragment: str = "") -> tuple[bool | None, str]:
        """Read one ForwardMsg: widgets, geometry URLs, errors; (finished ok?, error) when the run
        ends (the page's run, or the run of ``fragment`` when one was asked for)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        fwd = ForwardMsg()
        fwd.ParseFromString(frame)
        kind = fwd.WhichOneof("type")
        if kind == "ref_hash":
            fwd = self.cached.get(fwd.ref_hash, fwd)
            kind = fwd.WhichOneof("type")
        elif fwd.metadata.cacheable and fwd.hash:
            self.cached[fwd.hash] = fwd
        if kind == "new_session":
            self.page_script_hash = fwd.new_session.page_script_hash
        elif kind == "navigation":   # st.navigation names the page it ran (a rerun must ask for it)
            self.page_script_hash = fwd.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = fwd.page_info_changed.query_string
        elif kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus
            if fwd.script_finished == status.FINISHED_SUCCESSFULLY or (
                    fragment and fwd.script_finished == status.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                return True, ""
            if fwd.script_finished in (status.FINISHED_EARLY_FOR_RERUN, status.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                return None, ""   # st.rerun() (a map click, a breadcrumb): the next run follows
            return False, f"script finished with status {fwd.script_finished}"
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            el = fwd.delta.new_element
            what = el.WhichOneof("type")
            if what == "exception":
                return None, f"exception: {el.exception.message[:200]}"
            if what == "alert" and el.alert.format == el.alert.ERROR:
                return None, f"st.error: {el.alert.body[:200]}"
            if what in WIDGET_KINDS:
                w = getattr(el, what)
                widgets[w.label] = Widget(w.id, what, list(getattr(w, "options", [])), fwd.delta.fragment_id)
            if what == "component_instance":
                self._urls.extend(GEOMETRY_URL.findall(frame))
        return None, ""

    async def _fetch_geometry(self, frame_bytes: bytes) -> int:
        """Fetch, gzipped, every geometry file named this run that this tab has not fetched before;
        returns the bytes on the wire."""
        total = 0
        for url in set(GEOMETRY_URL.findall(frame_bytes)) - self.geometry:
            self.geometry.add(url)
            total += await asyncio.to_thread(_get_gzip, f"http://127.0.0.1:{self.port}{url.decode()}", self.cookies())
        return total


def _replica_cookie(url: str) -> str:
    """The replica nginx's sticky cookie (``xkld_replica``) names in its answer to ``url`` ('' if none)."""
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "xkld_replica":
                return rest.split(";", 1)[0].strip()
    return ""


def _get_gzip(url: str, cookies: str = "") -> int:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} | ({"Cookie": cookies} if cookies else {}))
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())
