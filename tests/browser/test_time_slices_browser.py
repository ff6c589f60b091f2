"""Time slices in headless Chromium: keyboard and number box, Apply in place (the same graph nodes, the
pages router not re-run, zoom kept), permalink, back/forward in place, reload, a cached slice without a
job, Reset, the live threshold what-if, bad input, Cancel, a late job that must not take the page over."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import psutil
import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from dashboard.services import services
from overwatch_core.time_slices import TimeSliceRequest

pytestmark = pytest.mark.browser

WAIT = 30  # seconds for any condition: two cores shared with other test runs
RUN_PAGE = "/runs/300003/EMC"  # hot FastORs 517, 2222, 3931 from minute 5; 7 minutes long
GROUP = "FastOR"
FASTOR_L0 = "EMCTRQA_histFastORL0"
HOT_LIST = "517, 2222, 3931"
SLICE_5_7 = re.compile(
    r"^Time slice: requested 5–7 min, shown 5–7 min \(nearest files\), scaled by \d+ events, threshold 100$"
)


def wait_until(condition: Callable[[], object], msg: str) -> Any:
    """Wait up to WAIT seconds for a true value; an element replaced while being read (the page
    re-renders after a navigation) counts as not yet."""

    def settled() -> object:
        try:
            return condition()
        except StaleElementReferenceException:
            return False

    return until(settled, timeout=WAIT, msg=msg)


def log_in(dash_duo: DashComposite, base_url: str, shifter: tuple[str, str], target: str) -> None:
    """The real login form, then the page to test."""
    dash_duo.driver.get(f"{base_url}/login")
    dash_duo.wait_for_element("#username", timeout=WAIT).send_keys(shifter[0])
    dash_duo.find_element("#password").send_keys(shifter[1])
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element("#run-list-summary", timeout=WAIT)
    dash_duo.driver.get(f"{base_url}{target}")


def wait_for_group(dash_duo: DashComposite, plots: int = 8) -> None:
    """The group's plots all drawn: the page draws them as they come into view, so scroll to each."""
    dash_duo.wait_for_text_to_equal("#run-page-main h4", GROUP, timeout=WAIT)

    def drawn() -> int:
        return len(dash_duo.find_elements("#run-page-main .js-plotly-plot"))

    for index in range(plots):
        wait_until(lambda i=index: drawn() > i or scroll_to_card(dash_duo, i), msg=f"plot {index + 1} drawn")
    wait_until(lambda: drawn() == plots, msg=f"{plots} plots drawn")
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'});")


def scroll_to_card(dash_duo: DashComposite, index: int) -> bool:
    """Jump to a plot card (instantly: a smooth scroll would pass, and draw, every card between)."""
    dash_duo.driver.execute_script(
        "const card = document.querySelectorAll('#run-page-main .hist-card')[arguments[0]];"
        "if (card) card.scrollIntoView({block: 'center', behavior: 'instant'});",
        index,
    )
    return False


def banner(dash_duo: DashComposite) -> str | None:
    found = dash_duo.find_elements("#ts-banner")
    return found[0].text if found else None


def wait_for_banner(dash_duo: DashComposite, pattern: re.Pattern[str]) -> str:
    wait_until(lambda: pattern.match(banner(dash_duo) or ""), msg=f"banner {pattern.pattern}")
    text = banner(dash_duo)
    assert text is not None
    return text


def description(dash_duo: DashComposite) -> str:
    found = dash_duo.find_elements("#view-description")
    return found[0].text if found else ""


def l0_card(dash_duo: DashComposite) -> dict[str, Any] | None:
    """The FastOR L0 plot's first trace (its points and y data as sent) and its information panel."""
    return dash_duo.driver.execute_script(
        """
        for (const card of document.querySelectorAll('#run-page-main .hist-card')) {
            const graph = card.querySelector('[id*=' + JSON.stringify('"' + arguments[0] + '"') + ']');
            const plot = graph && graph.querySelector('.js-plotly-plot');
            if (!plot || !plot._fullData || !plot._fullData.length) continue;
            const info = card.querySelector('.info-panel');
            return {n: plot._fullData[0].y.length, y: JSON.stringify(plot.data[0].y),
                    info: info ? info.innerText : ''};
        }
        return null;
        """,
        FASTOR_L0,
    )


def thumbs(dash_duo: DashComposite, slider: str) -> list[Any]:
    return list(dash_duo.find_elements(f"#{slider} .dash-slider-thumb"))


def thumb_values(dash_duo: DashComposite, slider: str) -> list[str]:
    return [t.get_attribute("aria-valuenow") for t in thumbs(dash_duo, slider)]


def wait_for_thumbs(dash_duo: DashComposite, slider: str, values: list[str]) -> None:
    wait_until(lambda: thumb_values(dash_duo, slider) == values, msg=f"#{slider} at {values}")


def type_into(dash_duo: DashComposite, selector: str, text: str) -> None:
    """Replace a number box's text and leave it with Tab (Dash 4 commits the value on blur)."""
    box = dash_duo.find_element(selector)
    dash_duo.clear_input(box)
    box.send_keys(text, Keys.TAB)


def set_window(dash_duo: DashComposite, low: int) -> None:
    """Keyboard only: End puts the upper thumb at the run's end, Home the lower one at 0, then arrows."""
    lower, upper = thumbs(dash_duo, "ts-range")
    upper.send_keys(Keys.ARROW_LEFT)
    upper.send_keys(Keys.END)
    lower.send_keys(Keys.HOME)
    for _ in range(low):
        lower.send_keys(Keys.ARROW_RIGHT)
    wait_for_thumbs(dash_duo, "ts-range", [str(low), "7"])
    dash_duo.wait_for_text_to_equal("#ts-window", f"Window: {low}–7 min", timeout=WAIT)


def is_enabled(dash_duo: DashComposite, selector: str) -> bool:
    return dash_duo.find_element(selector).is_enabled()


def progress_shown(dash_duo: DashComposite) -> bool:
    return dash_duo.find_element("#ts-progress-wrap").is_displayed()


def wait_idle(dash_duo: DashComposite) -> None:
    """No job running: Apply enabled, Cancel disabled, progress bar hidden."""
    wait_until(
        lambda: (
            is_enabled(dash_duo, "#ts-apply")
            and not is_enabled(dash_duo, "#ts-cancel")
            and not progress_shown(dash_duo)
        ),
        msg="no job running",
    )


#: Marks the page as it is now: the page root and every graph node get a JS property (a re-render makes new
#: nodes without it), and the requests of the pages router and the background jobs started are counted.
WATCH_PAGE = """
const root = document.querySelector('#_pages_content > *');
root.__watched = true;
document.querySelectorAll('#run-page-main .js-plotly-plot').forEach(p => { p.__watched = true; });
if (!window.__requests) {
    window.__requests = {router: 0, job: 0};
    const send = window.fetch;
    window.fetch = function (url, options) {
        try {
            const output = JSON.parse(options.body).output;
            if (output.includes('_pages_content')) window.__requests.router += 1;
            const poll = String(url).includes('cacheKey=');  // asks for a running job's result
            if (output === 'ts-result.data' && !poll) window.__requests.job += 1;
        } catch (error) { /* not a callback */ }
        return send.apply(this, arguments);
    };
}
window.__requests.router = 0;
window.__requests.job = 0;
window.__progressShown = false;
new MutationObserver(() => {
    if (document.getElementById('ts-progress-wrap').style.display === 'block') window.__progressShown = true;
}).observe(document.getElementById('ts-progress-wrap'), {attributes: true});
"""

#: What survived since WATCH_PAGE: the same page root, the same graph nodes, requests and a progress bar.
WATCHED = """
const plots = Array.from(document.querySelectorAll('#run-page-main .js-plotly-plot'));
return {
    root: !!document.querySelector('#_pages_content > *').__watched,
    graphs: plots.length > 0 && plots.every(p => p.__watched === true),
    router: window.__requests.router,
    job: window.__requests.job,
    progress: window.__progressShown,
};
"""


def watch_page(dash_duo: DashComposite) -> None:
    dash_duo.driver.execute_script(WATCH_PAGE)


def watched(dash_duo: DashComposite) -> dict[str, Any]:
    found: dict[str, Any] = dash_duo.driver.execute_script(WATCHED)
    return found


IN_PLACE = {"root": True, "graphs": True, "router": 0}


def graph_selector(name: str) -> str:
    """CSS for a graph with the dict id {"type": "hist-graph", "name": name} (Dash sorts the id's keys)."""
    return f"""[id='{{"name":"{name}","type":"hist-graph"}}']"""


def zoom_x(dash_duo: DashComposite, name: str) -> list[float]:
    """Drag a zoom box across the middle of a plot, as a user does; returns the x range it shows."""
    graph = dash_duo.find_element(graph_selector(name))
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", graph
    )
    drag = graph.find_element("css selector", ".nsewdrag")
    width, height = drag.size["width"], drag.size["height"]
    ActionChains(dash_duo.driver).move_to_element_with_offset(drag, width * 0.3, height * 0.5).click_and_hold(
    ).move_by_offset(width * 0.1, 0).move_by_offset(width * 0.1, 0).release().perform()  # fmt: skip
    wait_until(lambda: x_range(dash_duo, name)[1] - x_range(dash_duo, name)[0] < 4000, msg="zoomed in")
    return x_range(dash_duo, name)


def x_range(dash_duo: DashComposite, name: str) -> list[float]:
    found: list[float] = dash_duo.driver.execute_script(
        "const plot = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return Array.from(plot._fullLayout.xaxis.range);",
        graph_selector(name),
    )
    return found


def test_apply_puts_the_slice_in_place_then_back_forward_and_reload(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo)
    wait_until(lambda: description(dash_duo).startswith("Full run"), msg="the full run")
    full = l0_card(dash_duo)
    assert full is not None
    assert full["info"].startswith(f"Threshold: 0.01\nFast OR Hot Channels ID: {HOT_LIST}\nStatistics: mean ")
    assert full["info"].endswith("(from fill-time sums stored in the file)")
    full_url = dash_duo.driver.current_url
    assert banner(dash_duo) is None
    zoomed = zoom_x(dash_duo, FASTOR_L0)

    set_window(dash_duo, 5)
    type_into(dash_duo, "#ts-threshold input[type=number]", "100")
    wait_for_thumbs(dash_duo, "ts-threshold", ["100"])
    watch_page(dash_duo)
    dash_duo.find_element("#ts-apply").click()

    shown = wait_for_banner(dash_duo, SLICE_5_7)
    permalink = f"{base_url}{RUN_PAGE}?from=5&to=7&threshold=100&scale=1&group=FastOR"
    wait_until(lambda: dash_duo.driver.current_url == permalink, msg="the URL holds the state")
    wait_until(
        lambda: (l0_card(dash_duo) or {}).get("info", "").startswith("Threshold: 0.1\n"),
        "the slice's information",
    )
    sliced = l0_card(dash_duo)
    assert sliced is not None
    assert sliced["info"].startswith(f"Threshold: 0.1\nFast OR Hot Channels ID: {HOT_LIST}\nStatistics: ")
    assert sliced["info"].endswith("(from bin centres: a computed histogram, as ROOT after a subtraction)")
    assert sliced["n"] == full["n"] == 5000, "one point per FastOR"
    assert sliced["y"] != full["y"], "the figure shows other data"
    wait_idle(dash_duo)
    assert watched(dash_duo) == {**IN_PLACE, "job": 1, "progress": True}, "computed by the job, put in place"
    assert x_range(dash_duo, FASTOR_L0) == zoomed, "the zoom is kept"
    assert dash_duo.find_element("#ts-message").text == ""
    assert thumb_values(dash_duo, "ts-range") == ["5", "7"], "the controls show the slice"
    assert thumb_values(dash_duo, "ts-threshold") == ["100"]
    links = [a.get_attribute("href") for a in dash_duo.find_elements(".run-sidebar a")]
    assert links
    assert all("from=5&to=7&threshold=100&scale=1" in link for link in links), "the sidebar keeps the slice"

    dash_duo.driver.back()
    wait_until(lambda: dash_duo.driver.current_url == full_url, msg="back to the full run")
    wait_until(lambda: description(dash_duo).startswith("Full run"), msg="the full-run view")
    assert banner(dash_duo) is None
    wait_until(lambda: l0_card(dash_duo) == full, msg="the full run's figure again")
    wait_for_thumbs(dash_duo, "ts-range", ["0", "7"])
    wait_for_thumbs(dash_duo, "ts-threshold", ["0"])
    after_back = watched(dash_duo)
    assert after_back["graphs"], "back is answered in place: the same graphs"
    assert after_back["router"] == 0, "and no page render"

    dash_duo.driver.forward()
    wait_until(lambda: dash_duo.driver.current_url == permalink, msg="forward to the slice")
    assert wait_for_banner(dash_duo, SLICE_5_7) == shown
    wait_until(lambda: l0_card(dash_duo) == sliced, msg="the slice's figure again")
    wait_for_thumbs(dash_duo, "ts-range", ["5", "7"])
    assert watched(dash_duo) == {**IN_PLACE, "job": 1, "progress": True}, "forward in place, from the cache"

    dash_duo.driver.get(permalink)  # a new page load of the link: drawn from the view cache at once
    dash_duo.wait_for_text_to_equal("#ts-banner", shown, timeout=WAIT)
    wait_for_group(dash_duo)
    wait_until(lambda: l0_card(dash_duo) == sliced, msg="the slice's figure again")
    assert not progress_shown(dash_duo), "a cached slice needs no progress bar"
    assert not is_enabled(dash_duo, "#ts-cancel")
    assert dash_duo.get_logs() == []


def test_a_cached_slice_needs_no_job_and_reset_goes_back_in_place(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str], browser_app: dash.Dash
) -> None:
    with browser_app.server.app_context():
        services().views.time_slice(300003, "EMC", TimeSliceRequest(4, 7, True, 0))
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo)
    full = l0_card(dash_duo)
    set_window(dash_duo, 4)
    watch_page(dash_duo)
    dash_duo.find_element("#ts-apply").click()
    wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 4–7 min, shown 4–7 min "))
    wait_until(lambda: "from=4&to=7" in dash_duo.driver.current_url, msg="the URL holds the state")
    wait_until(lambda: l0_card(dash_duo) != full, msg="the slice's figure")
    assert watched(dash_duo) == {**IN_PLACE, "job": 0, "progress": False}, "no job, no progress bar"

    type_into(dash_duo, "#ts-threshold input[type=number]", "250")
    dash_duo.find_element("#ts-reset").click()
    wait_until(lambda: description(dash_duo).startswith("Full run"), msg="the full run again")
    assert dash_duo.driver.current_url == f"{base_url}{RUN_PAGE}?group={GROUP}"
    wait_until(lambda: l0_card(dash_duo) == full, msg="the full run's figure")
    wait_for_thumbs(dash_duo, "ts-range", ["0", "7"])
    wait_for_thumbs(dash_duo, "ts-threshold", ["0"])
    assert watched(dash_duo) == {**IN_PLACE, "job": 0, "progress": False}, "Reset in place too"
    dash_duo.driver.back()
    wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 4–7 min"))
    assert watched(dash_duo)["router"] == 0
    assert dash_duo.get_logs() == []


def hot_rows(dash_duo: DashComposite) -> dict[str, list[str]]:
    """Threshold and hot-channel rows of every FastOR plot on the page, by histogram."""
    found: dict[str, list[str]] = dash_duo.driver.execute_script(
        """
        const rows = {};
        for (const span of document.querySelectorAll('[id*="hist-info-row"]')) {
            const id = JSON.parse(span.id);
            if (id.label !== 'Threshold' && id.label !== 'Fast OR Hot Channels ID') continue;
            (rows[id.name] = rows[id.name] || []).push(span.textContent);
        }
        return rows;
        """
    )
    return found


def threshold_marks(dash_duo: DashComposite) -> dict[str, str]:
    """Where each drawn FastOR plot shows its threshold: a line's height, or the note's text."""
    found: dict[str, str] = dash_duo.driver.execute_script(
        """
        const marks = {};
        for (const plot of document.querySelectorAll('#run-page-main .js-plotly-plot')) {
            const layout = plot._fullLayout;
            const line = (layout.shapes || []).find(s => s.name === 'hot-channel-threshold');
            const note = (layout.annotations || []).find(a => a.name === 'hot-channel-threshold');
            const name = JSON.parse(plot.closest('[id*="hist-graph"]').id).name;
            if (line || note) marks[name] = line ? String(line.y0) : note.text;
        }
        return marks;
        """
    )
    return found


def test_the_threshold_what_if_lists_live_what_apply_lists(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo)
    defaults = hot_rows(dash_duo)
    assert len(defaults) == 6, "FastOR L0/L1, plain, Amp and LargeAmp"
    assert defaults[FASTOR_L0] == ["0.01", HOT_LIST]
    assert threshold_marks(dash_duo)[FASTOR_L0] == "0.01"
    watch_page(dash_duo)

    thumb = thumbs(dash_duo, "ts-threshold")[0]
    for _ in range(3):
        thumb.send_keys(Keys.ARROW_RIGHT)
    wait_for_thumbs(dash_duo, "ts-threshold", ["3"])
    wait_until(
        lambda: hot_rows(dash_duo)[FASTOR_L0][0].startswith("0.003"), msg="the list follows the slider"
    )
    wait_until(lambda: threshold_marks(dash_duo)[FASTOR_L0] == "0.003", msg="and the line")
    live = hot_rows(dash_duo)
    assert live[FASTOR_L0][0] == "0.003 (what-if: Apply computes the slice)"
    amp = "EMCTRQA_histFastORL0Amp"  # per event ~0.01 a FastOR: the user's thresholds are far lower
    assert defaults[amp] == ["10000", HOT_LIST], "its own default threshold"
    assert live[amp][0] == "0.003 (what-if: Apply computes the slice)"
    assert len(live[amp][1].split(", ")) > 1000, "most FastORs are above 0.003"
    assert watched(dash_duo) == {**IN_PLACE, "job": 0, "progress": False}, "no job, no server round trip"
    assert dash_duo.driver.current_url.endswith(f"?group={GROUP}"), "nothing applied yet"

    type_into(dash_duo, "#ts-threshold input[type=number]", "150")  # the number box moves it too
    wait_until(lambda: hot_rows(dash_duo)[FASTOR_L0][0].startswith("0.15 "), msg="the box's value")
    what_if = {name: rows[1] for name, rows in hot_rows(dash_duo).items()}
    marks = threshold_marks(dash_duo)
    assert marks[FASTOR_L0] == "0.15"

    dash_duo.find_element("#ts-apply").click()  # the full run with threshold 150: computed, then in place
    wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 0–7 min, shown 0–7 min .*threshold 150$"))
    wait_until(lambda: hot_rows(dash_duo)[FASTOR_L0][0] == "0.15", msg="applied: no what-if note")
    applied = {name: rows[1] for name, rows in hot_rows(dash_duo).items()}
    assert applied == what_if, "the what-if listed exactly what Apply lists"
    assert threshold_marks(dash_duo) == marks
    assert dash_duo.get_logs() == []


def test_invalid_input_shows_its_message_and_starts_no_job(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo)
    page_url = dash_duo.driver.current_url

    # The range's number boxes let the two ends meet: an empty window.
    type_into(dash_duo, "#ts-range input.dash-range-slider-min-input", "5")
    type_into(dash_duo, "#ts-range input.dash-range-slider-max-input", "5")
    wait_for_thumbs(dash_duo, "ts-range", ["5", "5"])
    dash_duo.find_element("#ts-apply").click()
    dash_duo.wait_for_text_to_equal(
        "#ts-message #ts-error", "max_time (5 min) must be greater than min_time (5 min)", timeout=WAIT
    )
    assert not is_enabled(dash_duo, "#ts-cancel"), "no job started"
    assert not progress_shown(dash_duo)
    assert banner(dash_duo) is None
    assert dash_duo.driver.current_url == page_url

    # The threshold box: letters leave it empty, and an empty threshold is refused as well.
    type_into(dash_duo, "#ts-range input.dash-range-slider-max-input", "7")
    wait_for_thumbs(dash_duo, "ts-range", ["5", "7"])
    type_into(dash_duo, "#ts-threshold input[type=number]", "abc")
    wait_until(
        lambda: dash_duo.find_element("#ts-threshold input[type=number]").get_attribute("value") == "",
        msg="the box refused the letters",
    )
    dash_duo.find_element("#ts-apply").click()
    dash_duo.wait_for_text_to_equal(
        "#ts-message #ts-error", "hot_channel_threshold must be an integer 0–1000, got None", timeout=WAIT
    )
    assert not is_enabled(dash_duo, "#ts-cancel"), "no job started"
    assert banner(dash_duo) is None
    assert dash_duo.driver.current_url == page_url

    # Corrected input clears the message and computes the slice.
    type_into(dash_duo, "#ts-threshold input[type=number]", "100")
    wait_for_thumbs(dash_duo, "ts-threshold", ["100"])
    dash_duo.find_element("#ts-apply").click()
    wait_for_banner(dash_duo, SLICE_5_7)
    assert dash_duo.find_element("#ts-message").text == ""
    assert dash_duo.get_logs() == []


def live_jobs() -> list[psutil.Process]:
    """Background jobs the diskcache manager forked from this (the server's) process."""
    me = psutil.Process()
    found = []
    for child in me.children():
        try:
            if child.cmdline() == me.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_cancel_keeps_the_old_view(
    dash_duo: DashComposite, start_app: Callable[..., dash.Dash], shifter: tuple[str, str]
) -> None:
    app = start_app(slice_delay_seconds=5.0)
    base_url = str(dash_duo.server.url)
    first = "?from=0&to=3&threshold=0&scale=1&group=FastOR"
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}{first}")
    # Not cached yet: the link computes it (Computing…, then the slice in place, 5 s of delay).
    old = wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 0–3 min, shown 0–3 min .*default$"))
    wait_for_group(dash_duo)
    wait_idle(dash_duo)
    old_figure = l0_card(dash_duo)
    assert dash_duo.driver.current_url == f"{base_url}{RUN_PAGE}{first}"

    set_window(dash_duo, 5)
    dash_duo.find_element("#ts-apply").click()
    wait_until(lambda: is_enabled(dash_duo, "#ts-cancel"), msg="Cancel enabled while running")
    assert progress_shown(dash_duo)
    assert not is_enabled(dash_duo, "#ts-apply")
    wait_until(
        lambda: re.fullmatch(r"\d+/\d+ histograms", dash_duo.find_element("#ts-progress").text),
        msg="progress counts histograms",
    )
    assert live_jobs(), "the slice runs in a process forked from the server"
    dash_duo.find_element("#ts-cancel").click()

    wait_idle(dash_duo)
    wait_until(lambda: not live_jobs(), msg="the job process ended")
    with app.server.app_context():
        cancelled = TimeSliceRequest(5, 7, True, 0)
        assert services().views.cached_time_slice(300003, "EMC", cancelled) is None, "killed, not finished"
    assert banner(dash_duo) == old, "the old view stays"
    assert l0_card(dash_duo) == old_figure
    assert dash_duo.driver.current_url == f"{base_url}{RUN_PAGE}{first}"
    assert dash_duo.find_element("#ts-message").text == ""
    assert dash_duo.get_logs() == []


class SliceGate:
    """Takes the place of ``slice_delay_seconds``' sleep: a computed slice waits until the test opens the
    gate (a file, since the jobs run in processes forked from the server), so a job is surely still
    running when the user moves on, however slow the machine; a bound keeps a broken test from hanging."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> None:
        deadline = time.monotonic() + 120
        while not self.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def open(self) -> None:
        self.path.touch()


#: Counts the answers that carried a finished job's ts-result (a poll with a body, not 204), from now on.
WATCH_RESULTS = """
window.__results = 0;
if (!window.__resultsWatched) {
    window.__resultsWatched = true;
    const send = window.fetch;
    window.fetch = function (url, options) {
        const answer = send.apply(this, arguments);
        let poll = false;
        try {
            poll = String(url).includes('cacheKey=') && JSON.parse(options.body).output === 'ts-result.data';
        } catch (error) { /* not a callback */ }
        if (poll) {
            answer.then(response => response.clone().text()).then(body => {
                if (body.includes('"ts-result"')) window.__results += 1;
            }).catch(() => {});
        }
        return answer;
    };
}
"""

#: Resolves after two animation frames and a task: whatever a received answer set off has run by then.
SETTLED = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0)));
"""


def test_a_job_the_user_moved_on_from_does_not_take_the_page_over(
    dash_duo: DashComposite, start_app: Callable[..., dash.Dash], shifter: tuple[str, str], tmp_path: Path
) -> None:
    app = start_app()
    gate = SliceGate(tmp_path / "gate-open")
    with app.server.app_context():
        views = services().views
        views.full_run(300003, "EMC")  # the page itself and the slice 2–7 are computed now, ungated
        views.time_slice(300003, "EMC", TimeSliceRequest(2, 7, True, 0))
        views.delay = gate  # every slice computed from now on waits for the gate
    base_url = str(dash_duo.server.url)
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo, plots=2)

    # Back within the page while a job runs: the earlier state in place, the job cancelled.
    set_window(dash_duo, 2)
    dash_duo.find_element("#ts-apply").click()  # cached: in place at once
    first = wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 2–7 min"))
    wait_idle(dash_duo)
    set_window(dash_duo, 5)
    dash_duo.find_element("#ts-apply").click()
    wait_until(lambda: is_enabled(dash_duo, "#ts-cancel") and live_jobs(), msg="the second job runs")
    dash_duo.driver.back()
    wait_until(lambda: description(dash_duo).startswith("Full run"), msg="back to the full run, in place")
    wait_idle(dash_duo)
    wait_until(lambda: not live_jobs(), msg="the job was cancelled")
    with app.server.app_context():
        assert services().views.cached_time_slice(300003, "EMC", TimeSliceRequest(5, 7, True, 0)) is None
    assert dash_duo.driver.current_url == f"{base_url}{RUN_PAGE}?group={GROUP}"
    dash_duo.driver.forward()
    assert wait_for_banner(dash_duo, re.compile(r"^Time slice: requested 2–7 min")) == first

    # Another group while a job runs: the job finishes there, and its result is dropped.
    set_window(dash_duo, 4)
    dash_duo.driver.execute_script(WATCH_RESULTS)
    dash_duo.find_element("#ts-apply").click()
    wait_until(lambda: is_enabled(dash_duo, "#ts-cancel") and live_jobs(), msg="a job runs")
    link = dash_duo.driver.find_element("link text", "EMCal cluster level")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()
    dash_duo.wait_for_text_to_equal("#run-page-main h4", "EMCal cluster level", timeout=WAIT)
    other = dash_duo.driver.current_url
    assert "group=EMCal+cluster+level" in other
    assert live_jobs(), "the job still runs on the other group's page"
    gate.open()
    wait_until(lambda: not live_jobs(), msg="the job has finished")
    with app.server.app_context():
        late = TimeSliceRequest(4, 7, True, 0)
        assert services().views.cached_time_slice(300003, "EMC", late) is not None, "finished, not cancelled"
    wait_until(
        lambda: dash_duo.driver.execute_script("return window.__results;") >= 1,
        msg="its result reached the page",
    )
    dash_duo.driver.execute_async_script(SETTLED)
    wait_idle(dash_duo)
    assert dash_duo.driver.current_url == other
    assert banner(dash_duo) == first, "the group keeps the slice its link carried, not the late job's"
    assert dash_duo.find_element("#run-page-main h4").text == "EMCal cluster level"
    assert dash_duo.get_logs() == []


def mark_centres(dash_duo: DashComposite, slider: str) -> list[float]:
    """The x centre of every minute's mark on a slider (the run page marks each file's minute)."""
    found: list[float] = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .dash-slider-mark'))"
        ".map(m => { const r = m.getBoundingClientRect(); return r.left + r.width / 2; });",
        slider,
    )
    return found


def thumb_centres(dash_duo: DashComposite, slider: str) -> list[float]:
    found: list[float] = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .dash-slider-thumb'))"
        ".map(t => { const r = t.getBoundingClientRect(); return r.left + r.width / 2; });",
        slider,
    )
    return found


def at_minute(marks: list[float], minute: float) -> float:
    """Where a (fractional) minute lies on the track: between the marks of the whole minutes around it."""
    whole = min(int(minute), len(marks) - 2)
    return marks[whole] + (minute - whole) * (marks[whole + 1] - marks[whole])


#: Records the time window's thumb values at every change, and whether the mouse button was down then.
RECORD_DRAG = """
window.__drag = [];
window.__held = false;
document.addEventListener('pointerdown', () => { window.__held = true; }, true);
document.addEventListener('pointerup', () => { window.__held = false; }, true);
new MutationObserver(() => {
    const values = Array.from(document.querySelectorAll('#ts-range .dash-slider-thumb'))
        .map(t => t.getAttribute('aria-valuenow'));
    const last = window.__drag[window.__drag.length - 1];
    if (!last || last.values.join() !== values.join()) {
        window.__drag.push({values: values, held: window.__held,
                            window: document.getElementById('ts-window').textContent});
    }
}).observe(document.getElementById('ts-range'), {attributes: true, subtree: true,
                                                 attributeFilter: ['aria-valuenow']});
"""


def drag(dash_duo: DashComposite, thumb: int, minutes: list[float]) -> tuple[float, list[dict[str, Any]]]:
    """Press a time-window thumb, move the pointer through (fractional) ``minutes`` in small steps as a hand
    does, let go: one gesture (a second ActionChains would lose the pointer capture). Returns where the
    pointer let go and the thumb values seen on the way, each with whether the button was still down."""
    dash_duo.driver.execute_script(RECORD_DRAG)
    marks = mark_centres(dash_duo, "ts-range")
    pointer = thumb_centres(dash_duo, "ts-range")[thumb]
    handle = thumbs(dash_duo, "ts-range")[thumb]
    chain = ActionChains(dash_duo.driver).move_to_element(handle).click_and_hold()
    for minute in minutes:
        step = round((at_minute(marks, minute) - pointer) / 4)
        for _ in range(4):
            chain.move_by_offset(step, 0)
        pointer += 4 * step
    chain.release().perform()
    seen: list[dict[str, Any]] = dash_duo.driver.execute_script("return window.__drag;")
    return pointer, seen


def test_the_window_dragged_with_the_mouse_snaps_to_minutes_and_apply_computes_it(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]
) -> None:
    log_in(dash_duo, base_url, shifter, f"{RUN_PAGE}?group={GROUP}")
    wait_for_group(dash_duo, plots=2)
    full = l0_card(dash_duo)
    marks = mark_centres(dash_duo, "ts-range")
    assert len(marks) == 8, "a mark at every minute 0–7"
    assert thumb_centres(dash_duo, "ts-range") == [marks[0], marks[7]]

    # The lower thumb follows the pointer minute by minute while held; nothing is chosen before it is let go.
    pointer, seen = drag(dash_duo, 0, [1.3, 2.35])
    held = {"held": True, "window": "Window: 0–7 min"}
    assert seen[:2] == [{"values": ["1", "7"], **held}, {"values": ["2", "7"], **held}]
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 2–7 min", timeout=WAIT)
    assert thumb_values(dash_duo, "ts-range") == ["2", "7"]
    lower = thumb_centres(dash_duo, "ts-range")[0]
    assert lower == marks[2], "let go at 2.35 min, the thumb snaps onto the minute 2 mark"
    assert abs(pointer - lower) > 20, "away from where the pointer let go"

    # The upper thumb, dragged down through minute 6 to 5.4: it snaps to 5.
    pointer, seen = drag(dash_duo, 1, [6.2, 5.4])
    held = {"held": True, "window": "Window: 2–7 min"}
    assert seen[:2] == [{"values": ["2", "6"], **held}, {"values": ["2", "5"], **held}]
    dash_duo.wait_for_text_to_equal("#ts-window", "Window: 2–5 min", timeout=WAIT)
    assert thumb_centres(dash_duo, "ts-range") == [marks[2], marks[5]]
    assert abs(pointer - marks[5]) > 20
    assert dash_duo.driver.current_url == f"{base_url}{RUN_PAGE}?group={GROUP}", "nothing applied yet"

    dash_duo.find_element("#ts-apply").click()
    wait_for_banner(
        dash_duo, re.compile(r"^Time slice: requested 2–5 min, shown 2–5 min \(nearest files\), ")
    )
    permalink = f"{base_url}{RUN_PAGE}?from=2&to=5&threshold=0&scale=1&group={GROUP}"
    wait_until(lambda: dash_duo.driver.current_url == permalink, msg="the URL holds the dragged window")
    wait_until(lambda: l0_card(dash_duo) not in (None, full), msg="the slice's figure")
    wait_idle(dash_duo)
    assert thumb_values(dash_duo, "ts-range") == ["2", "5"], "the controls show the slice"
    assert dash_duo.get_logs() == []
