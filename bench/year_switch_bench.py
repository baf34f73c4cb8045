"""Benchmark: how long the running app takes to redraw the map after the year is switched.

Starts ``python serve.py`` (the app with its geometry and session routes) on a free local port against a copy of the configured database (the
app holds DuckDB's writer lock, and the copy gets a throwaway viewer account so the bench can log
in), opens it in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; nothing is
downloaded), logs in, and switches the year back and forth, timing from the choice in the sidebar until the map shows the new
year's legend with all its shapes. Target (issue 3): ≤ 1 s; issue 15: median ≤ 200 ms. Runs twice,
with ``XKLD_CACHE=off`` (before issue 15: geometry inline, no shared cache) and with today's code,
and prints both with their ratio, plus the bytes of the first load and of the switches as Chromium
received them (geometry files counted by their gzipped size). Prints figures, asserts nothing.

Run: ``.venv/bin/python bench/year_switch_bench.py [--unit 40] [--rounds 4] [--only on|off]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]


sys.path.insert(0, str(Path(__file__).resolve().parent))
from ws_client import BENCH_PASSWORD, BENCH_USER, free_port, served_copy  # noqa: E402


def login(page) -> None:
    """Fill the sidebar login form with the bench account."""
    page.get_by_label("Tên đăng nhập").fill(BENCH_USER)
    page.get_by_label("Mật khẩu").fill(BENCH_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def start_server(port: int, db_path: Path, cache: str = "on") -> subprocess.Popen:
    cmd = [sys.executable, "serve.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ | {"XKLD_DB": str(db_path), "XKLD_CACHE": cache},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not start within 60 s")


SHOWS = ("(t) => !!window.xkldFeatureCount && "
         "[...document.querySelectorAll('.xkld-legend')].some(e => e.innerText.includes(t))")
"""Whether a frame's map is drawn and its legend shows the text ``t``."""


def legend_has(page, text: str) -> bool:
    for frame in page.frames:
        try:
            if frame.evaluate(SHOWS, text):
                return True
        except Exception:  # frames come and go while Streamlit rerenders
            continue
    return False


def wait_legend(page, text: str, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if legend_has(page, text):
            return time.perf_counter() - start
        time.sleep(0.02)
    raise SystemExit(f"the map never showed '{text}'")


def map_frame(page):
    """The frame of the drawn map (the component's iframe, kept across reruns)."""
    for frame in page.frames:
        try:
            if frame.evaluate("() => !!window.xkldFeatureCount"):
                return frame
        except Exception:  # frames come and go while Streamlit rerenders
            continue
    raise SystemExit("no map frame")


def redrawn(frame, text: str, timeout: float = 30.0) -> float:
    """Seconds until the map in ``frame`` shows ``text`` in its legend, checked by the page itself
    on every animation frame (no polling from here, whose own round trips would add to the figure)."""
    from playwright.sync_api import Error

    start = time.perf_counter()
    try:
        frame.wait_for_function(SHOWS, arg=text, polling="raf", timeout=timeout * 1000)
    except Error:   # the component's iframe was replaced (a new map): look for it in every frame
        return time.perf_counter() - start + wait_legend(frame.page, text, timeout)
    return time.perf_counter() - start


def redraw_times(page, years: list[str], rounds: int) -> list[float]:
    """Switch the year ``rounds`` times, timing each until the map is redrawn."""
    times = []
    for i in range(rounds):
        frame = map_frame(page)   # the same frame while the map stays; found again if it was replaced
        year = years[i % 2]
        choose(page, "Năm", year)
        times.append(redrawn(frame, f"T10/{year}"))
    return times


def choose(page, label: str, option: str) -> None:
    box = page.locator("[data-testid=stSelectbox]").filter(has_text=label).first
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def measure(unit: str, rounds: int, cache: str, chromium: str) -> tuple[float, list[float], int, int]:
    """(first draw, year-switch times, KB of the first load, KB per switch) with ``XKLD_CACHE=cache``."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    scratch = tempfile.TemporaryDirectory(prefix="xkld-bench-")
    sys.path.insert(0, str(ROOT))
    from xkld_geo.settings import load_settings

    source = Path(load_settings(secrets={}).db_path)   # the configured database, copied with its geometry
    proc = start_server(port, served_copy(source, Path(scratch.name), 0)[0], cache)
    received = [0]

    def count(response) -> None:  # bytes on the wire: the body as sent (gzip) or the websocket frames
        try:
            received[0] += int(response.headers.get("content-length") or 0)
        except ValueError:
            pass

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.on("response", count)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.__setitem__(
                0, received[0] + len(f if isinstance(f, (bytes, str)) else b""))))
            page.goto(f"http://127.0.0.1:{port}/?month=10&unit={unit}")
            login(page)
            first = wait_legend(page, "T10/", timeout=90)
            first_kb = received[0] // 1024
            years = ["2025", "2026"]
            received[0] = 0
            times = redraw_times(page, years, rounds)
            switch_kb = received[0] // 1024 // max(1, rounds)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        scratch.cleanup()
    return first, times, first_kb, switch_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unit", default="", help="province or commune code ('' = national)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", choices=("on", "off"), help="measure one mode only")
    args = parser.parse_args()
    chromium = os.environ.get("XKLD_CHROMIUM", "/usr/bin/chromium")
    print(f"view: {'national' if not args.unit else 'unit ' + args.unit}")
    results = {}
    for cache in ([args.only] if args.only else ["off", "on"]):
        first, times, first_kb, switch_kb = measure(args.unit, args.rounds, cache, chromium)
        results[cache] = statistics.median(times)
        label = "baseline (XKLD_CACHE=off)" if cache == "off" else "new (XKLD_CACHE=on)"
        print(f"{label}: first draw {first:.2f} s, {first_kb} KB; year switch → map redrawn: "
              + ", ".join(f"{t:.2f}" for t in times) + f" s, {switch_kb} KB per switch")
        print(f"    median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"(target ≤ 0.2 s: {'met' if statistics.median(times) <= 0.2 else 'NOT met'})")
    if len(results) == 2:
        print(f"ratio new/baseline (median): {results['on'] / results['off']:.2f}")


if __name__ == "__main__":
    main()
