"""The second factor of a login: time-based one-time codes (TOTP, RFC 6238, with ``pyotp``).

Every account may turn it on; administrators must (:func:`required`): until an administrator has
confirmed a code from their authenticator app, their session can do nothing but enrol (the pages
check :func:`auth.needs_enrolment`). Enrolment makes a random secret and shows it once, as text
and as an ``otpauth://`` provisioning URI; it counts only once a code made from it is accepted
(:func:`confirm`), so a secret mistyped into the app never locks its owner out. At login a code
is accepted within one 30-second step either side (clock drift) and only once: the step of the
newest accepted code is stored, and a code of that step or an older one is refused (replay).

No Streamlit here: the login form, the administration page and the command line call these.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pyotp
import qrcode

from xkld_geo.access.audit import audit
from xkld_geo.database import db
from xkld_geo.errors import AuthError

ISSUER = "XKLĐ-Geo"
"""The name authenticator apps show beside the account."""
REQUIRED_ROLES = frozenset({"admin"})
"""Roles that must have a confirmed second factor before their session can do anything else."""
DRIFT_STEPS = 1
"""Steps (of 30 s) either side of now within which a code is accepted."""
CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Enrolment:
    """A secret just made for ``username``: the text to type into an app and the URI for a QR code."""

    username: str
    secret: str
    uri: str


def required(role: str) -> bool:
    """Whether accounts of ``role`` must have a second factor."""
    return role in REQUIRED_ROLES


def _row(con: duckdb.DuckDBPyConnection, username: str) -> tuple[str, object, object] | None:
    found = db.row(con, "factor_get", "SELECT secret, confirmed_at, last_step FROM second_factors "
                                      "WHERE username = $u", {"u": username})
    return None if found is None else (str(found[0]), found[1], found[2])


def enabled(con: duckdb.DuckDBPyConnection, username: str) -> bool:
    """Whether ``username`` has a confirmed second factor (codes are then asked at every login)."""
    found = _row(con, username)
    return found is not None and found[1] is not None


def enrol(con: duckdb.DuckDBPyConnection, username: str, now: dt.datetime | None = None) -> Enrolment:
    """A new secret for ``username``, not active until :func:`confirm` accepts a code from it.

    A confirmed factor is not replaced here (an administrator removes it first, see :func:`remove`):
    a stolen session must not be able to move the factor to the thief's phone."""
    if enabled(con, username):
        raise AuthError("Tài khoản đã bật xác thực hai bước; hãy nhờ quản trị viên gỡ trước khi đăng ký lại.",
                        field="totp", reason="already_enabled")
    secret = pyotp.random_base32()
    with db.transaction(con):     # an unconfirmed secret made earlier is replaced (plain SQL: the shared store too)
        db.execute(con, "factor_unconfirmed_drop", "DELETE FROM second_factors WHERE username = $u "
                                                   "AND confirmed_at IS NULL", {"u": username})
        db.execute(con, "factor_enrol", "INSERT INTO second_factors VALUES ($u, $s, $at, NULL, NULL)",
                   {"u": username, "s": secret, "at": now or dt.datetime.now()})
    return Enrolment(username, secret, pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def _step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The 30-second step ``code`` belongs to (within :data:`DRIFT_STEPS` of ``now``), or None."""
    code = (code or "").strip().replace(" ", "")
    if not CODE.match(code) or not code.isascii():
        return None
    totp = pyotp.TOTP(secret)
    at = totp.timecode(now)
    for step in range(at - DRIFT_STEPS, at + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def confirm(con: duckdb.DuckDBPyConnection, username: str, code: str, now: dt.datetime | None = None,
            by: str | None = None) -> None:
    """Turn on the secret made by :func:`enrol` once a code from the owner's app matches it."""
    now = now or dt.datetime.now()
    found = _row(con, username)
    step = _step(found[0], code, now) if found is not None and found[1] is None else None
    if step is None:
        raise AuthError("Mã xác thực không đúng (6 chữ số trong ứng dụng xác thực; mã đổi sau mỗi 30 giây).",
                        field="totp", reason="bad_code")
    with db.transaction(con):
        db.execute(con, "factor_confirm", "UPDATE second_factors SET confirmed_at = $at, last_step = $s "
                                          "WHERE username = $u", {"at": now, "s": step, "u": username})
        audit(con, by or username, "totp_enabled", username, now=now)


def check(con: duckdb.DuckDBPyConnection, username: str, code: str | None, now: dt.datetime) -> bool:
    """Whether ``code`` is a fresh code of ``username``'s confirmed factor; an accepted code's step
    is stored so that the same code (or an older one) is not accepted again."""
    found = _row(con, username)
    if found is None or found[1] is None:
        return False
    step = _step(found[0], code or "", now)
    if step is None or (found[2] is not None and step <= int(str(found[2]))):
        return False
    db.execute(con, "factor_used", "UPDATE second_factors SET last_step = $s WHERE username = $u",
               {"s": step, "u": username})
    return True


def remove(con: duckdb.DuckDBPyConnection, username: str, by: str = "cli") -> bool:
    """Turn the second factor of ``username`` off (a lost phone); their open sessions end, so an
    administrator must enrol again at the next login. Returns whether there was one."""
    had = _row(con, username) is not None
    with db.transaction(con):
        db.execute(con, "factor_remove", "DELETE FROM second_factors WHERE username = $u", {"u": username})
        db.execute(con, "factor_sessions_end", "DELETE FROM sessions WHERE username = $u", {"u": username})
        audit(con, by, "totp_removed", username)
    return had


def current_code(secret: str, now: dt.datetime | None = None) -> str:
    """The code an authenticator app shows now for ``secret`` (tests, and the command line's check)."""
    return pyotp.TOTP(secret).at(now or dt.datetime.now())


def qr_png(uri: str, box_size: int = 6) -> bytes:
    """The enrolment's ``otpauth://`` URI as a QR code (PNG) for an authenticator app's camera:
    drawn by the ``qrcode`` library on this server, never by a web service (the secret stays here)."""
    import io

    image = qrcode.make(uri, box_size=box_size, border=2)
    out = io.BytesIO()
    image.save(out)     # qrcode's pillow image writes PNG by default
    return out.getvalue()
