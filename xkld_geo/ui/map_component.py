"""The project's own map component: a folium map drawn in the browser, its values repainted in place.

The component is declared with Streamlit's documented components API
(``streamlit.components.v1.declare_component`` with ``path=``): its frontend is two static files
shipped beside this module (``map_frontend/index.html`` and ``map.js``, plain JavaScript, no npm
build). It takes three parts of a map:

- ``page``: the standalone HTML folium writes for the map (:func:`maps.page_html`), which loads
  Leaflet and the TopoJSON decoder from the app's own static folder (``static/vendor``), never a
  CDN. The frame copies its head and body in and runs its scripts in order, once per frame;
- ``values``: a script (:meth:`maps.ChoroplethValues.script`) run again whenever it changes, which
  repaints the drawn shapes with new figures, legend and caption and keeps the zoom and position;
- ``height`` and ``returned``: the frame's height, and what the map reports back (the names
  streamlit-folium used: ``last_active_drawing`` is the GeoJSON feature of the clicked shape).

The component's key is a hash of the page (folium's random element ids left out) and the caller's
key, so a map with other shapes gets a frame of its own and a map with other values keeps its frame.

Building a page costs some 60 ms of CPU (folium's Jinja templates) for a result that depends only
on what is drawn. A map spec comes from the shared cache (:mod:`xkld_geo.database.cache`, one object per
data version and request), so the component's arguments are kept here per (spec, height, key,
returned objects): a cached rerun sends the same arguments (Streamlit then sends only what changed)
without rendering anything. They are attached to the spec (:mod:`xkld_geo.ui.attachments`), so
they live as long as the cache keeps it. With ``XKLD_CACHE=off`` a spec is new on every run and
nothing is reused.
"""
from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import folium
import streamlit.components.v1 as components

from xkld_geo import maps
from xkld_geo.database import singleflight
from xkld_geo.maps.layers import ChoroplethValues
from xkld_geo.ui.attachments import Attachments

FRONTEND = Path(__file__).with_name("map_frontend")
"""The component's static frontend (index.html, map.js), served by Streamlit from this folder."""
NAME = "xkld_map"
TITLE = f"{__name__}.{NAME}"
"""The component's full name (Streamlit prefixes the declaring module's), the ``title`` of its
frame in the page (browser tests look for it)."""

MAX_SHAPES = 128
"""Shapes parts kept (one per drawn set of layers: the country, a province, a directive's units)."""
_RANDOM_IDS = re.compile(r"_[0-9a-f]{32}")   # folium names each element with a uuid4 hex
_lock = threading.Lock()
_args: Attachments[dict[str, Any]] = Attachments()   # the component's arguments, per (spec, variant)
_bases: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()   # shapes parts, by layers
_flights = singleflight.Flights()


@functools.cache
def component() -> Any:
    """The declared component, declared on the first map drawn: Streamlit registers a component
    (so that its server serves the frontend folder) only when it is declared during a script run,
    and serve.py's launcher imports this package before the server runs."""
    declared = components.declare_component(NAME, path=str(FRONTEND))
    assert declared.name == TITLE, declared.name
    return declared


def frame_key(page: str, key: str) -> str:
    """The component's key for a map page: the same for two builds of one map (folium's random
    ids aside), another for other shapes, so that only values changing keeps the drawn frame."""
    return hashlib.sha256((_RANDOM_IDS.sub("", page) + "\0" + key).encode()).hexdigest()


def arguments(fmap: folium.Map, values: ChoroplethValues | None, key: str, height: int,
              returned_objects: Sequence[str]) -> dict[str, Any]:
    """The component's arguments for ``fmap`` with ``values`` repainting it (None: none)."""
    page = maps.page_html(fmap)
    returned = tuple(returned_objects)   # a tuple: the component call skips its data-frame check
    frame = frame_key(page, key)
    # "frame" travels too: a frame the browser keeps for another map draws this one anew
    return {"page": page, "map": fmap.get_name(), "values": values.script() if values is not None else "",
            "height": height, "returned": returned, "frame": frame, "key": frame,
            "default": {name: None for name in returned}}


def draw(owner: object, build: Callable[[], tuple[folium.Map, ChoroplethValues | None]], key: str, height: int,
         returned_objects: Sequence[str] = (), variant: tuple[Any, ...] = ()) -> Any:
    """Draw the map of ``owner`` (a read-only spec shared by the cache) with the arguments built
    for it before, or built now by ``build()``; returns what the component reports."""
    returned = tuple(returned_objects)

    def make() -> dict[str, Any]:
        fmap, values = build()
        return arguments(fmap, values, key, height, returned)

    return _draw_kwargs(owner, (key, height, returned, variant), make)


def _draw_kwargs(owner: object, variant: tuple[Any, ...], make: Callable[[], dict[str, Any]]) -> Any:
    """Call the component with the arguments kept for (``owner``, ``variant``), made by ``make()``
    the first time (one session makes them; others asking at once wait for it)."""
    kwargs = _args.get(owner, variant)
    if kwargs is None:
        with _flights.turn((id(owner), variant)):   # sessions drawing the same new map at once: one renders it
            kwargs = _args.get(owner, variant) or _args.put(owner, variant, make())
    return component()(**kwargs)


def draw_layers(owner: object, layers: Hashable, shapes: Callable[[], folium.Map],
                values: Callable[[], ChoroplethValues], key: str, height: int,
                returned_objects: Sequence[str] = ()) -> Any:
    """Draw a map in two parts: the shapes part, built once per ``layers`` (whatever identifies
    the drawn shapes; maps of other periods or indicators of the same layers share it) and the
    values of ``owner`` (a read-only spec shared by the cache), made once per owner. The result is
    what :func:`draw` would send for ``(shapes(), values())``."""
    returned = tuple(returned_objects)
    base_key = ("layers", layers, key, height, returned)

    def build() -> dict[str, Any]:   # only for values not drawn before: the shapes part is looked up here
        with _flights.turn(base_key):   # sessions needing the same new shapes part: one renders it
            with _lock:
                base = _bases.get(base_key)
                if base is not None:
                    _bases.move_to_end(base_key)
            if base is None:
                base = arguments(shapes(), None, key, height, returned)
                with _lock:
                    _bases[base_key] = base
                    while len(_bases) > MAX_SHAPES:
                        _bases.popitem(last=False)
        return base | {"values": values().script()}

    return _draw_kwargs(owner, ("values", layers, key, height, returned), build)


def stats() -> dict[str, int]:
    """Maps built and reused so far (tests, benches)."""
    with _lock:
        bases = len(_bases)
    return {"built": _args.built, "reused": _args.reused, "kept": len(_args), "bases": bases}
