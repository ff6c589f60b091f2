"""A full page load in headless Chromium: the page comes with the layout, the pages router only serves
navigation inside the app (links, back and forward)."""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from plotly.offline import get_plotlyjs_version

from tests.browser.test_lazy_plots_browser import WAIT, drawn, log_in
from tests.dashboard.test_assets import CARTESIAN_TRACES

pytestmark = pytest.mark.browser

#: Counts the renderer's requests to the pages router (those whose outputs include the page content).
COUNT_ROUTER_REQUESTS = """
window.__routerRequests = 0;
const originalFetch = window.fetch;
window.fetch = function (resource, init) {
  const update = String(resource).includes('_dash-update-component');
  if (update && init && String(init.body).includes('_pages_content')) {
    window.__routerRequests += 1;
  }
  return originalFetch.apply(this, arguments);
};
"""


def router_requests(dash_duo: DashComposite) -> int:
    return int(dash_duo.driver.execute_script("return window.__routerRequests"))


def heading(dash_duo: DashComposite) -> str:
    return str(
        dash_duo.driver.execute_script(
            "const h = document.querySelector('#run-page-main h4'); return h ? h.textContent : '';"
        )
    )


def test_a_page_load_draws_the_page_without_asking_the_router(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    dash_duo.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_ROUTER_REQUESTS}
    )
    log_in(dash_duo, base_url, shifter, "/runs/300003/EMC?group=FastOR")
    until(lambda: any(drawn(dash_duo)), timeout=WAIT, msg="the first plot drawn")
    assert heading(dash_duo) == "FastOR"
    assert dash_duo.driver.title.startswith("Overwatch"), "the page's title comes with it"
    assert "300003" in dash_duo.driver.title
    assert router_requests(dash_duo) == 0, "the page came with the layout"
    plotly = dash_duo.driver.execute_script(
        """const full = performance.getEntriesByType('resource').filter(
               x => x.name.includes('plotly.min.js'));
           return {version: Plotly.version, traces: Object.keys(Plotly.PlotSchema.get().traces),
                   full: full.length};"""
    )
    assert plotly["version"] == get_plotlyjs_version(), "the shipped bundle (assets/README.md)"
    assert set(plotly["traces"]) == CARTESIAN_TRACES
    assert plotly["full"] == 0, "the full plotly.js is never fetched"

    link = next(a for a in dash_duo.find_elements(".run-sidebar a") if a.text.startswith("Jet Trigger High"))
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", link
    )
    link.click()
    until(lambda: heading(dash_duo) == "Jet Trigger High", timeout=WAIT, msg="the linked group shown")
    assert router_requests(dash_duo) == 1, "a link inside the app goes through the router"
    assert "group=Jet" in dash_duo.driver.current_url

    dash_duo.driver.back()
    until(lambda: heading(dash_duo) == "FastOR", timeout=WAIT, msg="back to the first group")
    assert router_requests(dash_duo) == 2
    until(lambda: any(drawn(dash_duo)), timeout=WAIT, msg="its plots drawn again")

    dash_duo.driver.refresh()  # a reload is a page load again
    until(lambda: heading(dash_duo) == "FastOR", timeout=WAIT, msg="the same group after a reload")
    until(lambda: any(drawn(dash_duo)), timeout=WAIT, msg="drawn after the reload")
    assert router_requests(dash_duo) == 0
    assert dash_duo.get_logs() == []
