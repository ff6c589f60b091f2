"""Running a Dash callback over HTTP in tests, as the browser's renderer does (CSRF header included)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def fire(client: FlaskClient, trigger: str, values: dict[str, object] | None = None) -> TestResponse:
    """Post the (non-background) callback ``trigger`` ("id.prop") fires; input/state values by "id.prop".

    The trigger's own value defaults to 1 (a click). A pattern-matching dependency ("{...}.prop", as the
    dependency list spells it) takes a list of (concrete id, value) pairs, one per matching component.
    """
    values = {trigger: 1, **(values or {})}
    (dep,) = [
        d for d in client.get("/_dash-dependencies").get_json()
        if any(f"{i['id']}.{i['property']}" == trigger for i in d["inputs"]) and not d.get("background")
    ]  # fmt: skip

    def value(item: dict[str, str]) -> object:
        given = values.get(f"{item['id']}.{item['property']}")
        if not item["id"].startswith("{"):
            return {**item, "value": given}
        return [{"id": i, "property": item["property"], "value": v} for i, v in given or []]  # type: ignore[attr-defined]

    def filled(items: list[dict[str, str]]) -> list[object]:
        return [value(i) for i in items]

    outputs = [part.split(".", 1) for part in dep["output"].strip(".").split("...")]
    shaped = [{"id": i, "property": p.split("@")[0]} for i, p in outputs]
    body = {
        "output": dep["output"],
        "outputs": shaped if len(shaped) > 1 else shaped[0],
        "inputs": filled(dep["inputs"]),
        "state": filled(dep["state"]),
        "changedPropIds": [trigger],
    }
    cookie = client.get_cookie("_csrf_token")
    headers = {"X-CSRFToken": cookie.value} if cookie else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def router(client: FlaskClient, href: str) -> TestResponse:
    """What Dash's pages router answers in the browser for ``href`` (its pathname and search)."""
    parts = urlsplit(href)
    search = f"?{parts.query}" if parts.query else ""
    return fire(
        client,
        "_pages_location.pathname",
        {"_pages_location.pathname": parts.path, "_pages_location.search": search},
    )
