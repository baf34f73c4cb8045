"""Sàn việc làm: one of the maps the directives ask for (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Sàn việc làm")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("programme")
    ui.title("Sàn việc làm")
    ui.render_jobfairs(ui.filters())


ui.guarded(render)
