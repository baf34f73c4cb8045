"""Thông báo: what each user receives by e-mail; for administrators, the outbox and the jobs."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Thông báo")


def render() -> None:
    """Check the role (every account), then render the subscriptions (and the administrator's tabs)."""
    user = ui.require("overview")
    ui.title("Thông báo qua thư và tin nhắn")
    ui.render_notifications(user)


ui.guarded(render)
