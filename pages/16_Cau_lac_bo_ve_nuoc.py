"""Câu lạc bộ gia đình, về nước: families' clubs and returnees (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Câu lạc bộ gia đình, về nước")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("programme")
    ui.title("Câu lạc bộ gia đình, về nước")
    ui.render_clubs_returnees(ui.filters())


ui.guarded(render)
