"""The served app's listening socket, made so that every connection sends at once (no Nagle).

Streamlit 1.67 binds its listening socket itself with ``socket.socket(family)``, whose protocol
number is 0. asyncio turns Nagle's algorithm off only for sockets whose protocol is
``IPPROTO_TCP`` (``asyncio.base_events._set_nodelay``), so every connection of the served app kept
it on. A page run is 30–40 small websocket messages: after the first, the rest waited for the
browser's delayed acknowledgement (about 40 ms on Linux) before they left. Over the protocol, a
warm year switch on the overview went from about 50 ms to 25 ms.

:func:`wrapped` wraps a bind function so that the socket it returns says ``IPPROTO_TCP``: asyncio
then sets ``TCP_NODELAY`` on each connection it accepts, as it does for the servers it binds
itself. No socket option of our own, the same file descriptor. Streamlit binds before it imports
the app's script, so ``python serve.py`` installs the wrapper (through
:func:`xkld_geo.ui.compat.install_socket_wrapper`, the one place that touches Streamlit's server
internals) and then runs Streamlit's command line. No Streamlit import here.
"""
from __future__ import annotations

import logging
import socket
from typing import Callable

BindSocket = Callable[[str, int, int], socket.socket]
log = logging.getLogger(__name__)


def check(installed: bool) -> None:
    """Log a warning when the app is served without the wrapper (``installed`` False: a bare
    ``streamlit run serve.py``)."""
    if not installed:
        log.warning("served without 'python serve.py': each connection keeps Nagle's algorithm, and a "
                    "page run's messages may wait about 40 ms for the browser's acknowledgement")


def wrapped(bind: BindSocket) -> BindSocket:
    """``bind`` whose socket is given back as :func:`tcp` of it."""
    def bind_tcp(address: str, port: int, backlog: int) -> socket.socket:
        return tcp(bind(address, port, backlog))
    bind_tcp.xkld_tcp = True  # type: ignore[attr-defined]
    return bind_tcp


def tcp(sock: socket.socket) -> socket.socket:
    """``sock`` (an IPv4 or IPv6 stream socket) as a socket object whose protocol is
    ``IPPROTO_TCP``: the same file descriptor, bound and listening as it was."""
    if sock.proto == socket.IPPROTO_TCP or sock.family not in (socket.AF_INET, socket.AF_INET6) \
            or sock.type != socket.SOCK_STREAM:
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
