"""The served app's connections send without Nagle's delay (xkld_geo/server/listener.py)."""
from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import socket
from typing import Any

import pytest

from xkld_geo.server import listener


def _accepted_nodelay(server_socket: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted on ``server_socket`` by asyncio, as uvicorn accepts
    (``loop.create_server(sock=...)``)."""
    async def go() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=server_socket)
        client = socket.create_connection(server_socket.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            client.close()
            server.close()
    # in a thread of its own: after the browser tests, Playwright's loop runs in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=30)


def _listening(family: int = socket.AF_INET) -> socket.socket:
    """A listening socket made as Streamlit 1.67 makes its own: ``socket.socket(family)``."""
    sock = socket.socket(family=family)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def test_a_socket_made_as_streamlit_makes_it_keeps_nagle() -> None:
    """Why the wrapping exists: asyncio leaves Nagle on when the socket's protocol is 0."""
    assert _accepted_nodelay(_listening()) == 0


def test_the_tcp_socket_is_the_same_listener_and_its_connections_send_at_once() -> None:
    original = _listening()
    address, fd = original.getsockname(), original.fileno()
    sock = listener.tcp(original)
    assert sock.proto == socket.IPPROTO_TCP and sock.fileno() == fd and sock.getsockname() == address
    assert _accepted_nodelay(sock) == 1


def test_other_sockets_are_left_as_they_are() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        assert listener.tcp(udp) is udp and listener.tcp(tcp) is tcp
    finally:
        udp.close()
        tcp.close()


def test_install_wraps_streamlits_bind_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pinned to streamlit 1.67.0: the function Streamlit's server binds with is wrapped (once, by
    the compatibility module), and the server's connections then get TCP_NODELAY."""
    from xkld_geo.ui import compat

    server = importlib.import_module(compat.SERVER_MODULE)
    monkeypatch.setattr(server, "_bind_socket", server._bind_socket)
    assert not compat.socket_wrapper_installed()
    compat.install_socket_wrapper(listener.wrapped)
    compat.install_socket_wrapper(listener.wrapped)
    assert compat.socket_wrapper_installed()
    bind = server._bind_socket
    closure: tuple[Any, ...] = bind.__closure__ or ()
    assert not getattr(closure[0].cell_contents, "xkld_tcp", False)   # wrapped once, not twice
    assert _accepted_nodelay(bind("127.0.0.1", 0, 8)) == 1


def test_serve_py_starts_streamlit_through_the_listener() -> None:
    """``python serve.py`` is what scripts/run.sh, the cluster, the benches and the browser tests run."""
    from xkld_geo.settings import PROJECT_ROOT

    source = (PROJECT_ROOT / "serve.py").read_text(encoding="utf-8")
    assert "compat.install_socket_wrapper(listener.wrapped)" in source
    assert "listener.check(compat.socket_wrapper_installed())" in source
    for script in ("scripts/run.sh", "scripts/cluster.sh"):
        text = (PROJECT_ROOT / script).read_text(encoding="utf-8")
        assert "serve.py" in text and "streamlit\" run" not in text and "streamlit run serve.py" not in text
