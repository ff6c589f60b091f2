"""The page shell: a page load gets the requested page inside the layout (no router round trip)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlsplit

import dash
import pytest
from flask.testing import FlaskClient

from dashboard import shell
from tests.dashboard.dash_http import router

RUN = 300003
#: Addresses as a browser shows them (percent-encoded), over the pages a shifter opens most.
ADDRESSES = [
    "/",
    f"/runs/{RUN}/EMC",
    f"/runs/{RUN}/EMC?group=FastOR",
    f"/runs/{RUN}/EMC?group={quote('EMCal cluster level')}&problems=1",
    f"/runs/{RUN}/HLT",
    f"/runs/{RUN}/EMC?min=1&max=3",
    "/quality",
    "/trending",
    "/runs/999999/EMC",  # an unknown run: the page's own "not found" card
]


def find(node: Any, wanted: str) -> dict[str, Any]:
    """The component with id ``wanted`` in a layout as JSON."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == wanted:
            return node
        children = node.get("props", {}).get("children") if "props" in node else None
        for child in [children] if children is not None else node.values():
            found = find(child, wanted) if isinstance(child, dict | list) else None
            if found:
                return found
    elif isinstance(node, list):
        for child in node:
            found = find(child, wanted)
            if found:
                return found
    return {}


def layout_for(client: FlaskClient, referrer: str | None) -> dict[str, Any]:
    headers = {"Referer": referrer} if referrer else {}
    response = client.get("/_dash-layout", headers=headers)
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def content_of(layout: dict[str, Any]) -> Any:
    return find(layout, "_pages_content")["props"].get("children")


def as_json(node: Any) -> str:
    return json.dumps(node, sort_keys=True)


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_layout_request_carries_the_page_the_router_would_render(
    logged_in_client: FlaskClient, address: str
) -> None:
    layout = layout_for(logged_in_client, f"http://localhost{address}")
    answer = router(logged_in_client, address)
    assert answer.status_code == 200
    routed = answer.get_json()["response"]
    assert content_of(layout) is not None, "the page is in the layout"
    assert as_json(content_of(layout)) == as_json(routed["_pages_content"]["children"])
    assert find(layout, "_pages_store")["props"]["data"] == routed["_pages_store"]["data"], "the title"


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_location_holds_the_address_as_the_browser_has_it(
    logged_in_client: FlaskClient, address: str
) -> None:
    """On mount ``dcc.Location`` reports only what differs from these props, so the router stays quiet."""
    parts = urlsplit(address)
    location = find(layout_for(logged_in_client, f"http://localhost{address}"), "_pages_location")["props"]
    assert location["pathname"] == parts.path
    assert location["search"] == (f"?{parts.query}" if parts.query else "")
    assert location["refresh"] == "callback-nav", "links still navigate without a page load"


@pytest.mark.parametrize(
    "referrer",
    [
        None,  # no Referer (a privacy setting, a proxy): the router renders the page as before
        f"http://elsewhere.example/runs/{RUN}/EMC",  # another site's page is never rendered for it
        "http://localhost/no/such/page",  # not a page: the router's 404 page
        "http://localhost",  # no path at all
    ],
)
def test_without_a_known_page_of_this_host_the_router_renders_it(
    logged_in_client: FlaskClient, referrer: str | None
) -> None:
    layout = layout_for(logged_in_client, referrer)
    assert content_of(layout) is None
    assert "pathname" not in find(layout, "_pages_location")["props"], "Location reports the address on mount"


def test_a_page_that_fails_is_left_to_the_router(
    logged_in_client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (page,) = [p for p in dash.page_registry.values() if p["module"] == "quality"]

    def broken(**_params: object) -> None:
        raise RuntimeError("catalog gone")

    monkeypatch.setitem(page, "layout", broken)
    with caplog.at_level(logging.WARNING, logger=shell.log.name):
        layout = layout_for(logged_in_client, "http://localhost/quality")
    assert content_of(layout) is None, "the page load still works; the router then shows the error"
    assert "page /quality not rendered with the layout" in caplog.text


def test_the_layout_still_needs_a_login(app_client: FlaskClient) -> None:
    response = app_client.get("/_dash-layout", headers={"Referer": f"http://localhost/runs/{RUN}/EMC"})
    assert response.status_code in (302, 401)
    assert b"FastOR" not in response.get_data()


def test_the_router_still_serves_navigation_inside_the_app(logged_in_client: FlaskClient) -> None:
    """The router callback stays registered for navigation inside the app (links, back and forward)."""
    dependencies = logged_in_client.get("/_dash-dependencies").get_json()
    (routing,) = [d for d in dependencies if "_pages_content.children" in d["output"]]
    assert routing["prevent_initial_call"] is True
    assert {i["id"] for i in routing["inputs"]} == {"_pages_location"}
