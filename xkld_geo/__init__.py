"""XKLĐ-Geo: geospatial quota dashboard for Vietnam's labour-export programme.

The library holds every piece of logic; ``app.py`` and ``pages/`` only wire widgets to it.
"""
from __future__ import annotations

__version__ = "0.1.0"
DEMO_LABEL = "Dữ liệu minh họa"
"""Label shown next to every figure that comes from the seeded demo generator."""
