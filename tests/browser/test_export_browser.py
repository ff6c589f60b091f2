"""Export links in headless Chromium: after a time slice applied in place (no reload), a plot's JSON and
ROOT links, the group's zip link and the PNG's file name (menu and camera) carry the slice, and the JSON
link downloads it."""

from __future__ import annotations

from typing import Any

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains

from tests.browser.test_time_slices_browser import (
    FASTOR_L0,
    GROUP,
    RUN_PAGE,
    log_in,
    set_window,
    wait_for_group,
    wait_idle,
    wait_until,
)

pytestmark = pytest.mark.browser

EXPORTS = f"/api/v1{RUN_PAGE}/export"


def export_hrefs(dash_duo: DashComposite) -> dict[str, str]:
    """The FastOR L0 card's export links and the group's zip link, as the browser would follow them."""
    links = dash_duo.find_elements("a[data-export-link]")
    found: dict[str, str] = {}
    for link in links:
        if link.get_attribute("data-export-value") in (FASTOR_L0, GROUP):
            found[link.get_attribute("data-export-link")] = link.get_attribute("href")
    return found


def fetch_json(dash_duo: DashComposite, href: str) -> Any:
    """GET ``href`` with the page's session, as a click on the link would."""
    return dash_duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.json()).then(done, e => done(String(e)));",
        href,
    )


def png_name(dash_duo: DashComposite) -> str:
    """The file name Plotly's camera button would save the FastOR L0 plot under (set as it is pressed)."""
    return str(
        dash_duo.driver.execute_script(
            """
            const card = '[id*=' + JSON.stringify('"' + arguments[0] + '"') + ']';
            const graph = document.querySelector(card + ' .js-plotly-plot');
            const camera = graph.querySelector('.modebar-btn[data-title^="Download plot"]');
            camera.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));
            return graph._context.toImageButtonOptions.filename;
            """,
            FASTOR_L0,
        )
    )


def menu_png_name(dash_duo: DashComposite) -> str:
    """The file name the menu's PNG link hands Plotly (its download replaced by a recorder)."""
    return str(
        dash_duo.driver.execute_script(
            """
            let asked = null;
            window.Plotly.downloadImage = (graph, options) => { asked = options.filename; };
            for (const link of document.querySelectorAll('a[data-export-png]')) {
                if (link.dataset.exportPng === arguments[0]) link.click();
            }
            return asked;
            """,
            FASTOR_L0,
        )
    )


def test_export_links_follow_a_slice_applied_in_place(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo)
    full = f"{base_url}{EXPORTS}/histogram.json?name={FASTOR_L0}"
    wait_until(lambda: export_hrefs(dash_duo).get("histogram.json") == full, msg="the full run's link")
    assert png_name(dash_duo) == f"run300003_EMC_{FASTOR_L0}_full"

    set_window(dash_duo, 5)
    dash_duo.find_element("#ts-apply").click()
    wait_until(lambda: "from=5&to=7" in dash_duo.driver.current_url, msg="the slice shown in place")
    wait_idle(dash_duo)
    link = next(
        a for a in dash_duo.find_elements("a[data-export-link='histogram.root']")
        if a.get_attribute("data-export-value") == FASTOR_L0
    )  # fmt: skip
    dash_duo.driver.execute_script("arguments[0].closest('details').open = true;", link)
    ActionChains(dash_duo.driver).move_to_element(link).perform()  # pointed at, as before a click
    window = "from=5&to=7&threshold=0&scale=1"
    wait_until(
        lambda: (
            export_hrefs(dash_duo)
            == {
                "histogram.json": f"{base_url}{EXPORTS}/histogram.json?name={FASTOR_L0}&{window}",
                "histogram.root": f"{base_url}{EXPORTS}/histogram.root?name={FASTOR_L0}&{window}",
                "group.zip": f"{base_url}{EXPORTS}/group.zip?group={GROUP}&{window}",
            }
        ),
        msg="every export link carries the slice",
    )
    assert png_name(dash_duo) == f"run300003_EMC_{FASTOR_L0}_min5-7"
    assert menu_png_name(dash_duo) == f"run300003_EMC_{FASTOR_L0}_min5-7"
    document = fetch_json(dash_duo, export_hrefs(dash_duo)["histogram.json"])
    assert document["window"]["requested"] == [5, 7], document
    assert document["name"] == FASTOR_L0
    assert dash_duo.get_logs() == []
