"""Lazy run pages in headless Chromium: the first plots at once, the others drawn only when scrolled to."""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until

pytestmark = pytest.mark.browser

WAIT = 30  # seconds for any condition: two cores shared with other test runs
HLT_PAGE = "/runs/300003/HLT"  # 39 plots in one grid


def log_in(dash_duo: DashComposite, base_url: str, shifter: tuple[str, str], target: str) -> None:
    dash_duo.driver.get(f"{base_url}/login")
    dash_duo.wait_for_element("#username", timeout=WAIT).send_keys(shifter[0])
    dash_duo.find_element("#password").send_keys(shifter[1])
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element("#run-list-summary", timeout=WAIT)
    dash_duo.driver.get(f"{base_url}{target}")


def drawn(dash_duo: DashComposite) -> list[bool]:
    """For every plot card of the page, in order, whether Plotly has drawn its graph."""
    result: list[bool] = dash_duo.driver.execute_script(
        """return Array.from(document.querySelectorAll('#run-page-main .hist-card'))
                  .map(card => !!card.querySelector('.js-plotly-plot .main-svg'));"""
    )
    return result


def scroll_to_card(dash_duo: DashComposite, index: int) -> None:
    """Jump to the card: Bootstrap makes scrolling smooth, which would pass, and draw, every card between."""
    dash_duo.driver.execute_script(
        "document.querySelectorAll('#run-page-main .hist-card')[arguments[0]]"
        ".scrollIntoView({block: 'center', behavior: 'instant'});",
        index,
    )


def test_plots_are_drawn_as_they_are_scrolled_to(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    dash_duo.driver.set_window_size(1920, 700)  # a short screen: the grid is many screens long
    log_in(dash_duo, base_url, shifter, HLT_PAGE)
    until(lambda: len(drawn(dash_duo)) == 39, timeout=WAIT, msg="39 cards")
    # The first row on this short screen: 3 plots sent with the page, the 4th fetched at once.
    until(lambda: all(drawn(dash_duo)[:4]), timeout=WAIT, msg="the first plots drawn")
    shown = drawn(dash_duo)
    assert not any(shown[-8:]), "plots far below the screen are not drawn yet"
    assert len(dash_duo.find_elements("#run-page-main .lazy-placeholder")) >= 8

    scroll_to_card(dash_duo, 38)
    until(lambda: drawn(dash_duo)[38], timeout=WAIT, msg="the last plot drawn once scrolled to")
    shown = drawn(dash_duo)
    assert not all(shown), "plots in between that were never near the screen are still not drawn"

    for index in range(39):  # scrolling through the page draws every plot
        scroll_to_card(dash_duo, index)
    until(lambda: all(drawn(dash_duo)), timeout=WAIT, msg="every plot drawn after scrolling through")
    assert dash_duo.find_elements("#run-page-main .lazy-placeholder") == []
    assert dash_duo.get_logs() == []


def test_a_group_page_fetches_its_further_plots_for_the_group_shown(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, "/runs/300003/EMC?group=EMCal+cluster+level")
    until(lambda: len(drawn(dash_duo)) == 9, timeout=WAIT, msg="9 cards")
    until(lambda: all(drawn(dash_duo)[:2]), timeout=WAIT, msg="the first two plots drawn")
    assert not drawn(dash_duo)[8]
    scroll_to_card(dash_duo, 8)
    until(lambda: drawn(dash_duo)[8], timeout=WAIT, msg="the last plot drawn once scrolled to")
    slot, graph = dash_duo.driver.execute_script(
        """const card = document.querySelectorAll('#run-page-main .hist-card')[8];
           const graph = card.querySelector('.js-plotly-plot').closest('.dash-graph');
           return [JSON.parse(graph.parentElement.id), JSON.parse(graph.id)];"""
    )
    assert slot["type"] == "lazy-plot"
    assert graph == {"type": "hist-graph", "name": slot["name"]}, "the card got its own histogram"
    assert dash_duo.get_logs() == []
