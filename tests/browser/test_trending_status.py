"""Trending (choose a trend, click a point, land on the run page) and site status as admin and as shifter."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dash
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.factory import create_app
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore
from tests.browser.conftest import free_port

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/overwatch-shots")
ADMIN = ("ada", "ada-password", "admin")
SHIFTER = ("sid", "sid-password", "shifter")
ALARMS = {
    "meanFastORL0": [{"kind": "between_values", "min_value": 2280, "max_value": 2297, "label": "ERROR"}]
}


@pytest.fixture(scope="module")
def trend_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data with trends recomputed under ALARMS, an admin and a shifter."""
    data = tmp_path_factory.mktemp("browser-trending") / "data"
    shutil.copytree(demo_data, data, symlinks=True, ignore=lambda folder, _names: ["cache"])
    settings = load_settings(None, env={}, data_folder=str(data), alarms=ALARMS)
    catalog, cache = open_services(settings)
    Processor(settings, catalog, cache).recompute_trends()
    cache.close()
    catalog.close()
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    for user in (ADMIN, SHIFTER):
        UserStore(catalog, rounds=4).add(*user)
    catalog.close()
    return data


@pytest.fixture
def base_url(
    dash_duo: DashComposite,
    trend_data: Path,
    sites: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The real app with alarms, other sites and a harmless restart command, on a free port."""
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)
    dash._pages.PAGE_REGISTRY.clear()
    settings = load_settings(
        None,
        env={},
        data_folder=str(trend_data),
        instance_folder=str(tmp_path / "instance"),
        alarms=ALARMS,
        status_sites=sites,
        restart_command="echo upgraded",
    )
    dash_duo.start_server(create_app(settings), navigate=False, port=free_port())
    yield str(dash_duo.server.url)
    dash._pages.PAGE_REGISTRY.clear()


def log_in(dash_duo: DashComposite, base_url: str, user: tuple[str, str, str], target: str) -> None:
    """The real login form, then the page to test."""
    dash_duo.driver.get(f"{base_url}/login")
    dash_duo.wait_for_element("#username").send_keys(user[0])
    dash_duo.find_element("#password").send_keys(user[1])
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element("#run-list-summary")
    dash_duo.driver.get(f"{base_url}{target}")


def shoot(dash_duo: DashComposite, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(SHOTS / name))


def within_points(dash_duo: DashComposite) -> list[object]:
    return list(dash_duo.find_elements("#trending-within .scatterlayer .trace:first-child .points path"))


def test_choose_a_trend_and_click_a_point(dash_duo: DashComposite, base_url: str) -> None:
    log_in(dash_duo, base_url, SHIFTER, "/trending?subsystem=EMC")
    dash_duo.wait_for_element("#trending-within .js-plotly-plot", timeout=15)
    dash_duo.find_element("#trending-trend").click()
    dash_duo.wait_for_element(".dash-dropdown-search").send_keys("meanFastORL0")
    dash_duo.wait_for_element('.dash-dropdown-option:has(input[value="meanFastORL0"])').click()
    until(
        lambda: "trend=meanFastORL0" in dash_duo.driver.current_url, timeout=10, msg="the URL holds the trend"
    )
    assert dash_duo.driver.current_url.endswith(
        "/trending?subsystem=EMC&trend=meanFastORL0&run=300004&runs=300000-300004"
    )
    until(lambda: len(within_points(dash_duo)) == 8, timeout=15, msg="8 values of run 300004")
    marks = dash_duo.find_elements("#trending-within .scatterlayer .trace:nth-child(2) .points path")
    assert marks, "alarmed points are marked"
    assert len(dash_duo.find_elements("#trending-within .shapelayer path")) == 2, "the alarm's two bounds"
    shoot(dash_duo, "trending.png")

    ActionChains(dash_duo.driver).move_to_element(within_points(dash_duo)[3]).click().perform()
    until(lambda: "/runs/" in dash_duo.driver.current_url, timeout=10, msg="the click opens the run page")
    assert dash_duo.driver.current_url == f"{base_url}/runs/300004/EMC?hist=EMCTRQA_histFastORL0&from=0&to=3"
    dash_duo.wait_for_text_to_equal("#run-page-title", "Run 300004 · EMC", timeout=15)
    dash_duo.wait_for_element("#run-page-main .js-plotly-plot", timeout=20)
    shoot(dash_duo, "trending-click-run-page.png")
    assert dash_duo.get_logs() == []


def test_status_page_as_admin_refresh_and_confirmed_restart(dash_duo: DashComposite, base_url: str) -> None:
    log_in(dash_duo, base_url, ADMIN, "/site-status")
    dash_duo.wait_for_contains_text("#site-Up", "up", timeout=10)
    dash_duo.wait_for_contains_text("#site-Down", "connection error")
    dash_duo.wait_for_contains_text("#heartbeat-EMC", "missing")
    assert "Ongoing run: no" in dash_duo.find_element("#site-status-report").text
    shoot(dash_duo, "site-status-admin.png")

    checked = dash_duo.find_element("#site-status-checked")
    dash_duo.find_element("#site-status-refresh").click()
    WebDriverWait(dash_duo.driver, 5).until(expected_conditions.staleness_of(checked))
    dash_duo.wait_for_contains_text("#site-status-checked", "Checked at")

    dash_duo.find_element("#site-status-restart").click()
    dash_duo.wait_for_element("#site-status-confirm-yes").click()
    dash_duo.wait_for_contains_text("#site-status-action-result", "exit code 0", timeout=10)
    assert "upgraded" in dash_duo.find_element("#site-status-action-result").text
    until(lambda: not dash_duo.find_elements(".modal.show"), timeout=5, msg="the confirmation closes")
    assert dash_duo.get_logs() == []


def test_status_page_as_shifter_is_refused(dash_duo: DashComposite, base_url: str) -> None:
    log_in(dash_duo, base_url, SHIFTER, "/site-status")
    dash_duo.wait_for_contains_text("#site-status-refused", "403 Forbidden", timeout=10)
    assert "You are logged in as sid (shifter)" in dash_duo.find_element("#site-status-refused").text
    assert not dash_duo.find_elements("#site-status-refresh")
    assert not dash_duo.find_elements("#site-status-restart")
    shoot(dash_duo, "site-status-shifter.png")
    assert dash_duo.get_logs() == []
