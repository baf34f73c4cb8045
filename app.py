"""XKLĐ-Geo: the entry point. Lists the pages under their Vietnamese titles, grouped by who uses
them, and runs the chosen one; the overview (pages/0_Tong_quan.py) opens by default."""
from __future__ import annotations

from xkld_geo import ui

ui.navigation()
