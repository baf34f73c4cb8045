"""Thi đua cuối năm: year-end emulation classification of the communes (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Thi đua cuối năm")


def render() -> None:
    """Check the role, render the classification."""
    user = ui.require("overview")
    ui.title("Xếp loại thi đua cuối năm")
    ui.render_emulation(user)


ui.guarded(render)
