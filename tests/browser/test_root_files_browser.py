"""The ROOT files page in headless Chromium: problems marked, hostile key names shown as text, and a click on
one opens exactly that histogram (the name survives the link, the history entry and the router)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dash
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.webdriver.common.by import By

from dashboard.factory import create_app
from overwatch_core.settings import load_settings
from tests.browser.conftest import free_port
from tests.browser.test_shifter_flow import SHOTS, log_in
from tests.dashboard.hostile_run import PROBLEM, RUN, TOP_LEVEL_TPC, UNDECODABLE_NAME, write_hostile_run

pytestmark = pytest.mark.browser

FILES_PAGE = f"/runs/{RUN}/HLT/files"


@pytest.fixture
def hostile_url(
    dash_duo: DashComposite, browser_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The real app on the browser data plus the hostile run, started on a free port."""
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)
    data = tmp_path / "data"
    shutil.copytree(browser_data, data, symlinks=True, ignore=lambda folder, _names: ["cache"])
    write_hostile_run(data)
    dash._pages.PAGE_REGISTRY.clear()
    settings = load_settings(None, env={}, data_folder=str(data), instance_folder=str(tmp_path / "instance"))
    dash_duo.start_server(create_app(settings), navigate=False, port=free_port())
    yield str(dash_duo.server.url)
    dash._pages.PAGE_REGISTRY.clear()


def key_link(dash_duo: DashComposite, name: str) -> object:
    (link,) = [a for a in dash_duo.find_elements("#root-file-keys td a") if a.text == name]
    return link


@pytest.mark.parametrize("name", ["a?b&c", "hist#1", "../../etc/passwd", TOP_LEVEL_TPC, "<b>bold</b>"])
def test_a_hostile_name_is_text_and_its_link_opens_that_histogram(
    dash_duo: DashComposite, hostile_url: str, shifter: tuple[str, str], name: str
) -> None:
    log_in(dash_duo, hostile_url, *shifter)
    dash_duo.wait_for_text_to_equal("#run-list-summary", "Showing runs 1–4 of 4")
    dash_duo.driver.get(f"{hostile_url}{FILES_PAGE}")
    keys = dash_duo.wait_for_element("#root-file-keys")
    assert keys.get_attribute("open") == "true", "open: a histogram could not be decoded"
    assert dash_duo.find_elements("#root-file-keys b") == [], "a name is never markup"
    assert PROBLEM in dash_duo.find_element("#root-file-list .file-problem").text
    problems = [row.text for row in dash_duo.find_elements("#root-file-keys tr.key-problem")]
    assert [p.split(" TH")[0] for p in problems] == ["a?b&c", UNDECODABLE_NAME], "shown as written"
    if name == "a?b&c":
        SHOTS.mkdir(exist_ok=True)
        dash_duo.driver.save_screenshot(str(SHOTS / "root_files_hostile.png"))

    link = key_link(dash_duo, name)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()
    until(lambda: dash_duo.find_elements("#run-page-main h5"), timeout=15, msg="one histogram shown")
    until(lambda: dash_duo.find_elements("#run-page-main .js-plotly-plot"), timeout=15, msg="its plot drawn")
    parts = urlsplit(dash_duo.driver.current_url)
    assert parse_qs(parts.query) == {"hist": [name]}
    assert parts.fragment == ""
    active = dash_duo.driver.find_elements(By.CSS_SELECTOR, ".run-sidebar .active")
    assert [a.text for a in active] == [name], "the sidebar marks that very histogram"

    dash_duo.driver.refresh()  # the address alone brings it back
    until(lambda: dash_duo.find_elements("#run-page-main .js-plotly-plot"), timeout=15, msg="drawn again")
    assert [a.text for a in dash_duo.find_elements(".run-sidebar .active")] == [name]
    assert dash_duo.get_logs() == []
