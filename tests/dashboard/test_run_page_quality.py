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
from overwatch_core.users import User, UserStore
from tests.dashboard.component_tree import by_id, ids, text
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
