"""The dashboard in a real headless Chromium (Debian's package) over loopback."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.assembly import open_database
from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config, DashboardConfig
from ground.storage.dashboard_accounts import add_account
from tests.stats import dataset

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
QUERY = f"?from={dataset.FROM}&to={dataset.TO}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dashboard(config: Config) -> Iterator[str]:
    """The dashboard served by uvicorn on a loopback port, on the hand-made dataset."""
    config = dataclasses.replace(config, dashboard=DashboardConfig(secret="browser-test-secret"))
    database = open_database(config)
    with database.sessions.begin() as session:
        dataset.load(session, config)
        add_account(session, "anna", "correct horse battery", dataset.NOW)
    port = _free_port()
    app = create_app(config, database, FixedClock(dataset.NOW))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    database.dispose()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "Chromium or its driver is not installed "
            "(apt-get install chromium chromium-driver; .ci/run does it)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,1600",
    ]:
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_coordinator_uses_the_dashboard(dashboard: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Refused without a login, pages and downloads alike.
    assert _status(f"{dashboard}/") == 401
    assert _status(f"{dashboard}/csv/figures.csv") == 401
    assert _status(f"{dashboard}/link/not-a-real-token") == 403
    browser.get(f"{dashboard}/{QUERY}")
    assert "Please log in" in browser.find_element(By.ID, "error").text

    browser.find_element(By.ID, "name").send_keys("anna")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.ID, "login").click()
    # The click does not wait for the login to land: wait for its page, or the next get
    # races the login's redirect and shows the default period.
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "logout"))
    browser.get(f"{dashboard}/{QUERY}")
    cards = {
        card: browser.find_element(By.CSS_SELECTOR, f"#{card} b").text
        for card in ["card-asked", "card-deflection", "card-first", "card-on-time", "card-open"]
    }
    assert cards == {
        "card-asked": "8",
        # As Anna reads them (English as written in Germany); the browser gives the
        # no-break space as a space.
        "card-deflection": "12 %",
        "card-first": "7 h",
        "card-on-time": "60 %",
        "card-open": "4",
    }
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    gaps = browser.find_elements(By.CSS_SELECTOR, "#coverage td.gap")
    assert len(gaps) > 0
    browser.save_screenshot(str(tmp_path / "dashboard.png"))
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

    browser.find_element(By.LINK_TEXT, "by partner").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "breakdown"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#breakdown tr")
    cells = {r.find_elements(By.TAG_NAME, "td")[0].text: r for r in rows[1:]}
    assert sorted(cells) == [
        "(none)",
        "All questions",
        "Cámara de Comercio de Asturias",
        "KEDIVIM Crete",
        "Università di Torino, VET unit",
        "WUP Kraków",
    ]
    assert cells["KEDIVIM Crete"].find_elements(By.TAG_NAME, "td")[1].text == "2"

    browser.find_element(By.ID, "csv").click()
    target = tmp_path / "downloads" / "rrm-figures-by-partner.csv"
    deadline = time.monotonic() + 20
    while not target.exists():
        assert time.monotonic() < deadline, "the CSV download did not arrive"
        time.sleep(0.1)
    lines = target.read_text("utf-8").splitlines()
    assert lines[0].startswith(
        "partner,asked,fiche_confirmed,fiche_unconfirmed,routed,deflection_rate,"
    )
    assert lines[1].startswith("all,8,1,1,6,0.125,7.0,24.0,")
    assert any(line.startswith("kedivim,2,0,0,2,0.0,6.0,9.2,") for line in lines)

    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 20).until(lambda b: not b.find_elements(By.ID, "logout"))
    browser.get(f"{dashboard}/")
    assert "Please log in" in browser.find_element(By.ID, "error").text


# Screenshots for docs/ are written only when asked (RRM_SCREENSHOTS=docs); a test run
# otherwise leaves the checkout as it found it.
DOCS = Path(__file__).parents[2] / "docs"


def _shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("RRM_SCREENSHOTS") == "docs" else tmp_path


def test_a_coordinator_follows_the_questions(dashboard: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"{dashboard}/login")
    browser.find_element(By.ID, "name").send_keys("anna")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "logout"))
    for width, name in [(1200, "desktop"), (390, "phone")]:
        browser.set_window_size(width, 1000)
        browser.get(f"{dashboard}/questions")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#questions tr")) == 10
        Select(browser.find_element(By.ID, "partner")).select_by_visible_text("KEDIVIM Crete")
        browser.find_element(By.ID, "search").click()
        WebDriverWait(browser, 20).until(lambda b: "partner=kedivim" in b.current_url)
        rows = browser.find_elements(By.CSS_SELECTOR, "#questions tr")[1:]
        assert [r.find_elements(By.TAG_NAME, "td")[2].text for r in rows] == [
            "question q3",
            "question q2",
            "question q9",
        ]
        # The page itself never scrolls sideways; wide tables scroll in their card.
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, (name, overflow)
        browser.save_screenshot(str(_shots(tmp_path) / f"dashboard-questions-{name}.png"))
        rows[0].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "timeline"))
        assert browser.find_element(By.ID, "text").text == "question q3"
        assert "Eleni Papadaki" in browser.find_element(By.ID, "route").text
        assert "not helpful" in browser.find_element(By.ID, "rating").text
        assert _timeline(browser) == ["first response due", "resolution due"]
        # A question with a reminder and an escalation, found by a word of its text: its
        # timeline puts them between its deadlines, in time order.
        browser.get(f"{dashboard}/questions")
        browser.find_element(By.ID, "q").send_keys("q6")
        browser.find_element(By.ID, "search").click()
        WebDriverWait(browser, 20).until(lambda b: "q=q6" in b.current_url)
        found = browser.find_elements(By.CSS_SELECTOR, "#questions tr")[1:]
        assert [r.find_elements(By.TAG_NAME, "td")[2].text for r in found] == ["question q6"]
        found[0].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "timeline"))
        assert _timeline(browser) == [
            "reminder",
            "first response due",
            "escalation",
            "resolution due",
        ]
        assert browser.execute_script(NO_SIDEWAYS) <= 0, (name, "question q6")
        browser.save_screenshot(str(_shots(tmp_path) / f"dashboard-question-{name}.png"))


def _timeline(browser: Any) -> list[str]:
    """The "What" column of the question page's timeline, top to bottom."""
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, "#timeline tr")[1:]
    return [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]


NO_SIDEWAYS = "return document.documentElement.scrollWidth - window.innerWidth"
# Every table and chart ends inside its card (a wide table scrolls within its own box).
OUTSIDE_CARDS = """
return [...document.querySelectorAll('section')].flatMap(card => {
  const edge = card.getBoundingClientRect().right + 0.5;
  return [...card.querySelectorAll('table, svg.chart')]
    .filter(e => !e.closest('.wide') && e.getBoundingClientRect().right > edge)
    .map(e => e.id || e.tagName);
});
"""


def test_a_coordinator_reads_the_gaps_and_a_breakdown(
    dashboard: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{dashboard}/login")
    browser.find_element(By.ID, "name").send_keys("anna")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "logout"))
    shots = _shots(tmp_path)
    for width, name in [(1200, "desktop"), (390, "phone")]:
        browser.set_window_size(width, 1000)
        browser.get(f"{dashboard}/{QUERY}")
        assert browser.execute_script(NO_SIDEWAYS) <= 0, (name, "overview")
        assert browser.execute_script(OUTSIDE_CARDS) == [], (name, "overview")
        if name == "desktop":
            browser.save_screenshot(str(shots / "dashboard.png"))

        browser.find_element(By.ID, "nav-gaps").click()
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "gaps"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#gaps tr")[1:]
        first = rows[0].find_elements(By.TAG_NAME, "td")
        assert [first[0].text, first[1].text, first[2].text] == ["EU funding", "English", "2"]
        assert len(rows[0].find_elements(By.CSS_SELECTOR, "svg.spark")) == 1
        assert browser.execute_script(NO_SIDEWAYS) <= 0, (name, "gaps")
        browser.save_screenshot(str(shots / f"dashboard-gaps-{name}.png"))
        first[2].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(browser, 20).until(lambda b: "gap=1" in b.current_url)
        texts = [
            r.find_elements(By.TAG_NAME, "td")[2].text
            for r in browser.find_elements(By.CSS_SELECTOR, "#questions tr")[1:]
        ]
        assert sorted(texts) == ["question q2", "question q9"], texts

        browser.get(f"{dashboard}/by/topic{QUERY}")
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "breakdown"))
        chart = browser.find_element(By.CSS_SELECTOR, "#chart svg.chart")
        assert "EU funding" in chart.get_attribute("innerHTML")
        headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#breakdown th")]
        assert headings[:2] == ["Topic", "Questions asked"]
        assert browser.execute_script(NO_SIDEWAYS) <= 0, (name, "breakdown")
        assert browser.execute_script(OUTSIDE_CARDS) == [], (name, "breakdown")
        browser.save_screenshot(str(shots / f"dashboard-breakdown-{name}.png"))
