"""The header search: histograms of the run page's subsystem by name or pretty name (fuzzy); runs by number.

The scoring is a small subsequence matcher (as editors' "go to file"): every character of a query word
must appear in order; contiguous runs, word starts and an early match score higher, a plain substring
highest. It is pure, so the callback (``callbacks/search.py``) only unpacks the page and lays out hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from dash import dcc, html

from dashboard.reference_overlay import KEYS as COMPARE_KEYS
from dashboard.time_slice_panel import SLICE_KEYS

#: What a histogram found by the search keeps of the page's address: the time slice, "problems only" and
#: the reference switches (as run_page.PAGE_KEYS, which this module cannot import: the page imports it).
KEPT_KEYS = (*SLICE_KEYS, "problems", *COMPARE_KEYS)

INPUT = "search-input"
#: What the search asks the server: the text and the page it was typed on (written in the browser, which
#: knows the address a time slice shown in place pushed; ``dcc.Location`` does not).
REQUEST = "search-request"
RESULTS = "search-results"
#: Results shown at most.
LIMIT = 20

_RUN_PATH = re.compile(r"^/runs/(\d+)/([^/]+)")
_WORD_START = re.compile(r"(?:^|[\s_/.\-(\[])(.)|(?<=[a-z])([A-Z])|(?<=[A-Za-z])(\d)")


@dataclass(frozen=True)
class Hit:
    """One result: what it shows, a muted detail (the group, the subsystems) and where it goes."""

    label: str
    detail: str
    href: str


def word_starts(text: str) -> frozenset[int]:
    """Indices where a word starts: after a separator, a lower→upper change (camelCase) or letters→digits."""
    starts = {0}
    for match in _WORD_START.finditer(text):
        group = next(g for g in (1, 2, 3) if match.group(g) is not None)
        starts.add(match.start(group))
    return frozenset(starts)


def word_score(word: str, text: str) -> float | None:
    """How well one query word matches ``text`` (None: not every character appears in order)."""
    low, query = text.lower(), word.lower()
    at = low.find(query)
    if at >= 0:
        return 100.0 + 10 * (at in word_starts(text)) - at * 0.5 + 5 * (len(query) == len(low))
    starts, score, position, previous = word_starts(text), 0.0, 0, -2
    for char in query:
        position = low.find(char, position)
        if position < 0:
            return None
        score += 3 if position == previous + 1 else (2 if position in starts else 0.5)
        previous, position = position, position + 1
    return score * 50 / (3 * len(query)) - previous * 0.1


def score(query: str, text: str) -> float | None:
    """Every word of ``query`` must match ``text``; the score is their sum (None: no match)."""
    total = 0.0
    for word in query.split():
        found = word_score(word, text)
        if found is None:
            return None
        total += found
    return total


@dataclass(frozen=True)
class Entry:
    """A histogram that can be found: its name, pretty name and group."""

    name: str
    pretty_name: str
    group: str


def find_histograms(query: str, entries: Iterable[Entry], limit: int = LIMIT) -> list[Entry]:
    """The best matches by name or pretty name, best first (ties in page order), at most ``limit``."""
    if not query.strip():
        return []
    scored = []
    for order, entry in enumerate(entries):
        found = [s for s in (score(query, entry.name), score(query, entry.pretty_name)) if s is not None]
        if found:
            scored.append((-max(found), order, entry))
    return [entry for *_, entry in sorted(scored, key=lambda item: item[:2])[:limit]]


def find_runs(digits: str, run_numbers: Sequence[int], limit: int = LIMIT) -> list[int]:
    """Runs whose number contains ``digits``: the run itself, then those starting so, then the rest, newest
    first within each."""
    digits = digits.strip()
    if not digits.isdigit():
        return []
    found = [n for n in run_numbers if digits in str(n)]
    found.sort(key=lambda n: (str(n) != digits, not str(n).startswith(digits), -n))
    return found[:limit]


@dataclass(frozen=True)
class Place:
    """The run page the search was typed on (None elsewhere) and the query values it keeps (KEPT_KEYS)."""

    run_number: int | None
    subsystem: str | None
    slice_query: tuple[tuple[str, str], ...] = ()


def place_of(path: str, query: str) -> Place:
    match = _RUN_PATH.match(path or "")
    if match is None:
        return Place(None, None)
    kept = tuple((k, v) for k, v in parse_qsl((query or "").lstrip("?")) if k in KEPT_KEYS)
    return Place(int(match.group(1)), match.group(2), kept)


def histogram_href(place: Place, name: str) -> str:
    """The run page of ``name``, keeping the time slice and switches the page shows."""
    return f"/runs/{place.run_number}/{place.subsystem}?" + urlencode((*place.slice_query, ("hist", name)))


def run_href(run_number: int, subsystems: Sequence[str], preferred: str | None) -> str:
    """A run's page of the subsystem being looked at if it has that one, else of its first subsystem."""
    chosen = preferred if preferred in subsystems else (subsystems[0] if subsystems else None)
    return f"/runs/{run_number}/{chosen}" if chosen else "/"


def results_list(hits: Sequence[Hit], query: str) -> list[object]:
    """The dropdown items: links (the first marked, Enter opens the marked one), or a 'nothing found' line."""
    if not query.strip():
        return []
    if not hits:
        return [html.Span("Nothing found", className="dropdown-item-text text-muted small")]
    return [
        dcc.Link(
            [
                html.Span(hit.label, className="search-label"),
                html.Small(hit.detail, className="text-muted ms-2"),
            ],
            href=hit.href,
            className="dropdown-item search-hit" + (" active" if i == 0 else ""),
        )
        for i, hit in enumerate(hits)
    ]


def search_box() -> html.Div:
    """The header's search box and its result list (``assets/keyboard.js`` drives the keys)."""
    return html.Div(
        [
            dcc.Input(
                id=INPUT,
                type="search",
                placeholder="Search histograms, runs (/)",
                debounce=False,
                autoComplete="off",
                className="form-control form-control-sm",
            ),
            html.Label(
                "Search histograms of this subsystem, or runs by number",
                htmlFor=INPUT,
                className="visually-hidden",
            ),
            dcc.Store(id=REQUEST),
            html.Div(id=RESULTS, className="dropdown-menu search-results", role="listbox"),
        ],
        className="ow-search position-relative me-3",
    )
