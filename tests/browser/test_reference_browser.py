"""Reference runs in headless Chromium: an expert makes a run the reference from the run page and sees the
confirmation, then switches the overlay on: the reference and the ratio panel are drawn; a shifter then
sees that reference and no button, and can compare too. The console stays empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dash
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until

from dashboard.pages import run_page
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore
from tests.browser.test_shifter_flow import log_in

pytestmark = pytest.mark.browser

EXPERT = ("erin", "erin-pw", "expert")
RUN = 300004


def test_an_expert_marks_the_reference_and_a_shifter_has_no_button(
    dash_duo: DashComposite,
    start_app: Callable[..., dash.Dash],
    shifter: tuple[str, str],
    tmp_path: Path,
) -> None:
    start_app()
    settings = load_settings(None, env={}, data_folder=str(tmp_path / "data"))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    UserStore(catalog, rounds=4).add(*EXPERT)
    catalog.close()
    base_url = str(dash_duo.server.url)

    log_in(dash_duo, base_url, EXPERT[0], EXPERT[1])
    dash_duo.wait_for_text_to_equal("#run-list-summary", "Showing runs 1–3 of 3")
    dash_duo.driver.get(f"{base_url}/runs/{RUN}/EMC")
    dash_duo.wait_for_text_to_equal("#run-page-title", f"Run {RUN} · EMC")
    button = dash_duo.wait_for_element(f"#{run_page.MAKE_REFERENCE}")
    assert button.text == "Make this run the reference from now on"
    button.click()
    dash_duo.wait_for_contains_text(
        f"#{run_page.REFERENCE_STATUS}",
        f"Run {RUN} is now the EMC reference for runs from {RUN} on",
        timeout=30,
    )
    dash_duo.wait_for_text_to_equal(f"#{run_page.REFERENCE}", f"Reference: run {RUN} (set by erin)")
    assert dash_duo.get_logs() == []
    compare_with_the_reference(dash_duo, base_url)

    dash_duo.driver.delete_all_cookies()
    log_in(dash_duo, base_url, *shifter)
    dash_duo.wait_for_text_to_equal("#run-list-summary", "Showing runs 1–3 of 3")
    dash_duo.driver.get(f"{base_url}/runs/{RUN}/EMC")
    dash_duo.wait_for_text_to_equal(f"#{run_page.REFERENCE}", f"Reference: run {RUN} (set by erin)")
    until(lambda: dash_duo.find_elements("#run-page-main .hist-card"), timeout=15, msg="the page is drawn")
    assert dash_duo.find_elements(f"#{run_page.MAKE_REFERENCE}") == []
    assert dash_duo.get_logs() == []
    compare_with_the_reference(dash_duo, base_url)


FASTOR = "EMCTRQA_histFastORL0"


def compare_with_the_reference(dash_duo: DashComposite, base_url: str) -> None:
    """On a 1D histogram's page the overlay switch draws the reference (a legend entry) and the ratio
    panel (plotly's third subplot); the address keeps ``ref=1``; switching it off removes both."""
    dash_duo.driver.get(f"{base_url}/runs/{RUN}/EMC?hist={FASTOR}")
    switch = dash_duo.wait_for_element(f"#{run_page.OVERLAY}")
    assert switch.text == "Reference overlay: off"
    assert not dash_duo.find_elements("#run-page-main .subplot.x3y3")
    switch.click()
    dash_duo.wait_for_text_to_equal(f"#{run_page.OVERLAY}", "Reference overlay: on")
    until(lambda: dash_duo.find_elements("#run-page-main .subplot.x3y3"), timeout=20, msg="the ratio panel")
    legend = dash_duo.wait_for_element("#run-page-main .legend")
    assert f"reference run {RUN} (same events)" in legend.text
    assert "ref=1" in dash_duo.driver.current_url
    dash_duo.find_element(f"#{run_page.OVERLAY}").click()
    dash_duo.wait_for_text_to_equal(f"#{run_page.OVERLAY}", "Reference overlay: off")
    until(lambda: not dash_duo.find_elements("#run-page-main .subplot.x3y3"), timeout=20, msg="plain again")
    assert dash_duo.get_logs() == []
