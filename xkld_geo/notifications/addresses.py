"""E-mail addresses and webhook URLs, checked before they are saved (a Vietnamese message each)."""
from __future__ import annotations

import urllib.parse

import validators

from xkld_geo.errors import QueryError

MAX_LENGTH = 254


def email_problem(address: str) -> str | None:
    """Why ``address`` is not a usable e-mail address (Vietnamese), or None when it is."""
    text = (address or "").strip()
    if not text:
        return "thiếu địa chỉ thư điện tử"
    if len(text) > MAX_LENGTH or any(c.isspace() for c in text) or not validators.email(text):
        return f"địa chỉ thư điện tử '{text[:80]}' không hợp lệ (dạng đúng: ten@co-quan.gov.vn)"
    return None


def check_email(address: str, field: str = "email") -> str:
    """``address`` stripped and in lower case, or a :class:`QueryError` saying what is wrong."""
    problem = email_problem(address)
    if problem:
        raise QueryError(problem[0].upper() + problem[1:] + ".", field=field, value=address)
    return address.strip().lower()


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable webhook endpoint (Vietnamese), or None when it is: http or https,
    a host, no user or password in it, no spaces."""
    text = (url or "").strip()
    if not text:
        return "thiếu địa chỉ webhook"
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or any(c.isspace() for c in text) or len(text) > 2000 or (port is not None and port <= 0)):
        return (f"địa chỉ webhook '{text[:80]}' không hợp lệ (cần dạng https://may-chu/duong-dan, "
                "không chứa tên đăng nhập hay mật khẩu)")
    return None


def check_url(url: str, field: str = "url") -> str:
    """``url`` stripped, or a :class:`QueryError` saying what is wrong."""
    problem = url_problem(url)
    if problem:
        raise QueryError(problem[0].upper() + problem[1:] + ".", field=field, value=url)
    return url.strip()
