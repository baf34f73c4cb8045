"""Vay vốn, về nước, vi phạm: loans, returns, breaches and fraud reports (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Vay vốn, về nước, vi phạm")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("programme")
    ui.title("Vay vốn, về nước, vi phạm")
    ui.render_programme(ui.filters())


ui.guarded(render)
