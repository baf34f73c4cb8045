"""Bảo hộ công dân: the register of cases of workers in trouble (viewers and above; planners and
administrators move cases and read their internal notes)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Bảo hộ công dân, vụ việc")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    user = ui.require("programme")
    ui.title("Bảo hộ công dân, vụ việc")
    ui.render_cases(ui.filters(), user)


ui.guarded(render)
