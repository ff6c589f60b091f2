"""The login page and the refusal page: small self-contained HTML, autoescaped by Jinja."""

from __future__ import annotations

import flask

#: Key of the server config holding the stylesheet URL (Dash's asset URL, which knows the path prefix).
STYLESHEET_KEY = "OVERWATCH_STYLESHEET"

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Overwatch</title>
<link rel="stylesheet" href="{{ stylesheet }}">
</head>
<body class="bg-light">
<main class="container py-5">
<div class="row justify-content-center">
<div class="col-sm-9 col-md-6 col-lg-4">
<h1 class="h4 mb-4">Overwatch data-quality monitoring</h1>
{% if message %}<div class="alert alert-{{ kind }}" role="alert">{{ message }}</div>{% endif %}
"""

_TAIL = """</div>
</div>
</main>
</body>
</html>
"""

_LOGIN = (
    _HEAD
    + """<form method="post" action="{{ action }}" class="card card-body shadow-sm">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="username" class="form-label">User name</label>
<input id="username" name="username" class="form-control mb-3" value="{{ username }}"
  autocomplete="username" autocapitalize="none" spellcheck="false" required
  {%- if not username %} autofocus{% endif %}>
<label for="password" class="form-label">Password</label>
<input id="password" name="password" type="password" class="form-control mb-4"
  autocomplete="current-password" required {%- if username %} autofocus{% endif %}>
<button type="submit" class="btn btn-primary w-100">Log in</button>
</form>
"""
    + _TAIL
)

_MESSAGE = _HEAD + '<a href="{{ home }}" class="btn btn-outline-primary">Back to the run list</a>\n' + _TAIL


def _stylesheet() -> str:
    return str(flask.current_app.config.get(STYLESHEET_KEY, "/assets/bootstrap.min.css"))


def login_page(
    *,
    action: str,
    csrf_token: str,
    next_url: str,
    username: str = "",
    message: str = "",
    kind: str = "danger",
) -> str:
    """The login form; the password field gets the focus when the user name is already filled in."""
    return flask.render_template_string(
        _LOGIN,
        title="Log in",
        stylesheet=_stylesheet(),
        action=action,
        csrf_token=csrf_token,
        next=next_url,
        username=username,
        message=message,
        kind=kind,
    )


def message_page(status: int, message: str) -> str:
    """A refusal (400, 403) for people, in the look of the login page."""
    return flask.render_template_string(
        _MESSAGE,
        title=f"Error {status}",
        stylesheet=_stylesheet(),
        message=message,
        kind="warning",
        home=flask.request.script_root + "/",
    )
