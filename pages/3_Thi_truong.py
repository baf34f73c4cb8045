"""Thị trường: one of the maps the directives ask for (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Thị trường")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    user = ui.require("programme")
    ui.title("Thị trường")
    ui.render_markets(ui.filters(), user)


ui.guarded(render)
