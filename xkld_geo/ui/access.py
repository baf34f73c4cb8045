"""Login, logout and the role check every page runs before it renders anything.

The live session is the Streamlit session (``st.session_state``, on the server). So that a
bookmarked URL reopens logged in, the browser also gets the token in a cookie that page scripts
cannot read: the page posts a one-time code to ``/xkld/session`` and the server answers with an
``HttpOnly`` cookie (see :mod:`xkld_geo.server.gateway`); ``document.cookie`` never holds the token. The
server keeps only a hash of the token. The check runs in each page's own script, so typing a
page's URL gets the same answer as clicking it in the menu.
"""
from __future__ import annotations

import json
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from xkld_geo.access import auth, second_factor
from xkld_geo.errors import AuthError, XkldError
from xkld_geo.server import gateway
from xkld_geo.text import guides
from xkld_geo.ui import compat
from xkld_geo.ui.common import ANONYMOUS_TITLE, FAVICON, PAGE_CSS, connection, page_run, plain, settings

COOKIE = gateway.COOKIE
TOKEN_KEY = "auth_token"


def _set_cookie(slot: DeltaGenerator, token: str | None) -> None:
    """Have the server set (or clear) the HttpOnly session cookie, from a tiny frame in ``slot``.

    The frame posts a one-time code (never the token) to the same-origin endpoint; the answer's
    ``Set-Cookie`` is out of reach of every script. The slot is a placeholder made on every run at
    the same place in the sidebar: the frame runs on one run only, and an element that comes and
    goes would shift what follows it, so Streamlit would rebuild the map (and lose its zoom)."""
    if token:
        url, body = gateway.SESSION_PATH, gateway.issue(token, auth.SESSION_HOURS * 3600)
    else:
        url, body = gateway.LOGOUT_PATH, ""
    # our own script, a fixed path and a server-made random code only: nothing from the user
    script = (f"fetch(new URL({json.dumps(url)}, parent.location.href), {{method: 'POST', body: {json.dumps(body)}, "
              "credentials: 'same-origin', cache: 'no-store'}).catch(function() {});")
    with slot:
        st.iframe(f"<script>{script}</script>", height=1)


def client_source() -> str:
    """The client's address, for throttling failed logins by source.

    Streamlit's own view of the connection (``st.context.ip_address``; None means localhost). When
    that peer is one of the configured ``trusted_proxies``, the last address of its
    ``X-Forwarded-For`` header is used instead (the one that proxy saw); the header is ignored
    otherwise, because anyone can send it."""
    try:
        peer = st.context.ip_address
        peer = peer if isinstance(peer, str) and peer else "127.0.0.1"  # (AppTest gives a mock)
        trusted = {a.strip() for a in settings().trusted_proxies.split(",") if a.strip()}
        if peer in trusted:
            header = st.context.headers.get("X-Forwarded-For")
            forwarded = [a.strip() for a in (header if isinstance(header, str) else "").split(",")]
            if forwarded and forwarded[-1]:
                return forwarded[-1][:64]
        return peer
    except Exception:  # no browser context (tests, bare mode)
        return auth.UNKNOWN_SOURCE


def anonymous() -> bool:
    """Whether this visitor has no session at all (no token in the session, no cookie): checked
    without the database, before a page runs."""
    if st.session_state.get(TOKEN_KEY):
        return False
    try:
        return not st.context.cookies.get(COOKIE)
    except Exception:  # no browser context (tests, bare mode)
        return True


def _cookie_token() -> str | None:
    """The session cookie the browser sent with this session's connection, if any."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # no browser context (tests, bare mode)
        return None
    return token if isinstance(token, str) else None


def current_user() -> auth.User:
    """The logged-in user, or :data:`auth.PUBLIC`; an expired session is told to log in again."""
    con = connection()  # fails first, and clearly, when there is no database
    slot = st.sidebar.empty()
    if st.session_state.pop("_logged_out", False):
        _set_cookie(slot, None)  # rendered on this run, which does not rerun at once
        return auth.PUBLIC
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        token = _cookie_token()
        if token:
            st.session_state["_cookie_set"] = True  # the browser has it already
    if not isinstance(token, str) or not token or len(token) > 100:
        return auth.PUBLIC
    user = auth.session_user(con, token)
    if user is None:
        st.session_state.pop(TOKEN_KEY, None)
        st.info("Phiên đăng nhập đã hết hạn; hãy đăng nhập lại.")
        _set_cookie(slot, None)
        return auth.PUBLIC
    st.session_state[TOKEN_KEY] = token
    if not st.session_state.get("_cookie_set"):
        _set_cookie(slot, token)  # on the first quiet run after login: a rerun would drop the script
        st.session_state["_cookie_set"] = True
    return user


_SIGNED_KEY = "_xkld_signed_in"


def signed_in() -> bool:
    """Whether this session has a live login (the session's token, else the cookie's), drawing
    nothing: the menu asks it before any page runs, the page's title again; looked up once per run."""
    marker = page_run()
    kept = st.session_state.get(_SIGNED_KEY)
    if marker is not None and isinstance(kept, tuple) and kept[0] is marker:
        return bool(kept[1])
    answer = _signed_in()
    if marker is not None:
        st.session_state[_SIGNED_KEY] = (marker, answer)
    return answer


def _signed_in() -> bool:
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        token = _cookie_token()
    if not isinstance(token, str) or not token or len(token) > 100:
        return False
    try:
        return auth.session_user(connection(), token) is not None
    except XkldError:  # no database: the page itself says so
        return False


def versions_notice() -> None:
    """Tell an administrator, once per session, that the installed libraries differ from those the
    compatibility module was written for (:func:`compat.admin_notice`), and what to check."""
    if not st.session_state.get("_xkld_versions_told"):
        st.session_state["_xkld_versions_told"] = True
        notice = compat.admin_notice()
        if notice:
            st.warning(plain(notice), icon=":material/build:")


def login_box(user: auth.User, home: Any = None) -> None:
    """The sidebar's login form, or who is logged in with a logout button; after logging in, the
    page ``home`` opens (the public page's form leads to the overview) or this page runs again."""
    with st.sidebar:
        if user.role != "public":
            st.caption(f"Đăng nhập: **{plain(user.display_name)}** ({auth.ROLES[user.role]})")
            if user.role == "admin":
                versions_notice()
            second_factor_box(user)
            with st.popover("Hướng dẫn sử dụng", icon=":material/help:", width="stretch"):
                for page in guides.for_role(user.role):
                    for part, image in guides.parts(page):
                        if image is None:
                            st.markdown(part)
                        elif image.exists():
                            st.image(str(image), caption=part)
            if st.button("Đăng xuất", key="logout"):
                auth.logout(connection(), st.session_state.pop(TOKEN_KEY, None))
                st.session_state["_logged_out"] = True
                st.session_state.pop("_cookie_set", None)
                st.rerun()
            return
        with st.form("login_form", clear_on_submit=False):
            st.markdown("**Đăng nhập cán bộ**")
            username = st.text_input("Tên đăng nhập", key="login_user", max_chars=64)
            password = st.text_input("Mật khẩu", type="password", key="login_password", max_chars=256)
            code = st.text_input("Mã xác thực (nếu đã bật xác thực hai bước)", key="login_code", max_chars=8,
                                 help="6 chữ số trong ứng dụng xác thực trên điện thoại; bắt buộc với quản trị viên.")
            submitted = st.form_submit_button("Đăng nhập")
        if submitted:
            try:
                token, _ = auth.login(connection(), username, password, source=client_source(), code=code)
            except AuthError as exc:
                st.error(plain(exc.message))
                return
            st.session_state[TOKEN_KEY] = token
            st.session_state.pop("_cookie_set", None)
            if home is not None:
                st.switch_page(home)
            st.rerun()


ENROLMENT_KEY = "_totp_enrolment"


def _enrolment_form(user: auth.User, key: str) -> None:
    """Show a new secret (text and ``otpauth://`` URI, for any authenticator app) and turn it on
    once a code made from it is typed back. The secret is made once per session and kept on the
    server (``st.session_state``) until it is confirmed."""
    con = connection()
    enrolment = st.session_state.get(ENROLMENT_KEY)
    if not isinstance(enrolment, second_factor.Enrolment) or enrolment.username != user.username:
        enrolment = second_factor.enrol(con, user.username)
        st.session_state[ENROLMENT_KEY] = enrolment
    st.markdown("1. Mở ứng dụng xác thực (Google Authenticator, Microsoft Authenticator, FreeOTP...) và quét mã "
                "QR, hoặc thêm tài khoản bằng khóa bí mật bên cạnh (hoặc dán đường dẫn `otpauth://`).")
    qr, text = st.columns([1, 2])
    qr.image(second_factor.qr_png(enrolment.uri), caption="Mã QR để quét bằng ứng dụng", width=180)
    text.code(enrolment.secret, language=None)
    text.code(enrolment.uri, language=None, wrap_lines=True)
    with st.form(f"totp_form_{key}"):
        code = st.text_input("2. Nhập mã 6 chữ số ứng dụng đang hiện", max_chars=8, key=f"totp_code_{key}")
        if st.form_submit_button("Bật xác thực hai bước"):
            try:
                second_factor.confirm(con, user.username, code)
            except AuthError as exc:
                st.error(plain(exc.message))
                return
            st.session_state.pop(ENROLMENT_KEY, None)
            st.rerun()


def second_factor_box(user: auth.User) -> None:
    """In the sidebar under the logged-in name: whether the second factor is on, or how to turn it on
    (offered to every account; the secret is made when the user asks for it)."""
    if second_factor.enabled(connection(), user.username):
        st.caption("Xác thực hai bước: đã bật.")
        return
    if auth.needs_enrolment(connection(), user):
        return  # the page itself shows the form (required)
    with st.expander("Bật xác thực hai bước"):
        # a secret is made (a write) only when asked for: an expander's body runs on every page run,
        # and one made per new session made concurrent sessions of one account conflict in the
        # database (and cost every session's first page a transaction)
        if ENROLMENT_KEY in st.session_state or st.button("Tạo khóa bí mật", key="totp_start"):
            _enrolment_form(user, "sidebar")


def require_second_factor(user: auth.User) -> None:
    """Stop the page for an administrator without a second factor, with the form that enrols one:
    their password alone opens nothing else."""
    if not auth.needs_enrolment(connection(), user):
        return
    st.warning("Tài khoản quản trị phải bật xác thực hai bước trước khi dùng hệ thống: mật khẩu thôi chưa đủ.")
    _enrolment_form(user, "required")
    st.stop()


def still_allowed(action: str) -> bool:
    """Whether this session's user may still do ``action``: :func:`require`'s check, drawing
    nothing, for a part of a page that reruns alone (:mod:`xkld_geo.ui.part`). The token is
    looked up again, so a session ended elsewhere, expired or of a disabled user is refused."""
    token = st.session_state.get(TOKEN_KEY)
    user = auth.session_user(connection(), token) if isinstance(token, str) else None
    if user is not None and auth.needs_enrolment(connection(), user):
        return False
    return auth.allowed(user or auth.PUBLIC, action)


def require(action: str) -> auth.User:
    """Stop the page unless the current user may do ``action``; returns the user."""
    user = current_user()
    login_box(user)
    if user.must_change:
        _new_password(user)
        st.stop()
    if user.role != "public":
        require_second_factor(user)
    if not auth.allowed(user, action):
        if user.role == "public":
            st.warning("Trang này dành cho cán bộ: hãy đăng nhập ở thanh bên. "
                       "Thông tin công khai có ở trang \"Công khai\".")
        else:
            st.error(f"Tài khoản {plain(user.username)} ({auth.ROLES[user.role]}) không có quyền mở trang này.")
        st.stop()
    return user


def _new_password(user: auth.User) -> None:
    """A one-time password's first login: a new password is chosen before any page opens."""
    st.warning("Tài khoản đang dùng mật khẩu một lần: hãy đặt mật khẩu mới trước khi làm việc.")
    with st.form("new_password_form"):
        old = st.text_input("Mật khẩu một lần", type="password", key="otp_old", max_chars=256)
        new = st.text_input("Mật khẩu mới (ít nhất 10 ký tự)", type="password", key="otp_new", max_chars=256)
        again = st.text_input("Nhập lại mật khẩu mới", type="password", key="otp_again", max_chars=256)
        done = st.form_submit_button("Đổi mật khẩu")
    if done:
        if new != again:
            st.error("Hai lần nhập mật khẩu mới không giống nhau.")
            return
        try:
            auth.change_password(connection(), user.username, old, new)
        except AuthError as exc:
            st.error(plain(exc.message))
            return
        st.success("Đã đổi mật khẩu.")
        st.rerun()


def setup_page(title: str, public: bool = False) -> None:
    """Page config and the shared CSS: the same text on every run, so the browser keeps its style
    sheet (a style sheet whose element changes makes it restyle the whole page). An internal page
    (``public`` false) opened without a login is titled :data:`ANONYMOUS_TITLE` (here, beside the
    login it asks about)."""
    if not public and not signed_in():
        title = ANONYMOUS_TITLE
    st.set_page_config(page_title=f"{title} · XKLĐ-Geo", page_icon=FAVICON, layout="wide")
    st.markdown(PAGE_CSS, unsafe_allow_html=True)
