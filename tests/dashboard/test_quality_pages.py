"""Quality overview, one run's verdicts, big-screen mode and the run list's verdict badges, on demo data with
run 300000 as every subsystem's reference (300003 has the planted hot FastORs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import dash
import pytest
from dash import dcc
from dash.development.base_component import Component
from flask_login import login_user

from dashboard.auth import SessionUser
from dashboard.pages import quality, run_list
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, text, walk
from tests.dashboard.conftest import with_references


@pytest.fixture(scope="module")
def referenced_data(make_app_data: Callable[[], Path]) -> Path:
    return with_references(make_app_data())


@pytest.fixture
def render(make_app: Callable[..., dash.Dash], referenced_data: Path) -> Iterator[Callable[..., Component]]:
    app = make_app(referenced_data)
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield lambda layout, **params: layout(**params)


def links(node: object) -> dict[str, str]:
    return {text(c): c.href for c in walk(node) if isinstance(c, dcc.Link)}


def test_overview_cells_are_the_worst_verdicts_and_open_the_problems(
    render: Callable[..., Component],
) -> None:
    page = render(quality.layout)
    hot = text(by_id(page, "quality-row-300003"))
    assert hot.startswith("Run 300003")
    assert "Bad (" in hot
    assert text(by_id(page, "quality-row-300000")).count("Good") == 3
    targets = {href for href in links(by_id(page, "quality-row-300003")).values()}
    assert "/runs/300003/EMC?problems=1" in targets
    clean = [c.href for c in walk(by_id(page, "quality-row-300000")) if isinstance(c, dcc.Link)]
    assert "/runs/300000/EMC" in clean  # nothing wrong: the whole page
    assert "/quality?bigscreen=1" in links(page).values()


def test_one_run_lists_its_problems_first_with_the_messages(render: Callable[..., Component]) -> None:
    page = render(quality.run_layout, run="300003", subsystem="EMC")
    assert text(page).startswith("Run 300003 EMC: Bad")
    rows = [c for c in walk(by_id(page, "quality-histograms")) if type(c).__name__ == "Tr"][1:]  # no header
    assert text(rows[0]).startswith("Bad")
    assert links(rows[0]) == {"EMCTRQA_histFastORL0": "/runs/300003/EMC?hist=EMCTRQA_histFastORL0"}
    assert "fastor-hot: 3 channels above 0.01 per event (at most 0): 517, 2222, 3931" in text(rows[0])
    assert text(rows[-1]).startswith(("Good", "Null"))  # problems first
    assert "compared with the reference run 300000" in text(page)
    missing = render(quality.run_layout, run="300003", subsystem="XYZ")
    assert "unknown subsystem" in text(missing)


def test_big_screen_mode_has_no_controls_and_refreshes(render: Callable[..., Component]) -> None:
    page = render(quality.layout, bigscreen="1")
    assert page.id == "quality-bigscreen"
    assert page.style["position"] == "fixed"
    kinds = {type(c).__name__ for c in walk(page)}
    assert not kinds & {"Input", "Button", "Dropdown", "Checklist", "RadioItems"}
    assert by_id(page, quality.REFRESH).interval == quality.REFRESH_MS
    assert by_id(page, quality.MODE).data is True
    assert "Bad (" in text(page)


def test_run_list_shows_the_verdict_per_subsystem(render: Callable[..., Component]) -> None:
    table = run_list.run_table(1)
    hot, clean = text(by_id(table, "run-row-300003")), text(by_id(table, "run-row-300004"))
    assert "EMC Bad" in hot
    assert "EMC Good" in clean
    assert "/runs/300003/EMC/quality" in links(by_id(table, "run-row-300003")).values()


def test_quality_pages_need_login(make_app: Callable[..., dash.Dash], referenced_data: Path) -> None:
    client = make_app(referenced_data).server.test_client()
    for path in ("/quality", "/quality?bigscreen=1", "/runs/300003/EMC/quality"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
