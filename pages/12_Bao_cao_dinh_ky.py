"""Báo cáo định kỳ: the official report a province sends up, as DOCX (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Báo cáo định kỳ")


def render() -> None:
    """Check the role, render the report controls."""
    ui.require("overview")
    ui.title("Báo cáo định kỳ")
    ui.render_report()


ui.guarded(render)
