"""Quản trị: users, public notices and the audit log (administrators only)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Quản trị")


def render() -> None:
    """Check the role, then render the administration page."""
    admin = ui.require("manage_users")
    ui.title("Quản trị hệ thống")
    ui.render_admin(admin)


ui.guarded(render)
