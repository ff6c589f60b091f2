"""Shifter ergonomics in headless Chromium: the header search (histograms and runs), keyboard shortcuts and
their "?" list (never while typing), previous/next run links, and dark mode kept across a reload."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from tests.browser.test_time_slices_browser import WAIT, log_in, wait_until

pytestmark = pytest.mark.browser

RUN_PAGE = "/runs/300003/EMC"
FASTOR_L0 = "EMCTRQA_histFastORL0"
SEARCH = "#search-input"
HITS = "#search-results .search-hit"


def address(dash_duo: DashComposite) -> tuple[str, dict[str, list[str]]]:
    url = urlparse(dash_duo.driver.current_url)
    return url.path, parse_qs(url.query)


def active_entry(dash_duo: DashComposite) -> str:
    return str(dash_duo.find_element(".run-sidebar a.list-group-item.active").text)


def type_search(dash_duo: DashComposite, text: str) -> None:
    box = dash_duo.find_element(SEARCH)
    box.send_keys(text)
    wait_until(lambda: dash_duo.find_elements(HITS), msg=f"search results for {text!r}")


def test_search_opens_a_histogram_and_a_run(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?from=1&to=6&threshold=0&scale=1")
    dash_duo.wait_for_element(".run-sidebar", timeout=WAIT)
    body = dash_duo.find_element("body")
    body.send_keys("/")
    wait_until(
        lambda: dash_duo.driver.switch_to.active_element.get_attribute("id") == "search-input",
        msg="/ focuses the search",
    )
    type_search(dash_duo, "fastorl0")  # fuzzy and case-blind: "FastOR L0" / EMCTRQA_histFastORL0…
    first = dash_duo.find_elements(HITS)[0]
    assert FASTOR_L0 in first.text, "the best hit first, found across groups"
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ENTER)

    def opened() -> bool:
        path, query = address(dash_duo)
        return path == RUN_PAGE and query.get("hist") == [FASTOR_L0]

    wait_until(opened, msg="Enter opens the first hit")
    _, query = address(dash_duo)
    assert (query["from"], query["to"]) == (["1"], ["6"]), "the time slice is kept"
    wait_until(lambda: active_entry(dash_duo) != "", msg="the histogram is marked in the sidebar")

    type_search(dash_duo, "30000")
    labels = [h.text for h in dash_duo.find_elements(f"{HITS} .search-label")]
    assert labels == ["Run 300004", "Run 300003", "Run 300000"], "newest first"
    dash_duo.find_element(SEARCH).send_keys(Keys.ARROW_DOWN, Keys.ENTER)  # the second hit
    wait_until(
        lambda: address(dash_duo)[0] == "/runs/300003/EMC" and not address(dash_duo)[1],
        msg="Enter opens the chosen run on the same subsystem",
    )
    assert dash_duo.get_logs() == []


def test_keys_move_through_the_sidebar_and_show_their_list(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?hist={FASTOR_L0}")
    wait_until(lambda: active_entry(dash_duo), msg="a histogram is marked")
    start = active_entry(dash_duo)
    body = dash_duo.find_element("body")
    body.send_keys("j")
    wait_until(lambda: active_entry(dash_duo) != start, msg="j opens the next histogram")
    after_j = address(dash_duo)[1]["hist"]
    assert after_j != [FASTOR_L0]
    dash_duo.find_element("body").send_keys("k")
    wait_until(lambda: address(dash_duo)[1].get("hist") == [FASTOR_L0], msg="k goes back")

    dash_duo.find_element("body").send_keys("J")
    wait_until(lambda: "group" in address(dash_duo)[1], msg="J opens the next group")

    # Typing in the search box: the letters are text, no shortcut fires.
    before = dash_duo.driver.current_url
    dash_duo.find_element("body").send_keys("/")
    box = dash_duo.find_element(SEARCH)
    wait_until(lambda: dash_duo.driver.switch_to.active_element == box, msg="/ focuses the search")
    box.send_keys("jk?[]arJ")
    wait_until(lambda: dash_duo.find_element(SEARCH).get_attribute("value") == "jk?[]arJ", msg="typed")
    assert dash_duo.driver.current_url == before
    assert (
        not dash_duo.find_elements("#keys-overlay .modal-title")
        or not dash_duo.find_element("#keys-overlay").is_displayed()
    )
    box.send_keys(Keys.ESCAPE)
    wait_until(lambda: dash_duo.find_element(SEARCH).get_attribute("value") == "", msg="Escape clears")

    dash_duo.find_element("body").send_keys("?")
    overlay = dash_duo.wait_for_element("#keys-overlay", timeout=WAIT)
    wait_until(overlay.is_displayed, msg="? shows the list")
    assert "Next / previous histogram" in overlay.text
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_until(lambda: not overlay.is_displayed(), msg="Escape closes the list")
    assert dash_duo.get_logs() == []


def test_previous_and_next_run_links(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    def on_run(run: int) -> None:
        wait_until(lambda: address(dash_duo)[0] == f"/runs/{run}/EMC", msg=f"address of run {run}")
        wait_until(
            lambda: dash_duo.find_element("#run-page-title").text.startswith(f"Run {run} "),
            msg=f"page of run {run}",
        )

    log_in(dash_duo, base_url, shifter, RUN_PAGE)
    on_run(300003)
    dash_duo.wait_for_element("#run-page-next-run", timeout=WAIT).click()
    on_run(300004)  # same subsystem
    assert dash_duo.find_element("#run-page-next-run").text == "Next: none →"
    dash_duo.find_element("#run-page-previous-run").click()
    on_run(300003)
    dash_duo.find_element("#run-page-previous-run").click()
    on_run(300000)
    assert dash_duo.find_element("#run-page-previous-run").text == "← Previous: none"
    assert dash_duo.get_logs() == []


#: Line colours of the first plot's traces.
LINES = (
    "const gd = document.querySelector('#run-page-main .js-plotly-plot');"
    "return gd.data.map(t => t.line ? t.line.color || null : null)"
)
PAPER = (
    "return Array.from(document.querySelectorAll('#run-page-main .js-plotly-plot'))"
    ".map(g => g._fullLayout && g._fullLayout.paper_bgcolor)"
)


def test_dark_mode_is_remembered_and_plots_follow(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group=FastOR")  # 1D plots drawn in ROOT blue
    driver = dash_duo.driver
    wait_until(lambda: driver.execute_script(PAPER), msg="plots drawn")
    theme = "return document.documentElement.getAttribute('data-bs-theme')"
    assert driver.execute_script(theme) == "light", "the system setting (light in headless Chromium)"
    light_lines = driver.execute_script(LINES)
    dash_duo.find_element("#theme-toggle").click()
    wait_until(lambda: driver.execute_script(theme) == "dark", msg="dark mode")
    wait_until(lambda: set(driver.execute_script(PAPER)) == {"#212529"}, msg="plots dark")
    dark_lines = driver.execute_script(LINES)
    assert dark_lines != light_lines, "ROOT's dark blue lines are lightened on a dark plot"
    dash_duo.find_element("#theme-toggle").click()
    wait_until(lambda: set(driver.execute_script(PAPER)) == {"white"}, msg="light again")
    assert driver.execute_script(LINES) == light_lines, "and given back"
    dash_duo.find_element("#theme-toggle").click()
    wait_until(lambda: set(driver.execute_script(PAPER)) == {"#212529"}, msg="dark again")
    driver.refresh()
    dash_duo.wait_for_element(".run-sidebar", timeout=WAIT)
    assert driver.execute_script(theme) == "dark", "remembered across a reload"
    wait_until(
        lambda: driver.execute_script(PAPER) and set(driver.execute_script(PAPER)) == {"#212529"},
        msg="plots drawn after the reload are dark too",
    )
    # A plot mounted later (lazy) is dark as well.
    count = len(driver.execute_script(PAPER))
    driver.execute_script(
        "const cards = document.querySelectorAll('#run-page-main .hist-card');"
        "cards[cards.length - 1].scrollIntoView({block: 'center', behavior: 'instant'});"
    )
    wait_until(lambda: len(driver.execute_script(PAPER)) > count, msg="a lazy plot drawn")
    wait_until(lambda: set(driver.execute_script(PAPER)) == {"#212529"}, msg="lazy plots dark")
    driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    dash_duo.find_element("#theme-toggle").click()
    wait_until(lambda: set(driver.execute_script(PAPER)) == {"white"}, msg="back to light")
    assert driver.execute_script("return localStorage.getItem('overwatch-theme')") == "light"
    assert dash_duo.get_logs() == []


def test_keys_move_the_time_window_apply_and_reset(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, RUN_PAGE)
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 0–7 min", timeout=WAIT)
    body = dash_duo.find_element("body")
    body.send_keys("]")  # the window ends at the run's end: nothing to move
    body.send_keys("[")  # nor before its start
    upper = dash_duo.find_elements("#ts-range .dash-slider-thumb")[1]
    upper.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 0–5 min", timeout=WAIT)
    dash_duo.find_element("body").send_keys("]")
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 1–6 min", timeout=WAIT)
    dash_duo.find_element("body").send_keys("]", "[", "]")
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 2–7 min", timeout=WAIT)
    dash_duo.find_element("body").send_keys("a")
    wait_until(lambda: address(dash_duo)[1].get("from") == ["2"], msg="a applies the slice")
    dash_duo.wait_for_element("#ts-banner", timeout=WAIT)
    wait_until(lambda: dash_duo.find_element("#ts-apply").is_enabled(), msg="slice shown")
    dash_duo.find_element("body").send_keys("r")
    wait_until(lambda: "from" not in address(dash_duo)[1], msg="r resets to the full run")
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 0–7 min", timeout=WAIT)
    assert dash_duo.get_logs() == []
