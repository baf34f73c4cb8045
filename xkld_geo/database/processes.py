"""Processes of this machine, as the leftovers of killed work name them (``.NAME.building-PID``).

Apart from :mod:`xkld_geo.database.leftovers` (which removes what builds and publishes left, and so imports
them) so that the build and the publish, which keep the leftovers of live processes, can ask
without importing it back.
"""
from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (the maker of a leftover that must then be kept)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True
