"""Nhóm ưu tiên: one of the maps the directives ask for (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Nhóm ưu tiên")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("programme")
    ui.title("Nhóm ưu tiên")
    ui.render_priority(ui.filters())


ui.guarded(render)
