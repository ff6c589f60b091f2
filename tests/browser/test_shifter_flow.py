"""A shifter's session in headless Chromium: log in, run list, run page, groups, one histogram, ROOT files."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.webdriver.common.by import By

SHOTS = Path("/tmp/overwatch-shots")

pytestmark = pytest.mark.browser


def log_in(dash_duo: DashComposite, base_url: str, username: str, password: str) -> None:
    """Fill in the real login form, as a person would."""
    dash_duo.driver.get(f"{base_url}/login")
    dash_duo.wait_for_element("#username").send_keys(username)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("button[type=submit]").click()


def click_link(dash_duo: DashComposite, text: str) -> None:
    """Click the link showing exactly ``text`` (a sidebar entry by its name, without its verdict badge),
    scrolled into view first (the sidebar scrolls by itself)."""
    name = f"normalize-space(.)='{text}'"
    named = f"//a[{name} or ./span[@class='sidebar-name' and {name}]]"
    link = dash_duo.driver.find_element(By.XPATH, named)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()


def plot_count(dash_duo: DashComposite) -> int:
    return len(dash_duo.find_elements("#run-page-main .js-plotly-plot"))


def wait_for_plots(dash_duo: DashComposite, count: int) -> None:
    """Scroll to each card in turn until its plot is drawn (plots are drawn as they come into view)."""
    until(lambda: len(dash_duo.find_elements("#run-page-main .hist-card")) == count, timeout=15, msg="cards")
    for index in range(count):
        dash_duo.driver.execute_script(
            "document.querySelectorAll('#run-page-main .hist-card')[arguments[0]]"
            ".scrollIntoView({block: 'center', behavior: 'instant'});",
            index,
        )
        until(lambda i=index: plot_count(dash_duo) > i, timeout=15, msg=f"plot {index + 1} drawn")
    until(lambda: plot_count(dash_duo) == count, timeout=15, msg=f"{count} plots drawn")
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'});")


def test_shifter_flow(
    dash_duo: DashComposite, base_url: str, shifter: tuple[str, str], tmp_path: Path
) -> None:
    log_in(dash_duo, base_url, *shifter)
    dash_duo.wait_for_text_to_equal("#run-list-summary", "Showing runs 1–3 of 3")
    assert dash_duo.driver.title == "Overwatch — Run list"

    dash_duo.find_element('#run-row-300003 a.fw-semibold[href="/runs/300003/EMC"]').click()
    dash_duo.wait_for_text_to_equal("#run-page-title", "Run 300003 · EMC")
    dash_duo.wait_for_text_to_equal("#run-page-main h4", "FEE vs TRU")
    wait_for_plots(dash_duo, 20)
    until(lambda: dash_duo.driver.title == "Overwatch — Run 300003 EMC", timeout=5)
    dash_duo.driver.save_screenshot(str(tmp_path / "run_page.png"))
    SHOTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(SHOTS / "run_page.png"))

    click_link(dash_duo, "EMCal cluster level")
    dash_duo.wait_for_text_to_equal("#run-page-main h4", "EMCal cluster level")
    wait_for_plots(dash_duo, 9)
    assert dash_duo.driver.current_url.endswith("/runs/300003/EMC?group=EMCal+cluster+level")

    click_link(dash_duo, "Cluster E")
    dash_duo.wait_for_text_to_equal("#run-page-main h5", "Cluster E")
    wait_for_plots(dash_duo, 1)
    assert "?hist=" in dash_duo.driver.current_url

    click_link(dash_duo, "ROOT files")
    until(lambda: len(dash_duo.find_elements("#root-file-list li")) == 8, timeout=10, msg="8 files listed")
    first = dash_duo.find_element("#root-file-list a")
    assert first.get_attribute("href").endswith("/files/Run300003/EMC/EMChists.2015_11_24_18_24_13.root")

    dash_duo.driver.get(f"{base_url}/runs/300001/EMC")
    card = dash_duo.wait_for_element(".error-card")
    assert card.get_attribute("role") == "alert"
    assert "unknown run 300001; valid: 300000, 300003, 300004" in card.text

    dash_duo.find_element("#user-menu .dropdown-toggle").click()
    dash_duo.wait_for_element("#logout-link").click()
    dash_duo.wait_for_text_to_equal(".alert", "You have been logged out")
    assert dash_duo.driver.current_url == f"{base_url}/login?logged_out=1"
    dash_duo.driver.get(f"{base_url}/runs/300003/EMC")
    dash_duo.wait_for_element("#password")
    assert dash_duo.get_logs() == []


def test_wrong_password(dash_duo: DashComposite, base_url: str, shifter: tuple[str, str]) -> None:
    log_in(dash_duo, base_url, shifter[0], "not-the-password")
    dash_duo.wait_for_text_to_equal(".alert", "Invalid user name or password")
    assert dash_duo.driver.current_url == f"{base_url}/login"
    assert dash_duo.find_element("#username").get_attribute("value") == shifter[0]
    assert dash_duo.driver.switch_to.active_element == dash_duo.find_element("#password")
    (only,) = dash_duo.get_logs()  # the form's 401 answer; nothing else went wrong
    assert only["source"] == "network"
    assert only["message"].startswith(f"{base_url}/login - Failed to load resource")
    assert "401" in only["message"]
