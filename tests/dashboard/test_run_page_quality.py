"""The run page's quality: the reference run in the header and the experts' button that moves it (role checked
on the server), the groups' verdict badges, the "problems only" switch and the checks in the information
panels; on demo data with run 300000 as every subsystem's reference (300003 has the planted hot FastORs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dash
import pytest
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.pages import run_page
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.processing import Processor, open_services
from overwatch_core.quality import subsystem_quality
from overwatch_core.settings import load_settings
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.users import User, UserStore
from tests.dashboard.component_tree import by_class, by_id, hrefs, ids, text, walk
from tests.dashboard.conftest import APP_USER
from tests.dashboard.dash_http import fire

EXPERT = ("erin", "erin-pw", "expert")
HOT_RUN, CLEAN_RUN = 300003, 300004
FASTOR_L0 = "EMCTRQA_histFastORL0"


def _referenced(data: Path) -> Path:
    settings = load_settings(None, env={}, data_folder=str(data))
    processor = Processor(settings, *open_services(settings))
    catalog = processor.ingester.catalog
    for subsystem in settings.subsystems:
        catalog.set_reference(subsystem, 300000, 300000, "erin")
        processor.recheck(subsystem, 300000)
    UserStore(catalog, rounds=4).add(*EXPERT)
    return data


@pytest.fixture(scope="module")
def referenced_data(make_app_data: Callable[[], Path]) -> Path:
    """Read only: references set and rechecked, and an expert who can log in."""
    return _referenced(make_app_data())


@pytest.fixture
def fresh_data(make_app_data: Callable[[], Path]) -> Path:
    """A copy a test may change (the button sets references)."""
    return _referenced(make_app_data())


def render_as(app: dash.Dash, role: str, **params: str) -> Component:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User(f"a-{role}", role)))
        return run_page.layout(**params)


def client_as(
    app: dash.Dash, user: tuple[str, str, str], auth_login: Callable[..., TestResponse]
) -> FlaskClient:
    client = app.server.test_client()
    assert auth_login(client, user[0], user[1]).status_code == 302
    return client


def context(run_number: int, subsystem: str = "EMC") -> dict[str, object]:
    return {"run": run_number, "subsystem": subsystem, "group": None, "hist": None, "request": None}


# --- the reference run in the header ---------------------------------------------------------------------


def test_the_header_names_the_reference_and_only_experts_get_the_button(
    make_app: Callable[..., dash.Dash], referenced_data: Path
) -> None:
    app = make_app(referenced_data)
    for role in ("shifter", "expert", "admin"):
        page = render_as(app, role, run=str(HOT_RUN), subsystem="EMC")
        assert text(by_id(page, run_page.REFERENCE)) == "Reference: run 300000 (set by erin)"
        assert (run_page.MAKE_REFERENCE in ids(page)) == (role != "shifter"), role
        if role != "shifter":
            assert text(by_id(page, run_page.MAKE_REFERENCE)) == "Make this run the reference from now on"


def test_a_subsystem_without_reference_says_so(
    make_app: Callable[..., dash.Dash], make_app_data: Callable[[], Path]
) -> None:
    page = render_as(make_app(make_app_data()), "shifter", run=str(HOT_RUN), subsystem="EMC")
    assert text(by_id(page, run_page.REFERENCE)) == "No reference run"


def test_a_shifter_posting_the_callback_is_refused_and_nothing_changes(
    make_app: Callable[..., dash.Dash], fresh_data: Path, auth_login: Callable[..., TestResponse]
) -> None:
    app = make_app(fresh_data)
    client = client_as(app, APP_USER, auth_login)
    response = fire(
        client, f"{run_page.MAKE_REFERENCE}.n_clicks", {f"{run_page.QUERY}.data": context(CLEAN_RUN)}
    )
    assert response.status_code == 403
    assert response.get_json() == {"error": "This needs the expert role"}
    settings = load_settings(None, env={}, data_folder=str(fresh_data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    assert catalog.reference_for("EMC", CLEAN_RUN).reference_run == 300000  # type: ignore[union-attr]
    catalog.close()


def test_an_expert_makes_the_run_the_reference_and_the_verdicts_are_rechecked(
    make_app: Callable[..., dash.Dash], fresh_data: Path, auth_login: Callable[..., TestResponse]
) -> None:
    app = make_app(fresh_data)
    client = client_as(app, EXPERT, auth_login)
    response = fire(
        client, f"{run_page.MAKE_REFERENCE}.n_clicks", {f"{run_page.QUERY}.data": context(HOT_RUN)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    assert answer[run_page.REFERENCE]["children"] == f"Reference: run {HOT_RUN} (set by erin)"
    confirmation = str(answer[run_page.REFERENCE_STATUS]["children"])
    assert f"Run {HOT_RUN} is now the EMC reference for runs from {HOT_RUN} on" in confirmation
    settings = load_settings(None, env={}, data_folder=str(fresh_data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    ref = catalog.reference_for("EMC", HOT_RUN)
    assert ref is not None
    assert (ref.reference_run, ref.valid_from, ref.set_by) == (HOT_RUN, HOT_RUN, "erin")
    assert catalog.reference_for("EMC", 300000).reference_run == 300000  # type: ignore[union-attr]
    # The verdict summary now names the new reference.
    verdict = subsystem_quality(catalog, HOT_RUN, "EMC")
    assert verdict.reference_run == HOT_RUN
    catalog.close()


# --- verdicts on the run page ------------------------------------------------------------------------------


def sidebar_of(page: Component) -> Component:
    return by_id(page, {"type": run_page.PART, "name": run_page.SIDEBAR})


def group_badges(page: Component) -> dict[str, str]:
    """Group name → its verdict badge's text, from the sidebar."""
    found = {}
    for entry in by_class(sidebar_of(page), "sidebar-entry"):
        badges = by_class(entry, "group-verdict")
        if badges:
            (link,) = [c for c in walk(entry) if type(c).__name__ == "Link"]
            assert text(link) == text(by_class(link, "sidebar-name")[0]), "the link's text is the name"
            found[text(link)] = text(badges[0])
    return found


def cards(page: Component) -> dict[str, Component]:
    """Histogram name → its card in the main area."""
    main = by_id(page, run_page.MAIN)
    return {
        c.id["name"]: c
        for c in walk(main)
        if isinstance(getattr(c, "id", None), dict) and c.id.get("type") == run_page.INFO
    }


def test_groups_carry_their_worst_verdict(make_app: Callable[..., dash.Dash], referenced_data: Path) -> None:
    app = make_app(referenced_data)
    hot = group_badges(render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC"))
    assert any(v.startswith("Bad") for v in hot.values()), hot
    fastor_group = next(g for g, v in hot.items() if v.startswith("Bad"))
    clean = group_badges(render_as(app, "shifter", run=str(CLEAN_RUN), subsystem="EMC"))
    assert not clean[fastor_group].startswith("Bad"), clean
    sidebar = text(sidebar_of(render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC")))
    assert sidebar.count("Bad") >= 2  # the group and its Bad histogram


def test_problems_only_shows_the_bad_and_medium_histograms_of_all_groups(
    make_app: Callable[..., dash.Dash], referenced_data: Path
) -> None:
    app = make_app(referenced_data)
    page = render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC", problems="1")
    assert not [c for c in walk(page) if "Ignored unknown parameter" in str(getattr(c, "children", ""))]
    shown = cards(page)
    with app.server.test_request_context("/"):
        verdict = subsystem_quality(run_page.services().catalog, HOT_RUN, "EMC")
    assert set(shown) == {h.name for h in verdict.problems}
    assert FASTOR_L0 in shown
    assert by_id(page, run_page.QUERY).data["problems"] is True
    # The links keep the switch, and the switch turns it off again.
    assert all("problems=1" in h for h in hrefs(sidebar_of(page)))
    switch = by_id(page, run_page.PROBLEMS)
    assert switch.href == f"/runs/{HOT_RUN}/EMC"
    off = render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC")
    assert by_id(off, run_page.PROBLEMS).href == f"/runs/{HOT_RUN}/EMC?problems=1"
    clean = render_as(app, "shifter", run=str(CLEAN_RUN), subsystem="EMC", problems="1")
    assert "No Bad or Medium histograms" in text(by_id(clean, run_page.MAIN))


def test_problems_only_within_one_group(make_app: Callable[..., dash.Dash], referenced_data: Path) -> None:
    app = make_app(referenced_data)
    full = render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC")
    fastor_group = next(g for g, v in group_badges(full).items() if v.startswith("Bad"))
    every = cards(render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC", group=fastor_group))
    only = cards(
        render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC", group=fastor_group, problems="1")
    )
    assert FASTOR_L0 in only
    assert set(only) < set(every)


def test_the_information_panel_lists_the_checks(
    make_app: Callable[..., dash.Dash], referenced_data: Path
) -> None:
    app = make_app(referenced_data)
    page = render_as(app, "shifter", run=str(HOT_RUN), subsystem="EMC", hist=FASTOR_L0)
    row = by_id(page, {"type": run_page.INFO_ROW, "name": FASTOR_L0, "label": run_page.CHECKS})
    assert text(row).startswith("Checks: ")
    assert "fastor-hot: 3 channels above 0.01 per event (at most 0): 517, 2222, 3931" in text(row)
    assert "Bad" in text(row)


def test_a_time_slice_shows_its_own_checks(make_app: Callable[..., dash.Dash], referenced_data: Path) -> None:
    """Minutes 0–4 come before the hot FastORs start firing: the slice's own checks find none."""
    app = make_app(referenced_data)
    params = {"run": str(HOT_RUN), "subsystem": "EMC", "hist": FASTOR_L0}
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("a-shifter", "shifter")))
        request = TimeSliceRequest(0, 4, True, 0)
        run_page.services().views.time_slice(HOT_RUN, "EMC", request)  # computed, as the background job would
        expected = run_page.services().views.slice_checks(HOT_RUN, "EMC", request)[FASTOR_L0]
        page = run_page.layout(**params, **{"from": "0", "to": "4", "threshold": "0", "scale": "1"})
    assert expected
    row = text(by_id(page, {"type": run_page.INFO_ROW, "name": FASTOR_L0, "label": run_page.CHECKS}))
    for result in expected:
        assert f"{result.check}: {result.message}" in row
    assert "517, 2222, 3931" not in row
