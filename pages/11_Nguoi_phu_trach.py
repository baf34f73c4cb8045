"""Người phụ trách: who is in charge per province and commune (internal; planners and admins edit)."""
from __future__ import annotations

from xkld_geo import ui
from xkld_geo.reporting import people

ui.setup_page("Người phụ trách")


def render() -> None:
    """Check the role, render the lists (editing is offered only to planners and administrators)."""
    user = ui.require(people.VIEW_ACTION)
    ui.title("Người phụ trách xuất khẩu lao động")
    ui.render_people(user)


ui.guarded(render)
