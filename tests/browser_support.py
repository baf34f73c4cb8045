"""Browser-test support: the app served locally, Chromium via Playwright, map helpers.

Fixtures are registered in ``tests/conftest.py``; test modules import the helpers from here.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlparse

import pytest

from xkld_geo.settings import PROJECT_ROOT, Settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
T = TypeVar("T")


def _found(value: object) -> bool:
    return value is not None and value is not False and value != [] and value != {}


def wait_for(probe: Callable[[], T], what: str, timeout: float = 45, every: float = 0.2) -> T:
    """Call ``probe`` until it returns something (not None, False or empty) and return that.

    A probe may fail while Streamlit rerenders (a frame detaches); its error is kept, and a timeout
    fails with ``what``, the last value and the last error, so a broken page is not reported as a
    mere wait.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_error: BaseException | None = None
    while True:
        try:
            value = probe()
            if _found(value):
                return value
            last_value = value
        except Exception as exc:  # noqa: BLE001 - kept and reported on timeout
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; "
                                 f"last value {last_value!r}; last error {last_error!r}")
        time.sleep(every)


def in_frames(page: Any, script: str, arg: Any = None) -> list[tuple[Any, Any]]:
    """``(frame, result)`` of ``script`` in every frame of ``page`` that could run it.

    Frames come and go while Streamlit rerenders; one that detaches is left out, and if no frame
    could run the script the last error is raised (for :func:`wait_for` to report).
    """
    results: list[tuple[Any, Any]] = []
    error: BaseException | None = None
    for frame in page.frames:
        try:
            results.append((frame, frame.evaluate(script, arg)))
        except Exception as exc:  # noqa: BLE001 - a detached frame
            error = exc
    if not results and error is not None:
        raise error
    return results


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for candidate in (os.environ.get("XKLD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    message = "Chromium not found (run scripts/ensure_browser.sh or set XKLD_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served on a free local port against the real warehouse."""
    folder = tmp_path_factory.mktemp("server")
    served = folder / "served.duckdb"  # the app takes the writer's lock: give it its own copy
    shutil.copyfile(real_settings.db_path, served)
    _add_users(served)
    yield from serve(served, real_settings, folder)


def serve(served: Path, real_settings: Settings, folder: Path) -> Iterator[str]:
    """Serve ``served`` (a database file of its own) with ``python serve.py`` on a free port;
    yields the base URL and stops the server afterwards."""
    port = _free_port()
    env = os.environ | {"XKLD_DB": str(served), "XKLD_TODAY": real_settings.today.isoformat()}
    log = folder / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"the app did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh page that records every request leaving localhost; a screenshot is kept."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.external = []
    pg.responses = []

    def on_request(request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            pg.external.append(request.url)
    pg.on("request", on_request)
    pg.on("response", lambda r: pg.responses.append((r.url, r.status)))
    yield pg
    pg.screenshot(path=str(tmp_path / "page.png"))
    context.close()


PASSWORD = "mat-khau-trinh-duyet"
ROLES = ("viewer", "planner", "clerk", "admin")
ADMIN_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
"""The second factor of ``b_admin`` (administrators must have one): its codes are typed at login."""


def _add_users(path: Path) -> None:
    """One user per role (``b_viewer``, ``b_planner``, ...) in the served copy of the database."""
    from xkld_geo.access import auth
    from xkld_geo.database import db

    con = db.open_connection(path)
    try:
        db.upgrade(con)                 # a warehouse built by older code gets today's tables first
        for role in ROLES:
            auth.create_user(con, f"b_{role}", PASSWORD, role)
        con.execute("INSERT INTO second_factors VALUES ('b_admin', $s, now(), now(), NULL)", {"s": ADMIN_SECRET})
    finally:
        con.close()


def login(page: Any, url: str, role: str = "viewer") -> None:
    """Open ``url`` and log in through the sidebar form as the test user of ``role``."""
    page.goto(url)
    page.get_by_label("Tên đăng nhập").fill(f"b_{role}")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    if role == "admin":
        import pyotp

        page.get_by_role("textbox", name="Mã xác thực (nếu đã bật xác thực hai bước)").fill(pyotp.TOTP(ADMIN_SECRET).now())
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Đăng nhập:").first.wait_for(state="attached", timeout=30_000)


def map_frame(page: Any, shapes: int | None = None, timeout: float = 45) -> Any:
    """The iframe whose Leaflet map has drawn its layers (with ``shapes`` shapes, when given)."""
    script = "() => window.xkldFeatureCount ? window.xkldFeatureCount.choropleth : null"

    def probe() -> Any:
        return next((f for f, got in in_frames(page, script) if got is not None and (shapes is None or got == shapes)),
                    None)
    return wait_for(probe, f"a map with {shapes if shapes is not None else 'any number of'} shapes", timeout, 0.1)


def counts(page: Any, layer: str, expected: int, timeout: float = 45) -> dict[str, int]:
    """Wait until the map's ``layer`` has ``expected`` shapes; return every layer's count."""
    seen: list[dict[str, int]] = []

    def probe() -> dict[str, int] | None:
        seen[:] = [got for _, got in in_frames(page, "() => window.xkldFeatureCount || {}")]
        return next((got for got in seen if got.get(layer) == expected), None)
    try:
        return wait_for(probe, f"{expected} shapes in {layer}", timeout, 0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; layers seen {seen}") from None


def click_unit(page: Any, real_con, code: str, shapes: int) -> None:
    """Click unit ``code`` on the map showing ``shapes`` shapes, at its stored point on surface.

    Streamlit may swap the map's iframe while it settles; a detached frame is looked up again.
    """
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            _click_once(page, real_con, code, shapes)
            return
        except PlaywrightError:
            if attempt == 2:
                raise
            time.sleep(0.5)


def _click_once(page: Any, real_con, code: str, shapes: int) -> None:
    lon, lat = real_con.execute("SELECT center_lon, center_lat FROM admin_units WHERE era = '2025' "
                                "AND code = $c", {"c": code}).fetchone()
    frame = map_frame(page, shapes)
    frame.frame_element().scroll_into_view_if_needed()
    locate = """([lat, lon]) => {
        const p = window.map.latLngToContainerPoint(L.latLng(lat, lon));
        const r = window.map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top];
    }"""
    previous: list[Any] = [None]

    def settled() -> Any:  # the component resizes its frame after drawing: wait until it settles
        state = (frame.evaluate(locate, [lat, lon]), frame.frame_element().bounding_box())
        same, previous[0] = state == previous[0], state
        return state if same else None
    point, box = wait_for(settled, f"the map frame to settle before clicking {code}", 10)
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


