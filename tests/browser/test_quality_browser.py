"""The quality overview in headless Chromium, with run 300000 as every subsystem's reference: the hot run's
EMC cell is red and the clean runs' green (the colours the browser paints, not class names), a click on
the red cell opens the run page with only its problems; big-screen mode covers the window, dark, with
nothing to click."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dash
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until

from dashboard.pages import run_page
from tests.browser.test_shifter_flow import log_in
from tests.dashboard.conftest import with_references

pytestmark = pytest.mark.browser

HOT_RUN, CLEAN_RUN = 300003, 300004
#: Bootstrap 5's danger and success backgrounds as computed by the browser.
RED, GREEN = "rgba(220, 53, 69, 1)", "rgba(25, 135, 84, 1)"


def badge_colour(dash_duo: DashComposite, run_number: int, subsystem: str) -> str:
    link = dash_duo.find_element(f"#quality-row-{run_number} a[href^='/runs/{run_number}/{subsystem}']")
    badge = link.find_element("css selector", ".badge")
    return str(badge.value_of_css_property("background-color"))


def test_overview_colours_click_and_big_screen(
    dash_duo: DashComposite,
    start_app: Callable[..., dash.Dash],
    shifter: tuple[str, str],
    tmp_path: Path,
) -> None:
    start_app()
    with_references(tmp_path / "data", 300000)
    base_url = str(dash_duo.server.url)
    log_in(dash_duo, base_url, *shifter)
    dash_duo.wait_for_text_to_equal("#run-list-summary", "Showing runs 1–3 of 3")

    dash_duo.driver.get(f"{base_url}/quality")
    dash_duo.wait_for_element(f"#quality-row-{HOT_RUN}")
    assert badge_colour(dash_duo, HOT_RUN, "EMC") == RED
    assert dash_duo.find_element(f"#quality-row-{HOT_RUN} a[href^='/runs/{HOT_RUN}/EMC']").text.startswith(
        "Bad"
    )
    assert badge_colour(dash_duo, CLEAN_RUN, "EMC") == GREEN
    dash_duo.find_element(f"#quality-row-{HOT_RUN} a[href='/runs/{HOT_RUN}/EMC?problems=1']").click()
    dash_duo.wait_for_text_to_equal("#run-page-title", f"Run {HOT_RUN} · EMC")
    dash_duo.wait_for_text_to_equal(f"#{run_page.PROBLEMS}", "Problems only: on (show all)")
    until(lambda: dash_duo.find_elements("#run-page-main .hist-card"), timeout=20, msg="the problems drawn")
    assert "problems=1" in dash_duo.driver.current_url
    assert "EMCTRQA_histFastORL0" in dash_duo.find_element(f"#{run_page.MAIN}").get_attribute("innerHTML")

    dash_duo.driver.get(f"{base_url}/quality?bigscreen=1")
    screen = dash_duo.wait_for_element("#quality-bigscreen")
    dash_duo.wait_for_element(f"#quality-bigscreen #quality-row-{HOT_RUN}")
    size = dash_duo.driver.execute_script("return [window.innerWidth, window.innerHeight];")
    rect = screen.rect
    assert (rect["x"], rect["y"]) == (0, 0)
    assert (round(rect["width"]), round(rect["height"])) == tuple(size), "the whole window"
    assert screen.value_of_css_property("background-color") == "rgba(17, 17, 17, 1)"
    heading = dash_duo.find_element("#quality-bigscreen h1")
    assert float(heading.value_of_css_property("font-size").removesuffix("px")) >= 36, "readable from afar"
    controls = dash_duo.driver.execute_script(
        "const s = document.getElementById('quality-bigscreen');"
        "return [...s.querySelectorAll('button, input, select, textarea, .btn')].length;"
    )
    assert controls == 0
    # Nothing of the normal page shows through: the element on top at the centre belongs to the screen.
    on_top = dash_duo.driver.execute_script(
        "const e = document.elementFromPoint(innerWidth / 2, innerHeight / 2);"
        "return document.getElementById('quality-bigscreen').contains(e);"
    )
    assert on_top is True
    assert badge_colour(dash_duo, HOT_RUN, "EMC") == RED
    assert dash_duo.get_logs() == []
