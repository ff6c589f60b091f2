"""Browser: how soon a run page shows its plots, in headless Chromium (issue 10: first plots of any run
page ≤ 1 s after navigation, the HLT page settled ≤ 2 s).

The app runs as in production (`overwatch serve`: gunicorn, 2 workers) on the original's layout
(realistic_data.py, 30 minutes, ingested; the view cache warmed by one visit, as the first shifter leaves
it). Each page is opened by address (a full page load) in a new window, REPEAT times; a script injected
before the page's own (CDP ``Page.addScriptToEvaluateOnNewDocument``) checks every animation frame, with
``performance.now()`` (milliseconds since the navigation started):

* first plot: the first plot card whose Plotly graph is drawn;
* settled: every plot card in the viewport drawn (with lazy pages the others wait for a scroll);
* all drawn: every plot card of the page drawn, when no placeholder waits for a scroll (pages without
  lazy loading, as before issue 10, or short ones).

In-app navigation (a sidebar link to another group, no page load) is timed from the click the same way.
Run: ``cd benchmarks && ../.venv/bin/python bench_pages_browser.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from urllib.parse import quote

import diskcache
from bench_dashboard import add_user, realistic_run
from bench_slider_browser import WAIT, browser, log_in, serve, stop
from common import workdir
from realistic_data import RUN
from selenium import webdriver

LARGEST = "Jet Trigger High"

#: Watches the page from its first script on; ``window.__pageTimes`` holds the times once reached.
WATCH = """
window.__pageTimes = {};
window.__watchFrom = 0;
window.__watchGroup = null;
(function watch() {
  const times = window.__pageTimes, cards = document.querySelectorAll('#run-page-main .hist-card');
  const heading = document.querySelector('#run-page-main h4');
  const current = !window.__watchGroup || (heading && heading.textContent === window.__watchGroup);
  if (cards.length && current) {
    const drawn = Array.from(cards).map(card => {
      const plot = card.querySelector('.js-plotly-plot');
      return !!(plot && plot._fullLayout && plot.querySelector('.main-svg'));
    });
    const now = performance.now() - window.__watchFrom;
    const inView = Array.from(cards).map(card => {
      const box = card.getBoundingClientRect();
      return box.top < window.innerHeight && box.bottom > 0;
    });
    if (!('first' in times) && drawn.some(Boolean)) times.first = now;
    if (!('settled' in times) && drawn.every((d, i) => d || !inView[i]) && inView.some(Boolean)) {
      times.settled = now;
    }
    if (!('all' in times) && drawn.every(Boolean)) times.all = now;
    times.cards = cards.length;
  }
  window.requestAnimationFrame(watch);
})();
"""

#: Click a sidebar link and restart the watch for the group it opens.
NAVIGATE = """
const links = Array.from(document.querySelectorAll('.run-sidebar a'));
const link = links.find(a => a.textContent.startsWith(arguments[0]));  // a verdict badge may follow
window.__pageTimes = {};
window.__watchGroup = arguments[0];
window.__watchFrom = performance.now();
link.click();
"""


def wait_for(driver: webdriver.Chrome, key: str) -> float:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = driver.execute_script("return window.__pageTimes && window.__pageTimes[arguments[0]]", key)
        if value is not None:
            return float(value)
        time.sleep(0.02)
    raise TimeoutError(key)


def open_page(driver: webdriver.Chrome, url: str) -> dict[str, float]:
    """A full page load in a fresh window; the times of the first plot and the settled viewport."""
    old = driver.current_window_handle
    driver.switch_to.new_window("window")
    driver.switch_to.window(old)
    driver.close()
    driver.switch_to.window(driver.window_handles[-1])
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    driver.get(url)
    times = {"first": wait_for(driver, "first"), "settled": wait_for(driver, "settled")}
    if not driver.execute_script("return document.querySelector('#run-page-main .lazy-placeholder')"):
        times["all"] = wait_for(driver, "all")  # nothing waits for a scroll: the page draws everything
    return {**times, "cards": driver.execute_script("return window.__pageTimes.cards")}


def navigate(driver: webdriver.Chrome, group: str) -> dict[str, float]:
    driver.execute_script(NAVIGATE, group)
    return {"first": wait_for(driver, "first"), "settled": wait_for(driver, "settled")}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}–{max(values):.0f})"


def report(label: str, runs: list[dict[str, float]]) -> None:
    parts = [
        f"first plot {spread([r['first'] for r in runs])}",
        f"settled {spread([r['settled'] for r in runs])}",
    ]
    alls = [r["all"] for r in runs if "all" in r]
    parts.append(f"all drawn {spread(alls)}" if len(alls) == len(runs) else "all drawn: only after scrolling")
    cards = f", {int(runs[0]['cards'])} plots" if "cards" in runs[0] else ""
    print(f"  {label}{cards} (n={len(runs)}): " + "; ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = realistic_run(30)
    add_user(settings)
    folder = workdir()
    process, base_url = serve(settings, folder)
    driver = browser()
    pages = {
        "HLT (one group)": f"/runs/{RUN}/HLT",
        "EMC first group (FEE vs TRU, grid)": f"/runs/{RUN}/EMC",
        "EMC Jet Trigger High (largest JSON, 24 full width)": f"/runs/{RUN}/EMC?group={quote(LARGEST)}",
        "EMC FastOR": f"/runs/{RUN}/EMC?group=FastOR",
        "TPC (from the HLT files)": f"/runs/{RUN}/TPC",
        "one histogram alone (EMC FastOR L0 time, 5000×20)": f"/runs/{RUN}/EMC?hist=EMCTRQA_histFastORL0Time",
    }
    try:
        log_in(driver, base_url)
        for url in pages.values():  # warm the view cache as a first visit would
            open_page(driver, base_url + url)
        print(f"realistic run {RUN}, overwatch serve (2 workers), headless Chromium 1920×1080:")
        for label, url in pages.items():
            report(label, [open_page(driver, base_url + url) for _ in range(args.repeat)])
        runs = []
        for _ in range(args.repeat):
            open_page(driver, base_url + pages["EMC FastOR"])
            runs.append(navigate(driver, LARGEST))
        report("sidebar link FastOR → Jet Trigger High (no page load)", runs)
        logs = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        print(f"  browser console errors: {len(logs)}")
        for entry in logs[:3]:
            print(f"    {entry['message'][:300]}")
    finally:
        driver.quit()
        stop(process)
        diskcache.Cache(str(settings.cache_path / "views")).close()


if __name__ == "__main__":
    main()
