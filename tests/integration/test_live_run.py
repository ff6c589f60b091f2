"""A live run end to end, the path `make demo` shows a newcomer: `overwatch serve` and `overwatch process
--watch` share one data folder and catalog while `overwatch replay` drops a run's files into it, and
headless Chromium keeps the run list and the run's page open meanwhile.

The replay drops one minute of files at a time, when the test is ready for it, rather than on the replay's
own clock: a timer racing a loaded browser could drop two minutes before a page has shown the first. The
files are the demo generator's, named as a receiver names them (one a minute, the newest just now), so the
run is ongoing by the default ``ongoing_minutes``; it ends when the next run's first file arrives.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from overwatch_core import demo
from overwatch_core.filenames import zone
from tests.integration.browser import severe_logs, text_of, wait_in_browser
from tests.integration.processes import WAIT, Started, free_port, overwatch_command, serve, wait_for

pytestmark = pytest.mark.browser

USER = ("sam", "sam-live-pw")
RUN = 300040
ZONE = "Europe/Zurich"  # the default timezone: file names are in it
SUBSYSTEMS = ("EMC", "HLT", "TPC")


def minutes_of_files(source: Path, out: Path) -> list[Path]:
    """The source run's files, one folder per minute (the n-th file of every subsystem), oldest first."""
    per_subsystem = [sorted(source.glob(f"{name}histos_*.root")) for name in SUBSYSTEMS]
    folders = []
    for index, files in enumerate(zip(*per_subsystem, strict=True)):
        folder = out / f"minute-{index}"
        folder.mkdir(parents=True)
        for path in files:
            shutil.move(path, folder / path.name)
        folders.append(folder)
    return folders


def replay(env: dict[str, str], run_number: int, folder: Path, *watched: Started) -> None:
    """`overwatch replay` of one folder: its files copied into the drop folder (dot-file, then rename)."""
    done = subprocess.run(
        [*overwatch_command(), "replay", str(run_number), "--source", str(folder), "--cadence", "0"],
        env=env, capture_output=True, text=True, timeout=WAIT, check=False,
    )  # fmt: skip
    for item in watched:
        item.check_alive()
    expected = f"replay of run {run_number} finished: {len(list(folder.iterdir()))} files"
    assert done.returncode == 0, done.stdout + done.stderr
    assert expected in done.stdout


@pytest.fixture
def live_site(tmp_path: Path) -> dict[str, str]:
    """The environment of every process: an empty data folder, one gunicorn worker, a processing pass
    every half second, pages that look for new files every second, and a user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(tmp_path / "data"),
        OVERWATCH_INSTANCE_FOLDER=str(tmp_path / "instance"),
        OVERWATCH_SECRET_KEY=secrets.token_hex(32),
        OVERWATCH_HOST="127.0.0.1",
        OVERWATCH_PORT=str(free_port()),
        OVERWATCH_WORKERS="1",
        OVERWATCH_TIMEZONE=ZONE,
        OVERWATCH_SETTLE_SECONDS="0",
        OVERWATCH_PROCESS_PERIOD_SECONDS="0.5",
        OVERWATCH_LIVE_REFRESH_SECONDS="1",
    )
    added = subprocess.run(
        [*overwatch_command(), "users", "add", USER[0], "--role", "shifter", "--password-stdin"],
        input=f"{USER[1]}\n", env=env, capture_output=True, text=True, timeout=WAIT, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    return env


# -- what the pages show ----------------------------------------------------------------------------------


def log_in(browser: webdriver.Chrome, base_url: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/login")
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys(USER[0])
    browser.find_element(By.ID, "password").send_keys(USER[1])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "run-list-table"))


def run_row(browser: webdriver.Chrome, run_number: int) -> dict[str, object] | None:
    """A run list row: whether it has the ongoing badge, and its file count per subsystem (link titles)."""
    found: dict[str, object] | None = browser.execute_script(
        """
        const row = document.getElementById('run-row-' + arguments[0]);
        if (!row) return null;
        const badges = Array.from(row.querySelectorAll('.badge')).map(b => b.innerText.trim());
        const files = {};
        for (const link of row.querySelectorAll('a[title]')) {
            const match = link.title.match(/^(\\w+) \\((\\d+) files/);
            if (match) files[match[1]] = Number(match[2]);
        }
        return {ongoing: badges.includes('ongoing'), files: files};
        """,
        run_number,
    )
    return found


def files_of(count: int) -> dict[str, object]:
    return dict.fromkeys(SUBSYSTEMS, count)


def mark_page(browser: webdriver.Chrome) -> None:
    """A property on the window: gone if the page is loaded again, so a change seen with it was live."""
    browser.execute_script("window.__notReloaded = true;")


def not_reloaded(browser: webdriver.Chrome) -> bool:
    return bool(browser.execute_script("return window.__notReloaded === true;"))


def slider(browser: webdriver.Chrome) -> dict[str, object]:
    """The time-slice RangeSlider: its largest value, whether it is disabled, its marks."""
    found: dict[str, object] = browser.execute_script(
        """
        const thumbs = document.querySelectorAll('#ts-range .dash-slider-thumb');
        const root = document.querySelector('#ts-range .dash-slider-root');
        return {
            max: thumbs.length ? thumbs[thumbs.length - 1].getAttribute('aria-valuemax') : null,
            disabled: !!root && root.hasAttribute('data-disabled'),
            marks: Array.from(document.querySelectorAll('#ts-range .dash-slider-mark')).map(m => m.innerText),
        };
        """
    )
    return found


def first_plot(browser: webdriver.Chrome) -> dict[str, str] | None:
    """The first drawn plot of the run page: its graph id and its data as sent (JSON)."""
    found: dict[str, str] | None = browser.execute_script(
        """
        const plot = document.querySelector('#run-page-main .js-plotly-plot');
        if (!plot || !plot.data || !plot.data.length) return null;
        return {id: plot.closest('[id]').id, data: JSON.stringify(plot.data.map(t => t.z || t.y))};
        """
    )
    return found


def plot_data(browser: webdriver.Chrome, graph_id: str) -> str | None:
    found: str | None = browser.execute_script(
        """
        const graph = document.getElementById(arguments[0]);
        const plot = graph && graph.querySelector('.js-plotly-plot');
        return plot && plot.data ? JSON.stringify(plot.data.map(t => t.z || t.y)) : null;
        """,
        graph_id,
    )
    return found


def wait_for_new_plot(browser: webdriver.Chrome, graph_id: str, old: str, *watched: Started) -> str:
    """Wait until the graph shows other data than ``old``; returns it."""
    wait_in_browser(
        browser, lambda: plot_data(browser, graph_id) not in (None, old), f"{graph_id} redrawn", *watched
    )
    new = plot_data(browser, graph_id)
    assert new is not None
    return new


def title(browser: webdriver.Chrome) -> list[str]:
    """The run page's title and its badges."""
    found: list[str] = browser.execute_script(
        """
        const title = document.getElementById('run-page-title');
        if (!title) return [];
        const badges = Array.from(title.querySelectorAll('.badge')).map(b => b.innerText.trim());
        return [title.firstChild.textContent, ...badges];
        """
    )
    return found


def header_files(browser: webdriver.Chrome) -> str:
    return text_of(browser, "#run-page-header p")


# -- the test ---------------------------------------------------------------------------------------------


def test_a_live_run_seen_in_the_browser(
    start: Callable[..., Started], live_site: dict[str, str], driver: webdriver.Chrome, tmp_path: Path
) -> None:
    now = datetime.now(zone(ZONE)).replace(microsecond=0)
    demo.generate_source_run(tmp_path / "source", RUN, n_files=3, start=now - timedelta(minutes=2), workers=1)
    minutes = minutes_of_files(tmp_path / "source", tmp_path / "replay")
    demo.generate_source_run(tmp_path / "next", RUN + 1, n_files=1, start=now, workers=1)

    processing = start("process", [*overwatch_command(), "process", "--watch"], live_site)
    wait_for(lambda: "watching " in processing.output(), "the processing loop", processing)
    server, base_url = serve(start, live_site, processing)
    both = (server, processing)

    # The first minute: the run list shows the run as ongoing, with one file per subsystem.
    replay(live_site, RUN, minutes[0], *both)
    log_in(driver, base_url)

    def listed_after_reload() -> bool:  # before the run is known, the list has nothing to refresh
        driver.get(f"{base_url}/")
        WebDriverWait(driver, WAIT).until(lambda b: b.find_elements(By.ID, "run-list-table"))
        return run_row(driver, RUN) is not None

    wait_in_browser(driver, listed_after_reload, "the run in the run list", *both)
    assert run_row(driver, RUN) == {"ongoing": True, "files": files_of(1)}
    assert text_of(driver, "#run-list-ongoing").startswith(f"Run {RUN} is ongoing.")
    run_list = driver.current_window_handle
    mark_page(driver)

    # Its page, in a second tab: one minute of data, nothing to slice yet.
    driver.switch_to.new_window("tab")
    run_page = driver.current_window_handle
    driver.get(f"{base_url}/runs/{RUN}/EMC")
    wait_in_browser(driver, lambda: first_plot(driver) is not None, "the run page's first plot", *both)
    assert title(driver) == [f"Run {RUN} · EMC", "ongoing"]
    assert "; 1 files, 0 min." in header_files(driver)
    assert slider(driver) == {"max": "1", "disabled": True, "marks": ["0"]}
    first = first_plot(driver)
    assert first is not None
    mark_page(driver)

    # The second minute: the run page gets a window to slice and new plots, the run list the files.
    replay(live_site, RUN, minutes[1], *both)
    wait_in_browser(driver, lambda: not slider(driver)["disabled"], "the slider enabled", *both)
    assert slider(driver) == {"max": "1", "disabled": False, "marks": ["0", "1"]}
    wait_in_browser(
        driver, lambda: "; 2 files, 1 min." in header_files(driver), "the header's 2 files", *both
    )
    second = wait_for_new_plot(driver, first["id"], first["data"], *both)
    assert title(driver) == [f"Run {RUN} · EMC", "ongoing"]
    assert not_reloaded(driver), "the run page changed in place"
    driver.switch_to.window(run_list)
    wait_in_browser(driver, lambda: run_row(driver, RUN) == {"ongoing": True, "files": files_of(2)},
                    "the run list's file counts at 2", *both)  # fmt: skip
    assert not_reloaded(driver), "the run list changed in place"

    # The third minute: the slider's range grows to 2 minutes, the plots change again.
    replay(live_site, RUN, minutes[2], *both)
    driver.switch_to.window(run_page)
    wait_in_browser(driver, lambda: slider(driver)["max"] == "2", "the slider's range at 2 min", *both)
    assert slider(driver) == {"max": "2", "disabled": False, "marks": ["0", "", "2"]}
    wait_in_browser(
        driver, lambda: "; 3 files, 2 min." in header_files(driver), "the header's 3 files", *both
    )
    wait_for_new_plot(driver, first["id"], second, *both)
    assert title(driver) == [f"Run {RUN} · EMC", "ongoing"]
    assert not_reloaded(driver)
    driver.switch_to.window(run_list)
    wait_in_browser(driver, lambda: run_row(driver, RUN) == {"ongoing": True, "files": files_of(3)},
                    "the run list's file counts at 3", *both)  # fmt: skip

    # The next run starts: this one is over, on both pages, without a reload.
    replay(live_site, RUN + 1, tmp_path / "next", *both)
    wait_in_browser(driver, lambda: run_row(driver, RUN + 1) is not None, "the next run in the list", *both)
    wait_in_browser(driver, lambda: run_row(driver, RUN) == {"ongoing": False, "files": files_of(3)},
                    "the ended run without its badge", *both)  # fmt: skip
    assert run_row(driver, RUN + 1) == {"ongoing": True, "files": files_of(1)}
    assert text_of(driver, "#run-list-ongoing").startswith(f"Run {RUN + 1} is ongoing.")
    assert not_reloaded(driver)
    driver.switch_to.window(run_page)
    wait_in_browser(
        driver, lambda: title(driver) == [f"Run {RUN} · EMC"], "the run page without the badge", *both
    )
    assert "; 3 files, 2 min." in header_files(driver)
    assert not_reloaded(driver)

    assert severe_logs(driver) == []
    for item in both:
        assert "Traceback" not in item.output(), item.tail()
    assert json.loads(subprocess.run(
        [*overwatch_command(), "runs", "--json"], env=live_site, capture_output=True, text=True, check=True
    ).stdout)["ongoing"] == RUN + 1  # fmt: skip
