"""The header search: the browser sends the text with the page it was typed on, the server answers the hits.

A plain (not background) callback: a search reads the catalog and one cached full-run view, a few
milliseconds. Like every ``/_dash-*`` request it needs a login (``dashboard/auth/guard.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output

from dashboard import search
from dashboard.services import services
from overwatch_core.errors import OverwatchError

log = logging.getLogger(__name__)

#: (data folder, run, subsystem, newest file) → the findable histograms of that full-run view.
_ENTRIES: dict[tuple[str, int, str, str], tuple[search.Entry, ...]] = {}
_ENTRIES_KEPT = 32


def histogram_entries(run_number: int, subsystem: str) -> tuple[search.Entry, ...]:
    """Every histogram of the run's subsystem, in page order, kept per newest file (a new one re-lists)."""
    svc = services()
    sub = svc.catalog.run(run_number).subsystem(subsystem)
    newest = sub.files[-1].path if sub.files else ""
    key = (str(svc.settings.data_path), run_number, subsystem, newest)
    if key not in _ENTRIES:
        view = svc.views.full_run(run_number, subsystem)
        if len(_ENTRIES) >= _ENTRIES_KEPT:
            _ENTRIES.pop(next(iter(_ENTRIES)))
        _ENTRIES[key] = tuple(
            search.Entry(h.name, h.pretty_name, g.name) for g in view.groups for h in g.histograms
        )
    return _ENTRIES[key]


def run_hits(query: str, place: search.Place) -> list[search.Hit]:
    numbers = search.find_runs(query, services().catalog.run_numbers())
    names = services().catalog.subsystem_names(numbers)
    return [
        search.Hit(
            f"Run {n}", ", ".join(names.get(n, [])), search.run_href(n, names.get(n, []), place.subsystem)
        )
        for n in numbers
    ]


def histogram_hits(query: str, place: search.Place) -> list[search.Hit]:
    if place.run_number is None or place.subsystem is None:
        return []
    try:
        entries = histogram_entries(place.run_number, place.subsystem)
    except OverwatchError:
        log.info("search: no histograms for run %s %s", place.run_number, place.subsystem)
        return []
    found = search.find_histograms(query, entries)
    return [
        search.Hit(e.pretty_name, f"{e.group} · {e.name}", search.histogram_href(place, e.name))
        for e in found
    ]


def answer(request: dict[str, Any] | None) -> tuple[list[object], str]:
    """The result list and its class (shown only with something in it)."""
    request = request or {}
    query = str(request.get("q") or "")[:200]
    place = search.place_of(str(request.get("path") or ""), str(request.get("search") or ""))
    hits = run_hits(query, place) + histogram_hits(query, place)
    items = search.results_list(hits[: search.LIMIT], query)
    return items, "dropdown-menu search-results" + (" show" if items else "")


def register(app: dash.Dash) -> None:
    app.clientside_callback(
        ClientsideFunction("overwatch", "searchRequest"),
        Output(search.REQUEST, "data"),
        Input(search.INPUT, "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(search.RESULTS, "children"),
        Output(search.RESULTS, "className"),
        Input(search.REQUEST, "data"),
        prevent_initial_call=True,
    )
    def results(request: dict[str, Any] | None) -> tuple[list[object], str]:
        return answer(request)
