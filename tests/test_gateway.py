"""The routes beside Streamlit (xkld_geo/server/gateway.py): the HttpOnly session cookie from a one-time
code, cross-site posts refused, /_stcore/metrics hidden however it is spelt. Driven as ASGI
calls, without a server; the browser test checks the same through Chromium."""
from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.asgi_support import call
from xkld_geo.server import gateway

HOST = "127.0.0.1:8501"


def _app() -> Starlette:
    async def metrics(request):  # stands in for Streamlit's own route
        return PlainTextResponse("sessions 3")

    return Starlette(routes=gateway.routes() + [Route("/_stcore/metrics", metrics)],
                     middleware=[Middleware(gateway.HideInternalRoutes)])


def _call(method: str, path: str, body: bytes = b"", origin: str | None = f"http://{HOST}",
          host: str = HOST, extra: dict[str, str] | None = None, client: str = "127.0.0.1") -> tuple[int, dict]:
    headers = [("host", host)] + ([("origin", origin)] if origin else []) + list((extra or {}).items())
    got = call(_app(), method, path, body=body, headers=headers, client=client)
    return got.status, got.headers


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


PROXIED = {"X-Forwarded-Host": "intranet.example:8443", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(("trusted", "client", "origin", "host", "forwarded", "status"), [
    # nginx with `Host $host` drops the port; its forwarded host keeps it: believed from a trusted proxy
    ("10.0.0.5", "10.0.0.5", "https://intranet.example:8443", "intranet.example", PROXIED, 204),
    # nginx with `Host $http_host` keeps the port: the plain check passes, trusted or not
    ("", "10.0.0.5", "http://intranet.example:8080", "intranet.example:8080", {}, 204),
    # the same forwarded headers from a peer that is not a trusted proxy are ignored
    ("", "10.0.0.5", "https://intranet.example:8443", "intranet.example", PROXIED, 403),
    ("10.0.0.9", "10.0.0.5", "https://intranet.example:8443", "intranet.example", PROXIED, 403),
    # a trusted proxy forwarding another site's host, or another scheme, is still cross-site
    ("10.0.0.5", "10.0.0.5", "https://evil.example:8443", "intranet.example", PROXIED, 403),
    ("10.0.0.5", "10.0.0.5", "http://intranet.example:8443", "intranet.example", PROXIED, 403),
    # a chain of proxies: the first forwarded host is the browser's
    ("10.0.0.5", "10.0.0.5", "https://intranet.example:8443", "backend",
     {"X-Forwarded-Host": "intranet.example:8443, lb.internal", "X-Forwarded-Proto": "https, http"}, 204),
])
def test_the_origin_check_believes_only_trusted_proxies(monkeypatch: pytest.MonkeyPatch, trusted: str, client: str,
                                                       origin: str, host: str, forwarded: dict[str, str],
                                                       status: int) -> None:
    monkeypatch.setenv("XKLD_TRUSTED_PROXIES", trusted)
    code = gateway.issue("tok-proxied", 3600)
    got, headers = _call("POST", gateway.SESSION_PATH, code.encode(), origin=origin, host=host, extra=forwarded,
                         client=client)
    assert got == status
    if status == 204:
        assert "Secure" in headers["set-cookie"][0] or not origin.startswith("https")


def test_the_generated_nginx_passes_the_browsers_host_and_scheme() -> None:
    from xkld_geo.settings import PROJECT_ROOT

    snippet = (PROJECT_ROOT / "scripts" / "deploy" / "nginx" / "xkld-proxy.conf").read_text(encoding="utf-8")
    assert "proxy_set_header Host $http_host;" in snippet
    assert "proxy_set_header X-Forwarded-Host $http_host;" in snippet
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in snippet
    assert "$host;" not in snippet
    for name in ("cluster.sh", "hosts.sh"):
        script = (PROJECT_ROOT / "scripts" / name).read_text(encoding="utf-8")
        assert "include $ROOT/scripts/deploy/nginx/xkld-proxy.conf;" in script, name
        assert "proxy_set_header" not in script, name
    script = (PROJECT_ROOT / "scripts" / "cluster.sh").read_text(encoding="utf-8")
    assert 'XKLD_TRUSTED_PROXIES="${XKLD_TRUSTED_PROXIES:-127.0.0.1}"' in script
