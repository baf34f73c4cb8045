"""Static open-data release against the Streamlit public page, in one run on loopback (issue 17).

    .venv/bin/python bench/public_bench.py --db data/xkld.duckdb [--seconds 10] [--release DIR]

1. Publishes the release from the database (read-only), unless ``--release`` names one, and
   prints the compressed size of ``index.html`` plus the national geometry (goal: ≤ 500 KB).
2. Serves it with ``scripts/serve_public.sh`` (Debian's nginx when installed, else Python's
   http.server) and counts ``index.html`` requests per second from a bounded Python client:
   worker processes, each with one keep-alive connection and ``--depth`` pipelined requests in
   flight, stopping after ``--seconds`` or ``--max-requests``. The client, not nginx, is likely the
   limit on a 2-core machine (http.server answers one request per connection and turn).
3. Starts ``streamlit run app.py`` on a copy of the database on a free loopback port and drives
   the public page (``Cong_khai``) over ``/_stcore/stream`` with Streamlit's own protobufs, as
   ``--sessions`` anonymous visitors: each sends ``rerun_script`` and waits for ``script_finished``.
4. Prints both rates and their ratio (goal: ≥ 500×).
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ws_client import free_port, stop, wait_http  # noqa: E402

from xkld_geo.database import db  # noqa: E402
from xkld_geo.release import site as release_site  # noqa: E402
from xkld_geo.settings import load_settings  # noqa: E402


def compressed_size(release: Path) -> tuple[int, int]:
    """gzip -9 bytes of index.html and of the national geometry (what a first visit downloads for the map)."""
    index = len(gzip.compress((release / "index.html").read_bytes(), 9))
    geo = len(gzip.compress((release / "geo" / "provinces.js").read_bytes(), 9))
    return index, geo


def _response(sock: socket.socket, buf: bytearray) -> tuple[bytes, bool, bytearray]:
    """Read one HTTP response (Content-Length or chunked) from ``sock``: its status, whether the
    server closes the connection after it (HTTP/1.0, as http.server), and the bytes after it."""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        buf += _recv(sock)
    head, rest = bytes(buf[:end]).lower(), buf[end + 4:]
    status = head[9:12]
    closing = head.startswith(b"http/1.0") or b"connection: close" in head
    if b"transfer-encoding: chunked" in head:
        while True:
            while (eol := rest.find(b"\r\n")) < 0:
                rest += _recv(sock)
            size = int(bytes(rest[:eol]).split(b";")[0], 16)
            while len(rest) < eol + 2 + size + 2:
                rest += _recv(sock)
            rest = rest[eol + 2 + size + 2:]
            if size == 0:
                return status, closing, rest
    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += _recv(sock)
    return status, closing, rest[length:]


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(1 << 18)
    if not data:
        raise ConnectionError("server closed the connection")
    return data


def _client(port: int, path: str, until: float, limit: int, depth: int, out: mp.Queue) -> None:
    """One keep-alive connection sending ``depth`` pipelined GETs at a time, until time or count runs out."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n".encode() * depth
    done = errors = 0
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    while done < limit and time.monotonic() < until:
        try:
            sock.sendall(request)
            for _ in range(depth):
                status, closing, buf = _response(sock, buf)
                done += status == b"200"
                errors += status != b"200"
                if closing:  # one request per connection: open the next one
                    sock.close()
                    sock, buf = socket.create_connection(("127.0.0.1", port), timeout=10), bytearray()
                    break
        except OSError:
            errors += 1
            sock.close()
            sock, buf = socket.create_connection(("127.0.0.1", port), timeout=10), bytearray()
    sock.close()
    out.put((done, errors))


def static_rate(release: Path, seconds: float, workers: int, max_requests: int,
                depth: int) -> tuple[float, str, int]:
    """Requests per second of index.html from the release's server, and which server it was."""
    port = free_port()
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve_public.sh"), str(release), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        banner = proc.stdout.readline().strip() if proc.stdout else ""
        wait_http(f"http://127.0.0.1:{port}/index.html", 20, proc)
        queue: mp.Queue = mp.Queue()
        start = time.monotonic()
        until = start + seconds
        procs = [mp.Process(target=_client, args=(port, "/index.html", until, max_requests // workers, depth, queue))
                 for _ in range(workers)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=seconds + 30) for _ in procs]
        elapsed = time.monotonic() - start
        for p in procs:
            p.join()
        done = sum(r[0] for r in results)
        errors = sum(r[1] for r in results)
        return done / elapsed, banner.split(":")[0] or "?", errors
    finally:
        stop(proc)


async def _visitor(port: int, until: float, runs: list[float], timeout: float) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=30) as ws:
        while time.monotonic() < until:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = "Cong_khai"
            started = time.monotonic()
            await ws.send(msg.SerializeToString())
            while True:
                frame = await asyncio.wait_for(ws.recv(), timeout)
                fwd = ForwardMsg()
                fwd.ParseFromString(frame)
                if fwd.WhichOneof("type") == "script_finished":
                    if fwd.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY:
                        runs.append(time.monotonic() - started)
                    break


def streamlit_rate(db_path: Path, seconds: float, sessions: int, env: dict[str, str]) -> tuple[float, int]:
    """Page runs per second of the public page for ``sessions`` concurrent anonymous visitors."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="public-bench-"))
    served = folder / "served.duckdb"          # the app takes the writer's lock: give it its own copy
    shutil.copyfile(db_path, served)
    log = open(folder / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=log, stderr=log,
                            env=os.environ | env | {"XKLD_DB": str(served)}, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", 120, proc)

        async def drive(window: float) -> list[float]:
            runs: list[float] = []
            until = time.monotonic() + window
            await asyncio.gather(*(_visitor(port, until, runs, 120) for _ in range(sessions)))
            return runs

        asyncio.run(drive(0.1))                 # warm-up: first runs fill the caches
        start = time.monotonic()
        runs = asyncio.run(drive(seconds))
        return len(runs) / (time.monotonic() - start), len(runs)
    finally:
        stop(proc)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    cfg = load_settings(secrets={})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=cfg.db_path, help="demo database (default: XKLD_DB)")
    parser.add_argument("--release", type=Path, help="an already published release folder (default: publish one)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4, help="client processes for the static server")
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--depth", type=int, default=1, help="pipelined requests per connection in flight")
    parser.add_argument("--sessions", type=int, default=5, help="concurrent Streamlit visitors")
    args = parser.parse_args()
    env = {k: str(v) for k, v in (("XKLD_TODAY", os.environ.get("XKLD_TODAY")),) if v}
    release = args.release
    if release is None:
        out = Path(tempfile.mkdtemp(prefix="public-release-"))
        out.chmod(0o755)  # nginx workers (user nobody) read it
        con = db.open_connection(args.db, read_only=True)
        started = time.monotonic()
        result = release_site.publish(con, out, cfg.effective_today, cfg.public_threshold)
        con.close()
        print(f"publish: {result.version} in {time.monotonic() - started:.1f} s")
        release = out / "latest"
    index, geo = compressed_size(release)
    print(f"index.html {index / 1024:.0f} KB + national geometry {geo / 1024:.0f} KB gzip "
          f"= {(index + geo) / 1024:.0f} KB (goal ≤ 500 KB)")
    rate, server, errors = static_rate(release, args.seconds, args.workers, args.max_requests, args.depth)
    print(f"static release ({server}): {rate:,.0f} requests/s of index.html, {errors} errors")
    runs_rate, runs = streamlit_rate(args.db, args.seconds, args.sessions, env)
    print(f"streamlit public page: {runs_rate:.2f} page runs/s ({runs} runs, {args.sessions} sessions)")
    ratio = rate / runs_rate if runs_rate else float("inf")
    print(f"ratio: {ratio:,.0f}× (goal ≥ 500×)")


if __name__ == "__main__":
    main()
