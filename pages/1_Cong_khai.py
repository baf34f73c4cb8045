"""Công khai: the public summary screen (no login; aggregates only; kiosk mode with ?mode=kiosk)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Công khai", public=True)


def render() -> None:
    """Read the period, province and mode; render the public summary."""
    ui.render_public(*ui.public_request())


ui.guarded(render)
