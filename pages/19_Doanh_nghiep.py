"""Doanh nghiệp: a licensed recruitment company's orders and the people they sent (its own rows only)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Doanh nghiệp")


def render() -> None:
    """Check the role, render the company's page (its scope is checked by the view)."""
    user = ui.require("company")
    ui.title("Doanh nghiệp đưa người lao động đi làm việc ở nước ngoài")
    ui.render_company(user)


ui.guarded(render)
