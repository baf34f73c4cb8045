"""The map component's arguments, built once per map and shared by every rerun and session.

``st_folium`` renders the folium map on every call: about twenty Jinja templates compiled and
rendered, then the map's script cut up with regular expressions, some 60 ms of CPU per overview
rerun, for a result that depends only on what is drawn. A map spec comes from the shared cache
(:mod:`xkld_geo.cache`, one object per data version and request), so the component's arguments
are kept here per (spec, height, key, returned objects): a cached rerun sends the same arguments
(Streamlit then sends only what changed) without rendering anything. They are attached to the spec
(:mod:`xkld_geo.ui.attachments`), so they live as long as the cache keeps it. With
``XKLD_CACHE=off`` a spec is new on every run and nothing is reused.

The arguments are taken from ``st_folium`` itself (a copy of the function whose component call is
recorded instead of made), so what the browser gets is exactly what ``st_folium`` would send.
"""
from __future__ import annotations

import threading
import types
from collections import OrderedDict
from typing import Any, Callable, Hashable, Sequence

import folium
import streamlit_folium
from branca.element import MacroElement

from xkld_geo import singleflight
from xkld_geo.ui.attachments import Attachments

MAX_SHAPES = 128
"""Shapes parts kept (one per drawn set of layers: the country, a province, a directive's units)."""
_recorded = threading.local()
_lock = threading.Lock()
_args: Attachments[dict[str, Any]] = Attachments()   # the component's arguments, per (spec, variant)
_bases: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()   # shapes parts, by layers
_flights = singleflight.Flights()


def _record(**kwargs: Any) -> None:
    """Stands in for the component call inside :data:`_arguments_of`: keeps its arguments."""
    _recorded.kwargs = kwargs


_arguments_of: Callable[..., None] = types.FunctionType(
    streamlit_folium.st_folium.__code__,
    {**streamlit_folium.st_folium.__globals__, "_component_func": _record},
    "st_folium_arguments", streamlit_folium.st_folium.__defaults__, streamlit_folium.st_folium.__closure__)
_arguments_of.__kwdefaults__ = streamlit_folium.st_folium.__kwdefaults__


def arguments(fmap: folium.Map, values: folium.FeatureGroup, key: str, height: int,
              returned_objects: Sequence[str]) -> dict[str, Any]:
    """What ``st_folium(fmap, feature_group_to_add=values, ...)`` passes to its component."""
    _arguments_of(fmap, feature_group_to_add=values, key=key, height=height, use_container_width=True,
                  returned_objects=list(returned_objects))
    kwargs, _recorded.kwargs = _recorded.kwargs, None
    # lists as tuples: the same JSON for the browser, but the component call asks of every list
    # argument whether it is a data frame (a costly check on each run); a tuple it skips at once
    return {name: tuple(value) if isinstance(value, list) else value for name, value in kwargs.items()}


def draw(owner: object, build: Callable[[], tuple[folium.Map, folium.FeatureGroup]], key: str, height: int,
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
    return streamlit_folium._component_func(**kwargs)


FEATURE_GROUP_HEAD = "var feature_group_feature_group_0 = L.featureGroup({});\n"
FEATURE_GROUP_TAIL = """
feature_group_feature_group_0.addTo(map_div);
map_div.addLayer(feature_group_feature_group_0);
window.feature_group = window.feature_group || [];
window.feature_group.push(feature_group_feature_group_0);
"""


def values_script(values: MacroElement) -> str:
    """The component's ``feature_group`` argument for a feature group holding only ``values``
    (whose script draws nothing into the group itself), as ``st_folium`` writes it, from the
    element's own macro: ``st_folium`` renders the group first, and branca compiles every rendered
    part as a Jinja template of its own, which for the values of 3,321 communes costs more than
    the rest of the map."""
    return FEATURE_GROUP_HEAD + values._template.module.script(values, {}) + FEATURE_GROUP_TAIL


def draw_layers(owner: object, layers: Hashable, shapes: Callable[[], folium.Map],
                values: Callable[[], MacroElement], key: str, height: int,
                returned_objects: Sequence[str] = ()) -> Any:
    """Draw a map in two parts: the shapes part, built once per ``layers`` (whatever identifies
    the drawn shapes; maps of other periods or indicators of the same layers share it) and the
    values of ``owner`` (a read-only spec shared by the cache), made once per owner. The result is
    what :func:`draw` would send for ``(shapes(), a group holding values())``."""
    returned = tuple(returned_objects)
    base_key = ("layers", layers, key, height, returned)

    def build() -> dict[str, Any]:   # only for values not drawn before: the shapes part is looked up here
        with _flights.turn(base_key):   # sessions needing the same new shapes part: one renders it
            with _lock:
                base = _bases.get(base_key)
                if base is not None:
                    _bases.move_to_end(base_key)
            if base is None:
                base = arguments(shapes(), folium.FeatureGroup(name="values", control=False), key, height, returned)
                with _lock:
                    _bases[base_key] = base
                    while len(_bases) > MAX_SHAPES:
                        _bases.popitem(last=False)
        return base | {"feature_group": values_script(values())}

    return _draw_kwargs(owner, ("values", layers, key, height, returned), build)


def stats() -> dict[str, int]:
    """Maps built and reused so far (tests, benches)."""
    with _lock:
        bases = len(_bases)
    return {"built": _args.built, "reused": _args.reused, "kept": len(_args), "bases": bases}
