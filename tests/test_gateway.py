"""The routes beside Streamlit (xkld_geo/gateway.py): the HttpOnly session cookie from a one-time
code, cross-site posts refused, /_stcore/metrics hidden however it is spelt. Driven as ASGI
calls, without a server; the browser test checks the same through Chromium."""
from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from xkld_geo import gateway

HOST = "127.0.0.1:8501"


def _app() -> Starlette:
    async def metrics(request):  # stands in for Streamlit's own route
        return PlainTextResponse("sessions 3")

    return Starlette(routes=gateway.routes() + [Route("/_stcore/metrics", metrics)],
                     middleware=[Middleware(gateway.HideInternalRoutes)])


def _call(method: str, path: str, body: bytes = b"", origin: str | None = f"http://{HOST}") -> tuple[int, dict]:
    headers = [(b"host", HOST.encode())] + ([(b"origin", origin.encode())] if origin else [])
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "scheme": "http", "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 5000),
             "http_version": "1.1", "root_path": ""}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(_app()(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    out: dict[str, list[str]] = {}
    for k, v in start["headers"]:
        out.setdefault(k.decode().lower(), []).append(v.decode())
    return start["status"], out


def test_a_code_becomes_an_httponly_cookie_once() -> None:
    code = gateway.issue("tok-en", 3600)
    status, headers = _call("POST", gateway.SESSION_PATH, code.encode())
    assert status == 204
    cookie = headers["set-cookie"][0]
    assert cookie.startswith(f"{gateway.COOKIE}=tok-en;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=3600" in cookie and "Path=/" in cookie
    assert _call("POST", gateway.SESSION_PATH, code.encode())[0] == 400            # used up
    assert _call("POST", gateway.SESSION_PATH, b"made-up")[0] == 400


def test_an_expired_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    code = gateway.issue("tok", 60)
    real = gateway.time.monotonic
    monkeypatch.setattr(gateway.time, "monotonic", lambda: real() + gateway.CODE_SECONDS + 1)
    assert gateway.redeem(code) is None


@pytest.mark.parametrize("origin", ["http://evil.example", "null", None])
def test_cross_site_posts_are_refused(origin: str | None) -> None:
    code = gateway.issue("tok", 60)
    assert _call("POST", gateway.SESSION_PATH, code.encode(), origin=origin)[0] == 403
    assert _call("POST", gateway.LOGOUT_PATH, origin=origin)[0] == 403
    assert gateway.redeem(code) == ("tok", 60)                                      # not spent by the refusal


def test_logout_clears_the_cookie() -> None:
    status, headers = _call("POST", gateway.LOGOUT_PATH)
    assert status == 204 and headers["set-cookie"][0].startswith(f'{gateway.COOKIE}="";')
    assert "Max-Age=0" in headers["set-cookie"][0] and "HttpOnly" in headers["set-cookie"][0]


@pytest.mark.parametrize("path", ["/_stcore/metrics", "/_stcore/metrics/", "//_stcore//metrics", "/_stcore/./metrics",
                                  "/_STCORE/Metrics", "/base/_stcore/metrics"])
def test_metrics_are_hidden(path: str) -> None:
    assert _call("GET", path)[0] == 404


def test_the_served_app_mounts_the_routes_and_the_guard() -> None:
    """serve.py is what scripts/run.sh and the browser tests run."""
    import ast

    from xkld_geo.settings import PROJECT_ROOT

    source = (PROJECT_ROOT / "serve.py").read_text(encoding="utf-8")
    assert "gateway.routes()" in source and "gateway.HideInternalRoutes" in source
    ast.parse(source)
    assert "serve.py" in (PROJECT_ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
