"""Browser tests: dash_duo with Debian's Chromium, headless by default, on a closed network."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# pytest puts tests/ on sys.path, where tests/dashboard/ passes for a namespace package "dashboard"
# without __file__, and create_app's flask.Flask("dashboard") cannot find its root path. With the
# repository first on the path the real package wins (`python -m pytest` does this by itself).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import dash
import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.chrome.options import Options

from dashboard.factory import create_app
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore

#: The user who logs in: name, password, role.
SHIFTER = ("sam", "sam-password", "shifter")

#: Chromium flags that keep the browser from calling home (updates, sync, safe browsing, metrics...),
#: and a resolver that knows only this machine, so a stylesheet or script from a CDN fails loudly
#: (a console error) instead of loading: the app must work on a closed network.
CLOSED_NETWORK_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1920,1080",  # a control-room screen
)


def pytest_configure(config: pytest.Config) -> None:
    """Headless by default: there is no display here or in CI (dash's plugin only adds ``--headless``)."""
    config.option.headless = True


def pytest_setup_options() -> Options:
    """dash's plugin hook: the Chrome options dash_duo starts from (it adds --no-sandbox and more)."""
    options = Options()
    for flag in CLOSED_NETWORK_FLAGS:
        options.add_argument(flag)
    return options


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def shifter() -> tuple[str, str]:
    """User name and password of the user who logs in."""
    return SHIFTER[0], SHIFTER[1]


@pytest.fixture(scope="session")
def browser_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data (the app writes its view cache there) with SHIFTER as a user."""
    data = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(demo_data, data, symlinks=True, ignore=lambda folder, _names: ["cache"])
    settings = load_settings(None, env={}, data_folder=str(data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    UserStore(catalog, rounds=4).add(*SHIFTER)
    catalog.close()
    return data


@pytest.fixture
def browser_app(browser_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dash.Dash]:
    """The real app (Dash's global page registry reset before and after)."""
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)
    dash._pages.PAGE_REGISTRY.clear()
    settings = load_settings(
        None, env={}, data_folder=str(browser_data), instance_folder=str(tmp_path / "instance")
    )
    yield create_app(settings)
    dash._pages.PAGE_REGISTRY.clear()


@pytest.fixture
def base_url(dash_duo: DashComposite, browser_app: dash.Dash) -> str:
    """Start the app on a free port (never the demo's 8050) without opening a page: "/" is the login
    form, not a Dash page, until someone logs in."""
    dash_duo.start_server(browser_app, navigate=False, port=free_port())
    return str(dash_duo.server.url)


@pytest.fixture
def start_app(
    dash_duo: DashComposite, browser_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., dash.Dash]]:
    """``start_app(**settings)``: the real app with settings overrides (e.g. ``slice_delay_seconds``) on
    a fresh copy of ``browser_data`` (histogram and view caches empty), started on a free port without
    opening a page; the base URL is ``dash_duo.server.url``."""
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)

    def start(**overrides: Any) -> dash.Dash:
        data = tmp_path / "data"
        shutil.copytree(browser_data, data, symlinks=True, ignore=lambda folder, _names: ["cache"])
        dash._pages.PAGE_REGISTRY.clear()
        settings = load_settings(
            None, env={}, data_folder=str(data), instance_folder=str(tmp_path / "instance"), **overrides
        )
        app = create_app(settings)
        dash_duo.start_server(app, navigate=False, port=free_port())
        return app

    yield start
    dash._pages.PAGE_REGISTRY.clear()
