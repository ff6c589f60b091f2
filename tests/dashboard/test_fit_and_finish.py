"""Issue 12 item 7: controls that apply to the subsystem only, times that name their zone, the ongoing run's
file age, and the demo's boxed logins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import dash
import pytest
from dash.development.base_component import Component
from flask_login import login_user

from dashboard import time_slice_panel as ts
from dashboard.auth import SessionUser
from dashboard.pages import run_page
from dashboard.services import services
from overwatch_core.cli import demo_banner
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import RaisedAlarm
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, text

Render = Callable[..., Component]


@pytest.fixture
def render(app: dash.Dash) -> Iterator[Render]:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield lambda **params: run_page.layout(**params)


@pytest.mark.parametrize(("subsystem", "shown"), [("EMC", True), ("HLT", False), ("TPC", False)])
def test_threshold_only_where_there_are_hot_channels(render: Render, subsystem: str, shown: bool) -> None:
    page = render(run="300003", subsystem=subsystem)
    column = by_id(page, ts.THRESHOLD_COLUMN)
    assert (column.style is None) is shown
    assert by_id(page, ts.THRESHOLD) is not None, "kept in the page: the slice callbacks read it"
    assert get_subsystem(subsystem).uses_hot_channel_threshold is shown


def test_descriptions_name_the_threshold_only_where_it_applies(app: dash.Dash) -> None:
    with app.server.test_request_context("/"):
        views = services().views
        assert views.full_run(300003, "EMC").describe().endswith(", threshold default")
        assert "threshold" not in views.full_run(300003, "HLT").describe()


def test_an_ongoing_run_says_how_old_its_newest_file_is(
    render: Render, app: dash.Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.server.test_request_context("/"):
        svc = services()
        newest = svc.catalog.run(300004).subsystem("EMC").end
    assert newest is not None
    monkeypatch.setattr(type(svc), "now", lambda _self: newest + timedelta(seconds=150))
    page = render(run="300004", subsystem="EMC")
    line = text(by_id(page, run_page.NEWEST_FILE))
    assert line == f"Newest file received at {newest:%H:%M:%S} (Europe/Zurich), 2 min ago."
    assert by_id(page, run_page.FILE_AGE).to_plotly_json()["props"]["data-file-time"] == str(
        int(newest.timestamp() * 1000)
    )
    assert text(by_id(render(run="300003", subsystem="EMC"), run_page.NEWEST_FILE)) == "", "not ongoing"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(-3, "0 s"), (42, "42 s"), (61, "1 min"), (7500, "2 h 5 min")]
)
def test_age_text(seconds: float, shown: str) -> None:
    assert run_page.age_text(seconds) == shown


def test_alarm_times_name_the_zone(app: dash.Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.server.test_request_context("/"):
        moment = services().catalog.run(300003).subsystem("EMC").end
        assert moment is not None
        raised = [RaisedAlarm("EMC", "mean", moment, "mean above 3")]
        monkeypatch.setattr(run_page, "raised_alarms", lambda *_args: raised)
        panel = run_page.alarms_panel(300003, "EMC")
    assert "(latest per trend; times in Europe/Zurich)" in text(panel)
    assert f"{moment:%H:%M:%S} mean above 3" in text(panel)


def test_demo_banner_is_a_box_with_the_logins_last() -> None:
    box = demo_banner("http://127.0.0.1:8050", {"sam": "pw1", "adam": "pw2"}, 300010, 6)
    lines = box.splitlines()
    assert lines[0] == lines[-1]
    assert set(lines[0]) == {"+", "-"}
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[1:-1])
    assert len({len(line) for line in lines}) == 1, "every line as wide"
    assert "http://127.0.0.1:8050" in lines[1]
    assert any("'sam' with password 'pw1'" in line for line in lines)
