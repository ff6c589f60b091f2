"""Browser helpers of the integration tests: reading elements, waiting on them, logging in."""

from __future__ import annotations

from collections.abc import Callable

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.processes import WAIT, Started, wait_for


def text_of(browser: webdriver.Chrome, selector: str) -> str:
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def wait_in_browser(
    browser: webdriver.Chrome, condition: Callable[[], object], what: str, *watched: Started
) -> None:
    """Like wait_for, with a re-rendered (stale) element counting as not yet."""

    def settled() -> object:
        try:
            return condition()
        except WebDriverException:
            return False

    wait_for(settled, what, *watched)


def log_in(browser: webdriver.Chrome, base_url: str, user: tuple[str, str]) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/login")
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys(user[0])
    browser.find_element(By.ID, "password").send_keys(user[1])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "run-list-summary"))


def severe_logs(browser: webdriver.Chrome) -> list[dict[str, object]]:
    """The browser console's errors."""
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
