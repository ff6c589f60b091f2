"""Browser: time slice "slider release → updated figures" for the EMC FastOR group, in headless Chromium.

The app runs as in production: `overwatch serve` (gunicorn, 2 workers, diskcache jobs in the instance
folder) on a 40-minute demo run, ingested (decoded arrays on disk). The window is set with the range's
number boxes (10–30 min), then the clock starts at the Apply click and stops, in the page itself
(``performance.now()``, checked every 5 ms), when the banner names the slice and the plots hold new
data: "visible" when every plot in the 1920×1080 window at the click does, "all" when every plot of the
group does. That covers the background job, polls, the result's transfer and Plotly's drawing (and, in
the code before issue 10, the permalink navigation and the page re-render).

* cold: a new window each time, the view cache emptied just before Apply (the slice is computed);
* cached: the same window again, back to the full run, then the same window applied once more.
* threshold what-if: right-arrow steps of the threshold slider's thumb; each step is timed from the key
  event to every visible FastOR plot's threshold line and hot-channel list showing the new value.

Run: ``cd benchmarks && ../.venv/bin/python bench_slider_browser.py``
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import dash
import diskcache
import psutil
from common import BENCH_RUN, ingested_run, workdir
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboard import figures
from dashboard.factory import create_app
from dashboard.services import services
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import Settings
from overwatch_core.users import UserStore

REPEAT = 7
WHAT_IF_STEPS = 15
WINDOW = (10, 30)
GROUP = "FastOR"  # the target group; FastOR L0/L1 are also where the hot channels are
USER, PASSWORD = "bench", "bench-password"
WAIT = 120.0

#: Start the clock, click Apply, and stop it when the banner shows the slice and the plots' data differ
#: from what they showed before (each plot is checked by reference to its arrays as sent, and drawn):
#: "visible" for the plots in the window at the click, "total" for all of them.
APPLY_AND_TIME = """
const expected = arguments[0], prefix = arguments[1];
const plotsNow = () => Array.from(document.querySelectorAll('#run-page-main .js-plotly-plot'));
const arrays = () => plotsNow().map(
    p => (p.data || []).map(t => {
        const v = t.z || t.y;
        return v && v.bdata ? v.bdata : JSON.stringify(v);
    }));
const before = arrays();
const visible = plotsNow().map(p => {
    const box = p.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight;
});
const updated = (which) => {
    const banner = document.getElementById('ts-banner');
    if (!banner || !banner.textContent.startsWith(prefix)) return false;
    const plots = plotsNow();
    if (plots.length !== expected) return false;
    const now = arrays();
    for (let i = 0; i < expected; i++) {
        if (!which(i)) continue;
        const p = plots[i];
        if (!p._fullLayout || !p._fullData || !p._fullData.length) return false;
        if (!before[i] || now[i].length !== before[i].length) continue;
        if (now[i].every((v, j) => v === before[i][j])) return false;
    }
    return true;
};
window.__sliceMs = null;
window.__steps = {};
const started = performance.now();
const step = (name, reached) => {
    if (reached && !(name in window.__steps)) window.__steps[name] = performance.now() - started;
};
const timer = setInterval(() => {
    const wrap = document.getElementById('ts-progress-wrap');
    step('running', wrap && wrap.style.display === 'block');
    step('idle', 'running' in window.__steps && wrap && wrap.style.display === 'none');
    step('url', location.search.includes('from='));
    const banner = document.getElementById('ts-banner');
    step('banner', banner && banner.textContent.startsWith(prefix));
    step('visible', updated(i => visible[i]));
    if (updated(() => true)) { window.__sliceMs = performance.now() - started; clearInterval(timer); }
}, 5);
document.getElementById('ts-apply').click();
"""

#: The what-if clock: armed before a key press on the threshold thumb (the listener takes the time of the
#: keydown), stopped when every visible FastOR plot shows the new threshold (line or note, as drawn by
#: Plotly) and its hot-channel row has been rewritten for it.
WHAT_IF_ARM = """
const plots = () => Array.from(document.querySelectorAll('#run-page-main .hist-card')).filter(card => {
    const box = card.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight
        && card.querySelector('[id*="Fast OR Hot Channels ID"]');
});
const mark = (card) => {
    const gd = card.querySelector('.js-plotly-plot');
    const layout = gd && gd._fullLayout;
    if (!layout) return null;
    const shape = (layout.shapes || []).find(s => s.name === 'hot-channel-threshold');
    if (shape) return String(shape.y0);
    const note = (layout.annotations || []).find(a => a.name === 'hot-channel-threshold');
    return note ? note.text : null;
};
window.__whatIf = null;
const thumb = document.querySelector('#ts-threshold .dash-slider-thumb');
thumb.addEventListener('keydown', () => {
    const started = performance.now();
    const k = Number(thumb.getAttribute('aria-valuenow')) + 1, text = String(k / 1000);
    const cards = plots();
    const done = () => cards.length > 0 && cards.every(card => {
        const row = card.querySelector(`[id*='"label":"Threshold"']`);
        const drawn = mark(card);
        return row && row.textContent.startsWith(text) && drawn !== null
            && (drawn === text || drawn.includes('threshold ' + text + ' '));
    });
    const timer = setInterval(() => {
        if (!done()) return;
        window.__whatIf = {ms: performance.now() - started, plots: cards.length};
        clearInterval(timer);
    }, 2);
}, {capture: true, once: true});
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def group_sizes(settings: Settings) -> dict[str, tuple[int, int]]:
    """Figure JSON and histograms of every EMC group (grid groups drawn compact)."""
    dash._pages.PAGE_REGISTRY.clear()
    app = create_app(settings)
    with app.server.test_request_context("/"):
        view = services().views.full_run(BENCH_RUN, "EMC")
        sizes = {
            g.name: (
                sum(figures.figure_json_bytes(figures.figure(h, compact=g.grid)) for h in g.histograms),
                len(g.histograms),
            )
            for g in view.groups
        }
    return sizes


def serve(settings: Settings, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(settings.data_path),
        OVERWATCH_INSTANCE_FOLDER=str(folder / "instance"),
        OVERWATCH_SECRET_KEY=secrets.token_hex(32),
        OVERWATCH_HOST="127.0.0.1",
        OVERWATCH_PORT=str(port),
        OVERWATCH_WORKERS="2",
        OVERWATCH_LOG_LEVEL="WARNING",
    )
    script = Path(sys.executable).with_name("overwatch")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "overwatch_core.cli"]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [*command, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/status", timeout=5) as response:
                if response.read() == b"Alive":
                    return process, base_url
        except (OSError, urllib.error.URLError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"overwatch serve did not start; see {folder / 'serve.log'}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to `overwatch serve`'s whole group (gunicorn's master and workers), then wait for all."""
    members = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    os.killpg(process.pid, signal.SIGTERM)
    _gone, alive = psutil.wait_procs(members, timeout=60)
    for survivor in alive:
        survivor.kill()
    process.wait(timeout=10)


def browser() -> webdriver.Chrome:
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--disable-extensions", "--no-first-run", "--window-size=1920,1080"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def wait(driver: webdriver.Chrome, script: str, *args: object) -> object:
    """Poll a JS expression (``return ...``) until it is truthy; the timing itself is taken in the page."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"waited {WAIT:.0f} s for: {script}")


def log_in(driver: webdriver.Chrome, base_url: str) -> None:
    driver.get(f"{base_url}/login")
    driver.find_element(By.ID, "username").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, "return document.getElementById('run-list-summary')")


def drawn(driver: webdriver.Chrome, plots: int, full_run: bool) -> int:
    """The group's cards are there and every card in the window shows its drawn plot (a page with lazy plots
    draws the others as they scroll into view); the full-run view (no banner) when asked. Returns how many
    plots are mounted."""
    mounted = wait(
        driver,
        """const cards = Array.from(document.querySelectorAll('#run-page-main .hist-card'));
        const inWindow = cards.filter(c => {
            const box = c.getBoundingClientRect();
            return box.bottom > 0 && box.top < window.innerHeight;
        });
        const plots = Array.from(document.querySelectorAll('#run-page-main .js-plotly-plot'));
        const banner = document.getElementById('ts-banner');
        const ready = cards.length === arguments[0] && plots.every(p => p._fullLayout)
            && inWindow.every(c => c.querySelector('.js-plotly-plot'))
            && (!arguments[1] || (!banner && !!document.getElementById('view-description')));
        return ready && plots.length;""",
        plots,
        full_run,
    )
    return int(mounted)  # type: ignore[call-overload]


def set_window(driver: webdriver.Chrome) -> None:
    """The range's number boxes (the value commits on blur)."""
    for end, value in zip(("min", "max"), WINDOW, strict=True):
        box = driver.find_element(By.CSS_SELECTOR, f"#ts-range input.dash-range-slider-{end}-input")
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(value), Keys.TAB)
    wait(
        driver,
        """return Array.from(document.querySelectorAll('#ts-range .dash-slider-thumb'))
            .map(t => t.getAttribute('aria-valuenow')).join('-') === arguments[0]""",
        f"{WINDOW[0]}-{WINDOW[1]}",
    )


def apply_and_time(driver: webdriver.Chrome, plots: int) -> dict[str, float]:
    """Milliseconds from the Apply click to: the job running (progress bar shown), the job done (bar
    hidden), the permalink in the address bar, the banner, and every figure updated ("total")."""
    prefix = f"Time slice: requested {WINDOW[0]}–{WINDOW[1]} min"
    driver.execute_script(APPLY_AND_TIME, plots, prefix)
    total = float(wait(driver, "return window.__sliceMs"))  # type: ignore[arg-type]
    assert f"from={WINDOW[0]}&to={WINDOW[1]}" in driver.current_url, driver.current_url
    steps = driver.execute_script("return window.__steps")
    return {**{name: float(ms) for name, ms in steps.items()}, "total": total}


STEPS = ("running", "idle", "url", "banner", "visible", "total")


def spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{statistics.median(values):.0f} ms (min {low:.0f}, max {high:.0f}, n={len(values)})"


def summary(runs: list[dict[str, float]]) -> str:
    visible = [run["visible"] for run in runs if "visible" in run]
    medians = ", ".join(
        f"{name} {statistics.median(run[name] for run in runs if name in run):.0f}"
        for name in STEPS
        if any(name in run for run in runs)
    )
    return (
        f"visible plots {spread(visible)}, all plots {spread([run['total'] for run in runs])}; "
        f"medians of the steps in ms: {medians}"
    )


def what_if_steps(driver: webdriver.Chrome) -> list[float] | None:
    """Milliseconds per threshold step (right arrow on the thumb), or None without a what-if (old code)."""
    if not driver.execute_script("return !!(window.dash_clientside && window.dash_clientside.time_slices)"):
        return None
    thumb = driver.find_element(By.CSS_SELECTOR, "#ts-threshold .dash-slider-thumb")
    times = []
    for _ in range(WHAT_IF_STEPS):
        driver.execute_script(WHAT_IF_ARM)
        thumb.send_keys(Keys.ARROW_RIGHT)
        step = wait(driver, "return window.__whatIf")
        times.append(float(step["ms"]))  # type: ignore[index]
    return times


def main() -> None:
    started = time.perf_counter()
    settings = ingested_run(n_files=40)
    folder = workdir()
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    UserStore(catalog, rounds=4).add(USER, PASSWORD, "shifter")
    catalog.close()
    sizes = group_sizes(settings)
    group, (size, plots) = GROUP, sizes[GROUP]
    print(f"demo run {BENCH_RUN} ingested and app checked in {time.perf_counter() - started:.0f} s")
    largest = max(sizes, key=lambda name: sizes[name][0])
    print(f"EMC group {group!r}: {size / 1e3:.0f} kB figure JSON, {plots} histograms")
    print(f"(largest by figure JSON: {largest!r} with {sizes[largest][0] / 1e3:.0f} kB)")

    views = diskcache.Cache(str(settings.cache_path / "views"))
    process, base_url = serve(settings, folder)
    driver = browser()
    page = f"{base_url}/runs/{BENCH_RUN}/EMC?group={quote(group)}"
    try:
        log_in(driver, base_url)
        cold = []
        for _ in range(REPEAT):
            old = driver.current_window_handle
            driver.switch_to.new_window("window")
            new = driver.current_window_handle
            driver.switch_to.window(old)
            driver.close()
            driver.switch_to.window(new)
            driver.get(page)
            mounted = drawn(driver, plots, full_run=True)
            set_window(driver)
            views.clear()
            cold.append(apply_and_time(driver, mounted))
        cached = []
        for _ in range(REPEAT):
            driver.back()
            mounted = drawn(driver, plots, full_run=True)
            set_window(driver)
            cached.append(apply_and_time(driver, mounted))
        what_if = what_if_steps(driver)
        logs = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
        stop(process)
    window = f"{WINDOW[0]}–{WINDOW[1]} min of 39"
    print(f"Apply → banner and figures, window {window} ({mounted} of {plots} plots drawn with the page):")
    print(f"  cold (new window, view cache empty): {summary(cold)}")
    print(f"  cached (same window again):          {summary(cached)}")
    if what_if is None:
        print("  threshold what-if: not in this version")
    else:
        print(f"  threshold what-if, one slider step → visible FastOR plots and lists: {spread(what_if)}")
    print(f"  browser console errors: {len(logs)}")
    for entry in logs[:3]:
        print(f"    {entry['message'][:300]}")


if __name__ == "__main__":
    main()
