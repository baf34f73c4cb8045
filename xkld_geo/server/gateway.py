"""The HTTP routes served beside the Streamlit app: the session cookie, and internal routes hidden.

Streamlit scripts cannot set cookies, and a cookie written by a page script is readable by every
script on the page (an injected one included). So the login (in ``ui.access``) hands the browser a
one-time *code*, valid for :data:`CODE_SECONDS`, and a tiny same-origin request exchanges it here
for the session cookie, set ``HttpOnly`` and ``SameSite=Strict`` (and ``Secure`` over HTTPS): the
token itself never reaches the page, ``document.cookie`` never holds it, and the code is worthless
to anyone else (exchanging it only sets a cookie in the browser that asks). On a reload the
browser sends the cookie with Streamlit's WebSocket handshake and ``st.context.cookies`` reads it.

:data:`HIDDEN_PATHS` (Streamlit's ``/_stcore/metrics``, which has no setting to turn it off and
would tell anyone how many sessions are open) answer 404 to everybody.

``serve.py`` mounts :func:`routes` and :class:`HideInternalRoutes` with ``st.App``; run the app
with ``python serve.py``. Under ``streamlit run app.py`` (or AppTest) these routes do not
exist, the exchange fails quietly and the session lives only as long as the browser tab's
connection. No Streamlit import here.
"""
from __future__ import annotations

import gzip
import posixpath
import secrets
import threading
import time
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from xkld_geo import settings
from xkld_geo.maps import geometry

COOKIE = "xkld_session"
SESSION_PATH = "/xkld/session"
LOGOUT_PATH = "/xkld/logout"
CODE_SECONDS = 60.0
HIDDEN_PATHS = frozenset({"/_stcore/metrics"})

_codes: dict[str, tuple[str, float, float]] = {}   # code -> (token, expires at, cookie max-age)
_lock = threading.Lock()


def issue(token: str, max_age_s: float) -> str:
    """A one-time code the browser exchanges for an HttpOnly cookie holding ``token``."""
    code = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        for old in [c for c, (_, exp, _) in _codes.items() if exp < now]:
            del _codes[old]
        _codes[code] = (token, now + CODE_SECONDS, max_age_s)
    return code


def redeem(code: str) -> tuple[str, float] | None:
    """(token, cookie max-age) of a live code, which is used up; None for unknown or expired."""
    with _lock:
        found = _codes.pop(code, None)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0], found[2]


def _trusted_proxy(request: Request) -> bool:
    """Whether the connection comes from one of the configured ``trusted_proxies`` (whose forwarded
    headers are believed; anyone else's are ignored, because anyone can send them)."""
    trusted = {a.strip() for a in settings.current().trusted_proxies.split(",") if a.strip()}
    return request.client is not None and request.client.host in trusted


def _first(value: str | None) -> str:
    """The first entry of a forwarded header (a chain of proxies lists one per hop)."""
    return (value or "").split(",", 1)[0].strip()


def _site(request: Request) -> tuple[str, str]:
    """(scheme, host[:port]) of the site the browser sees: the request's own, or, behind a trusted
    proxy, what it forwards (``X-Forwarded-Host`` / ``X-Forwarded-Proto``), so an nginx on any port
    (``Host $host`` drops it) still lets the session through."""
    host = request.headers.get("host", "")
    scheme = request.url.scheme
    if _trusted_proxy(request):
        host = _first(request.headers.get("x-forwarded-host")) or host
        scheme = _first(request.headers.get("x-forwarded-proto")) or scheme
    return scheme, host


def _same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this site (browsers send ``Origin`` on POST): its
    host and port equal the site's, and so does its scheme when a trusted proxy forwards one."""
    origin = str(request.headers.get("origin") or "")
    scheme, host = _site(request)
    if "://" not in origin or not host:
        return False
    origin_scheme, origin_host = origin.split("://", 1)
    if origin_host != host:
        return False
    return not _trusted_proxy(request) or not request.headers.get("x-forwarded-proto") or origin_scheme == scheme


def _secure(request: Request) -> bool:
    """Whether the cookie is marked ``Secure``: over HTTPS, or when any proxy says the browser used it
    (believing an untrusted claim here only restricts the cookie further)."""
    return request.url.scheme == "https" or _first(request.headers.get("x-forwarded-proto")) == "https"


async def _session(request: Request) -> Response:
    if not _same_origin(request):
        return PlainTextResponse("forbidden", status_code=403)
    code = (await request.body())[:200].decode("ascii", errors="replace").strip()
    found = redeem(code)
    if found is None:
        return PlainTextResponse("unknown or expired code", status_code=400)
    token, max_age = found
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, token, max_age=int(max_age), path="/", httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


async def _logout(request: Request) -> Response:
    if not _same_origin(request):
        return PlainTextResponse("forbidden", status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


GEOMETRY_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding",
                    "X-Content-Type-Options": "nosniff"}


async def _geometry(request: Request) -> Response:
    """A map's geometry file (:mod:`xkld_geo.maps.geometry`): named by its content hash, so it never
    changes and the browser keeps it; sent gzipped as stored (unpacked for a client without gzip)."""
    packed = geometry.lookup(str(request.path_params.get("name", "")))
    if packed is None:
        return PlainTextResponse("not found", status_code=404, headers={"Cache-Control": "no-store"})
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(packed, media_type="application/json", headers=GEOMETRY_HEADERS | {"Content-Encoding": "gzip"})
    return Response(gzip.decompress(packed), media_type="application/json", headers=GEOMETRY_HEADERS)


_mounted = threading.Event()


def mounted() -> bool:
    """Whether this process serves :func:`routes` (``python serve.py``); under a bare
    ``streamlit run app.py`` or AppTest maps carry their geometry inline instead."""
    return _mounted.is_set()


def routes() -> list[Route]:
    """The routes ``serve.py`` adds to Streamlit's."""
    _mounted.set()
    return [Route(SESSION_PATH, _session, methods=["POST"]), Route(LOGOUT_PATH, _logout, methods=["POST"]),
            Route(geometry.URL_PREFIX + "/{name}", _geometry, methods=["GET"])]


def hidden(path: str) -> bool:
    """Whether ``path`` (however spelt: doubled slashes, dots, a trailing slash, a base URL path
    in front) names one of :data:`HIDDEN_PATHS`."""
    clean = posixpath.normpath("/" + path.replace("\\", "/")).lower()
    return any(clean == p or clean.endswith(p) for p in HIDDEN_PATHS)


class HideInternalRoutes:
    """ASGI middleware: :data:`HIDDEN_PATHS` answer 404 before Streamlit sees them."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and hidden(str(scope.get("path", ""))):
            await PlainTextResponse("not found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
