"""Parts of a page that rerun on their own (``st.fragment``) when one of their widgets changes.

A year switch on the overview used to rerun the whole page: navigation, page config, the login
box and the sidebar, then the view, 43 messages in all, each one serialised, compressed, sent and
drawn again by the browser. As a part of its own, only the part runs again and only its elements
travel (issue 15: a year switch redrawn in Chromium in ≤ 200 ms).

The page's role check (:func:`access.require`) does not run on the part's own reruns, so the part
checks the session first (logged out or expired elsewhere, a user disabled, a role changed) and,
when it may no longer, reruns the whole page, whose check answers as on any page. Project errors
show once with ``st.error``, as :func:`common.guarded` does for the whole page.
"""
from __future__ import annotations

import functools
from typing import Callable, ParamSpec

import streamlit as st

from xkld_geo.ui import access, compat
from xkld_geo.ui.common import guarded

P = ParamSpec("P")


def fragment(action: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Make ``body`` a part that reruns alone, for users who may do ``action``."""
    def wrap(body: Callable[P, None]) -> Callable[P, None]:
        @st.fragment
        @functools.wraps(body)
        def part(*args: P.args, **kwargs: P.kwargs) -> None:
            if own_run() and not access.still_allowed(action):
                st.rerun(scope="app")   # the whole page: its login box and message
            guarded(lambda: body(*args, **kwargs))
        return part
    return wrap


def own_run() -> bool:
    """Whether this run is a part's own rerun, not a run of the whole page (in which
    :func:`access.require` has just run): :func:`compat.fragment_rerun`."""
    return compat.fragment_rerun()
