"""Leftovers of killed work, removed when the server or a command starts.

A build killed midway leaves ``.NAME.building-PID`` beside the database (hundreds of MB); a
publish killed midway leaves a hidden ``.NAME.publishing-PID-…`` folder in the release folder,
which the next publish would keep and ``rsync --delete`` would copy to the public server. Both
name the process that made them: those of processes that are gone are deleted here, at the start
of the server (serve.py) and of every command (``python -m xkld_geo …``, which scripts/run.sh
runs first), and again by each build and publish before they write (which ask
:func:`xkld_geo.database.processes.alive` whether a leftover's maker still runs).
"""
from __future__ import annotations

from pathlib import Path

from xkld_geo.database.processes import alive
from xkld_geo.settings import Settings

__all__ = ["alive", "remove"]


def remove(settings: Settings) -> list[Path]:
    """Delete what killed builds and publishes left; returns what was removed."""
    from xkld_geo.release import site
    from xkld_geo.warehouse import assembly

    removed: list[Path] = []
    if str(settings.db_path) != ":memory:" and Path(settings.db_path).parent.is_dir():
        removed += assembly.remove_stale_builds(Path(settings.db_path))
    if Path(settings.publish_dir).is_dir():
        removed += site.remove_stale_publishes(Path(settings.publish_dir))
    return removed
