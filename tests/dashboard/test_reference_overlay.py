"""The run page against the reference run: 1D overlay normalised to the same events or integral with a ratio
panel, 2D ratio and difference maps, the switches in the URL; expected values computed here with numpy from
the raw histograms and event counts, not taken from the drawing code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import numpy as np
import plotly.graph_objects as go
import pytest
from dash.development.base_component import Component
from flask_login import login_user

from dashboard.auth import SessionUser
from dashboard.callbacks import time_slices
from dashboard.figures import reference
from dashboard.pages import run_page
from dashboard.reference_overlay import Compare, with_compare
from overwatch_core.model import Histogram
from overwatch_core.subsystems.base import DisplayOptions, Layer, ProcessedHistogram
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, hrefs, ids, text, walk
from tests.dashboard.conftest import with_references

REFERENCE_RUN, HOT_RUN, CLEAN_RUN = 300000, 300003, 300004
FASTOR_L0 = "EMCTRQA_histFastORL0"


# --- the drawing, on histograms made here ------------------------------------------------------------------


def hist_1d(values: list[float], name: str = "h", edges: np.ndarray | None = None) -> Histogram:
    array = np.asarray(values, dtype=float)
    return Histogram(
        name,
        "TH1D",
        array,
        array.copy(),
        (np.arange(array.size + 1, dtype=float) if edges is None else edges,),
        axis_titles=("x title", "counts"),
    )


def processed(hist: Histogram) -> ProcessedHistogram:
    return ProcessedHistogram(
        hist.name, "Pretty", (Layer("data", hist),), DisplayOptions(), {}, hist.root_class
    )


def traces_on(fig: go.Figure, axis: str) -> list[Any]:
    return [t for t in fig.data if (t.yaxis or "y") == axis]


def test_overlay_draws_the_scaled_reference_and_the_ratio_with_its_errors() -> None:
    data = hist_1d([4, 9, 0, 16])
    ref = hist_1d([2, 3, 5, 0])
    fig = reference.compared_figure(
        processed(data), reference.Against(ref, 2.0, "reference run 1 (same events)")
    )
    assert fig.layout.meta["kind"] == "stack"
    assert fig.layout.yaxis.domain == (0.3, 1.0)
    assert fig.layout.yaxis3.domain[0] == 0.0
    assert fig.layout.xaxis3.matches == "x", "zoom moves both panels"
    names = {t.name for t in fig.data}
    assert "reference run 1 (same events)" in names
    assert "this run" in names
    reference_y = next(t.y for t in fig.data if t.name == "reference run 1 (same events)" and t.hovertemplate)
    np.testing.assert_allclose(np.asarray(reference_y, dtype=float), [4, 6, 10, 0])
    (ratio,) = traces_on(fig, "y3")
    expected = np.array([4 / 4, 9 / 6, 0 / 10, np.nan])
    np.testing.assert_allclose(np.asarray(ratio.y, dtype=float), expected, rtol=1e-6)
    # σ(r) for uncorrelated Poisson counts: r·sqrt(1/d + 1/(2·ref)) with the reference scaled by 2
    # (variance 4·ref), i.e. sqrt(d/R² + d²·4·ref/R⁴) for R = 2·ref.
    d, r_raw = np.array([4, 9, 0]), np.array([2, 3, 5])
    big_r = 2 * r_raw
    sigma = np.sqrt(d / big_r**2 + d**2 * 4 * r_raw / big_r**4)
    np.testing.assert_allclose(np.asarray(ratio.error_y.array, dtype=float)[:3], sigma, rtol=1e-6)
    assert any(s.yref == "y3" and s.y0 == 1 for s in fig.layout.shapes), "a line at ratio 1"
    go.Figure(fig.to_dict())  # plotly's own validation accepts what we built without it


def test_different_binning_is_refused_with_the_reason() -> None:
    data = hist_1d([1, 2, 3])
    with pytest.raises(reference.Incomparable, match="3 bins here, 4 in the reference"):
        reference.compared_figure(processed(data), reference.Against(hist_1d([1, 2, 3, 4]), 1.0, "ref"))
    shifted = hist_1d([1, 2, 3], edges=np.array([0.0, 1, 2, 3.5]))
    with pytest.raises(reference.Incomparable, match="bin edges on axis x"):
        reference.compared_figure(processed(data), reference.Against(shifted, 1.0, "ref"))


def map_hist(values: np.ndarray) -> Histogram:
    nx, ny = values.shape
    return Histogram(
        "m", "TH2D", values, values.copy(), (np.arange(nx + 1.0), np.arange(ny + 1.0)), axis_titles=("x", "y")
    )


@pytest.mark.parametrize("view", ["ratio", "difference"])
def test_maps_against_the_reference_merge_before_they_divide(view: str) -> None:
    rng = np.random.default_rng(7)
    data = rng.poisson(20, (300, 200)).astype(float)
    ref = rng.poisson(10, (300, 200)).astype(float) + 1
    fig = reference.compared_figure(
        processed(map_hist(data)), reference.Against(map_hist(ref), 2.0, "reference run 1"), map_view=view
    )
    (heat,) = [t for t in fig.data if t.type == "heatmap"]
    assert heat.zmid == (1.0 if view == "ratio" else 0.0)
    factors = fig.layout.meta["downsampled"]["factors"]
    fx, fy = factors
    merged = data.reshape(300 // fx, fx, 200 // fy, fy).sum(axis=(1, 3))
    merged_ref = 2 * ref.reshape(300 // fx, fx, 200 // fy, fy).sum(axis=(1, 3))
    expected = merged / merged_ref if view == "ratio" else merged - merged_ref
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), expected.T, rtol=1e-5)
    assert fig.layout.meta["reference"]["map_view"] == view
    assert any(view[:5] in a.text for a in fig.layout.annotations)


def test_compare_switches_round_trip_through_the_url() -> None:
    compare, problems = Compare.from_params({"ref": "1", "refnorm": "integral", "refmap": "ratio"})
    assert problems == []
    assert compare == Compare(True, "integral", "ratio")
    assert (
        with_compare("/runs/1/EMC?group=G", compare)
        == "/runs/1/EMC?group=G&ref=1&refnorm=integral&refmap=ratio"
    )
    assert Compare.from_context({"compare": compare.as_context()}) == compare
    assert with_compare("/runs/1/EMC", Compare()) == "/runs/1/EMC"
    odd, problems = Compare.from_params({"ref": "maybe", "refnorm": "peak", "refmap": "sum"})
    assert odd == Compare()
    assert len(problems) == 3
    assert "refnorm='peak'" in problems[1]


# --- on the run page, with run 300000 as the reference ---------------------------------------------------


@pytest.fixture(scope="module")
def referenced(make_app_data: Callable[[], Path]) -> Path:
    return with_references(make_app_data(), REFERENCE_RUN)


def render(app: dash.Dash, **params: str) -> Component:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("a-shifter", "shifter")))
        return run_page.layout(**params)


def figure_of(page: Component, name: str) -> go.Figure:
    (graph,) = [c for c in walk(page) if getattr(c, "id", None) == {"type": run_page.GRAPH, "name": name}]
    return graph.figure


def raw(app: dash.Dash, run_number: int, request: TimeSliceRequest | None = None) -> tuple[np.ndarray, float]:
    with app.server.test_request_context("/"):
        hists, n_events = run_page.services().views.raw_histograms(run_number, "EMC", request)
    assert n_events
    return hists[FASTOR_L0].values.astype(float), float(n_events)


def overlay_arrays(fig: go.Figure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data, reference, ratio) as drawn: the hover traces of the two layers and the ratio panel."""
    layers = [t for t in fig.data if (t.yaxis or "y") == "y" and t.hovertemplate and t.name]
    by_name = {t.name: np.asarray(t.y, dtype=float) for t in layers}
    (ratio,) = traces_on(fig, "y3")
    ref_name = next(n for n in by_name if n.startswith("reference run"))
    return by_name["this run"], by_name[ref_name], np.asarray(ratio.y, dtype=float)


def test_the_overlay_is_normalised_to_the_same_events(
    make_app: Callable[..., dash.Dash], referenced: Path
) -> None:
    app = make_app(referenced)
    page = render(app, run=str(HOT_RUN), subsystem="EMC", hist=FASTOR_L0, ref="1")
    fig = figure_of(page, FASTOR_L0)
    shown, ref, ratio = overlay_arrays(fig)
    counts, n_shown = raw(app, HOT_RUN)
    ref_counts, n_ref = raw(app, REFERENCE_RUN)
    # EMC is drawn per event: this run's counts / its events, the reference's / its events.
    np.testing.assert_allclose(shown, counts / n_shown, rtol=1e-5)
    np.testing.assert_allclose(ref, ref_counts / n_ref, rtol=1e-5)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(ref_counts > 0, (counts / n_shown) / (ref_counts / n_ref), np.nan)
    np.testing.assert_allclose(ratio, expected, rtol=1e-4)
    assert np.nanmax(ratio) > 5, "the planted hot FastORs stand out in the ratio"
    assert "same events" in fig.layout.meta["reference"]["label"]


def test_integral_normalisation_gives_the_reference_the_same_sum(
    make_app: Callable[..., dash.Dash], referenced: Path
) -> None:
    app = make_app(referenced)
    page = render(app, run=str(CLEAN_RUN), subsystem="EMC", hist=FASTOR_L0, ref="1", refnorm="integral")
    shown, ref, _ = overlay_arrays(figure_of(page, FASTOR_L0))
    assert np.nansum(ref) == pytest.approx(np.nansum(shown), rel=1e-5)
    assert by_id(page, run_page.QUERY).data["compare"] == {
        "overlay": True,
        "norm": "integral",
        "maps": "data",
    }


def test_switches_are_links_that_keep_the_rest_of_the_state(
    make_app: Callable[..., dash.Dash], referenced: Path
) -> None:
    app = make_app(referenced)
    off = render(app, run=str(HOT_RUN), subsystem="EMC", problems="1")
    assert by_id(off, run_page.OVERLAY).href == f"/runs/{HOT_RUN}/EMC?problems=1&ref=1"
    assert "run 300000" in by_id(off, run_page.OVERLAY).title
    on = render(app, run=str(HOT_RUN), subsystem="EMC", problems="1", ref="1", refmap="difference")
    assert text(by_id(on, run_page.OVERLAY)) == "Reference overlay: on"
    assert by_id(on, run_page.OVERLAY).href == f"/runs/{HOT_RUN}/EMC?problems=1&refmap=difference"
    sidebar = hrefs(by_id(on, {"type": run_page.PART, "name": run_page.SIDEBAR}))
    assert sidebar
    assert all("ref=1" in h and "refmap=difference" in h for h in sidebar)
    assert "ref=1" in by_id(on, run_page.QUERY).data["href"]
    assert not [c for c in walk(on) if "Ignored" in str(getattr(c, "children", ""))]
    bad = render(app, run=str(HOT_RUN), subsystem="EMC", refmap="sum")
    assert "Ignored refmap='sum'" in text(bad)


def test_maps_show_the_ratio_to_the_reference(make_app: Callable[..., dash.Dash], referenced: Path) -> None:
    app = make_app(referenced)
    page = render(app, run=str(HOT_RUN), subsystem="EMC", ref="1", refmap="ratio")
    heatmaps = [
        c.figure
        for c in walk(page)
        if isinstance(getattr(c, "id", None), dict)
        and c.id.get("type") == run_page.GRAPH
        and any(t.type == "heatmap" for t in c.figure.data)
    ]
    lines = [
        c.figure
        for c in walk(page)
        if isinstance(getattr(c, "id", None), dict)
        and c.id.get("type") == run_page.GRAPH
        and not any(t.type == "heatmap" for t in c.figure.data)
    ]
    assert heatmaps or lines, "the first group draws something"
    for fig in heatmaps:
        assert fig.layout.meta.get("reference", {}).get("map_view") == "ratio" or any(
            "no reference comparison" in a.text for a in fig.layout.annotations
        )
    for fig in lines:
        assert fig.layout.yaxis3 is not None
        assert fig.layout.yaxis3.domain is not None


def test_without_a_reference_there_are_no_switches_and_plain_plots(
    make_app: Callable[..., dash.Dash], make_app_data: Callable[[], Path]
) -> None:
    app = make_app(make_app_data())
    page = render(app, run=str(HOT_RUN), subsystem="EMC", hist=FASTOR_L0, ref="1")
    assert run_page.OVERLAY not in ids(page)
    assert not traces_on(figure_of(page, FASTOR_L0), "y3")


def test_a_time_slice_is_compared_as_the_same_number_of_events(
    make_app: Callable[..., dash.Dash], referenced: Path
) -> None:
    """The slice's own events (a few minutes' worth) against the whole reference run: same events."""
    app = make_app(referenced)
    request = TimeSliceRequest(2, 5, True, 0)
    with app.server.test_request_context("/"):
        run_page.services().views.time_slice(HOT_RUN, "EMC", request)  # in the cache: the page shows it
    page = render(
        app,
        run=str(HOT_RUN),
        subsystem="EMC",
        hist=FASTOR_L0,
        ref="1",
        **{"from": "2", "to": "5", "threshold": "0"},
    )
    shown, ref, _ratio = overlay_arrays(figure_of(page, FASTOR_L0))
    counts, n_slice = raw(app, HOT_RUN, request)
    ref_counts, n_ref = raw(app, REFERENCE_RUN)
    np.testing.assert_allclose(shown, counts / n_slice, rtol=1e-5)
    np.testing.assert_allclose(ref, ref_counts / n_ref, rtol=1e-5)
    # The in-place slice's patch draws the same comparison (the page switches slices without a reload).
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("a-shifter", "shifter")))
        view = run_page.services().views.time_slice(HOT_RUN, "EMC", request)
        context = by_id(page, run_page.QUERY).data
        result = time_slices.in_place(view, context, [FASTOR_L0], source=None, push=False)
    patched = result["graphs"][FASTOR_L0]
    assert "ref=1" in result["href"]
    operations = patched["operations"]
    data = next(op for op in operations if op["location"] == ["data"])["params"]["value"]
    assert any(t.get("yaxis") == "y3" for t in data), "the ratio panel comes with the patch"


def test_a_lazy_plot_is_drawn_against_the_reference_too(
    make_app: Callable[..., dash.Dash], referenced: Path
) -> None:
    app = make_app(referenced)
    context = {
        "run": HOT_RUN,
        "subsystem": "EMC",
        "request": None,
        "compare": Compare(overlay=True).as_context(),
    }
    with app.server.test_request_context("/"):
        (graph, _menu), _info = run_page.lazy_card(context, FASTOR_L0)
    assert traces_on(graph.figure, "y3")
