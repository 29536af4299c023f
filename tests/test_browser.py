"""The chat page in headless Chromium (Debian's chromium + chromium-driver, via selenium).

Loads `/`, enters the API token, asks a question and waits for the streamed answer, the
collapsible query blocks, the facts and the chart. Never downloads a browser or driver: a
missing package skips the test (or fails it under OPSA_REQUIRE_SERVERS=1, as in CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import LiveServer, demo_settings, seeded_demo

from assistant.web import create_app

pytestmark = [pytest.mark.slow, pytest.mark.server]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "browser-token"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1100,1300"]


def _unavailable(msg: str) -> None:
    if os.environ.get("OPSA_REQUIRE_SERVERS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        _unavailable(f"{', '.join(missing)} missing; run: apt-get install -y chromium "
                     "chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed; pip install selenium")

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    settings = demo_settings(seeded_demo(), api_tokens=[TOKEN])
    with LiveServer(create_app(settings)) as srv:
        yield srv.url


def test_chat_page_streams_an_answer_with_queries_and_chart(
        driver: Any, server_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server_url + "/")
    assert driver.title == "Ops Assistant"
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.ID, "health").text == "ok")
    driver.find_element(By.CSS_SELECTOR, "#settings summary").click()
    token = driver.find_element(By.ID, "token")
    token.send_keys(TOKEN)
    token.send_keys(Keys.TAB)  # `change` stores it
    box = driver.find_element(By.ID, "question")
    box.send_keys("peak CPU on web-03 in the last hour", Keys.ENTER)

    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".turn .status"),
                                                "answered in"))
    turn = driver.find_element(By.CSS_SELECTOR, ".turn")
    assert turn.find_element(By.CSS_SELECTOR, ".question").text == \
        "peak CPU on web-03 in the last hour"
    answer = turn.find_element(By.CSS_SELECTOR, ".answer").text
    assert "CPU usage on web-03 peaked at" in answer
    blocks = turn.find_elements(By.CSS_SELECTOR, ".queries details")
    assert len(blocks) == 1
    summary = blocks[0].find_element(By.TAG_NAME, "summary")
    assert "metric node_cpu_usage_percent" in summary.text and "embedded" in summary.text
    pre = blocks[0].find_element(By.TAG_NAME, "pre")
    assert not pre.is_displayed()  # collapsed until opened
    shot = tmp_path / "chat.png"
    driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    out = os.environ.get("OPSA_SCREENSHOT_DIR")
    if out:
        shutil.copy(shot, Path(out) / "chat.png")
    summary.click()
    assert pre.is_displayed() and "node_cpu_usage_percent" in pre.text
    facts = turn.find_elements(By.CSS_SELECTOR, ".facts tbody tr")
    assert any(r.text.startswith("peak") and "host=web-03" in r.text for r in facts)
    lines = turn.find_elements(By.CSS_SELECTOR, ".chart svg polyline")
    assert len(lines) == 1
    assert len(lines[0].get_attribute("points").split()) > 50

    # A second question in the same conversation: a runbook is cited as a source.
    box.send_keys("how do we fix a full disk?", Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn")) == 2
               and "answered in" in d.find_elements(By.CSS_SELECTOR, ".turn .status")[1].text)
    second = driver.find_elements(By.CSS_SELECTOR, ".turn")[1]
    sources = [li.text for li in second.find_elements(By.CSS_SELECTOR, ".sources li")]
    assert any("disk-full.md" in src for src in sources), sources
    if out:
        driver.save_screenshot(str(Path(out) / "chat-2.png"))

    # The page used the streaming endpoint (SSE), with the token it was given.
    metrics = httpx.get(server_url + "/metrics").text
    assert 'opsa_http_requests_total{method="POST",route="/api/chat/stream",status="200"} 2.0' \
        in metrics


def test_chat_page_shows_api_errors(driver: Any, server_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server_url + "/")
    driver.execute_script("localStorage.removeItem('opsa.token')")
    driver.get(server_url + "/")
    driver.find_element(By.ID, "question").send_keys("peak CPU on web-03", Keys.ENTER)
    WebDriverWait(driver, 30).until(ec.text_to_be_present_in_element(
        (By.CSS_SELECTOR, ".turn .status.error"), "missing bearer token"))


def test_chat_page_answers_in_korean_with_a_chart(driver: Any, server_url: str) -> None:
    """A Korean question: the page shows the Korean answer as sent (no mojibake), its chart,
    and its queries collapsed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server_url + "/")
    driver.execute_script("localStorage.setItem('opsa.token', arguments[0])", TOKEN)
    driver.get(server_url + "/")
    question = "지난 1시간 동안 web-03의 CPU 최고치는?"
    driver.find_element(By.ID, "question").send_keys(question, Keys.ENTER)
    WebDriverWait(driver, 60).until(
        lambda d: "answered in" in d.find_element(By.CSS_SELECTOR, ".turn .status").text)
    turn = driver.find_element(By.CSS_SELECTOR, ".turn")
    assert turn.find_element(By.CSS_SELECTOR, ".question").text == question
    answer = turn.find_element(By.CSS_SELECTOR, ".answer").text
    assert "web-03의 CPU 사용률 최대값은" in answer and "조회 기간:" in answer, answer
    lines = turn.find_elements(By.CSS_SELECTOR, ".chart svg polyline")
    assert len(lines) == 1 and len(lines[0].get_attribute("points").split()) > 50
    pre = turn.find_element(By.CSS_SELECTOR, ".queries details pre")
    assert not pre.is_displayed()
    out = os.environ.get("OPSA_SCREENSHOT_DIR")
    if out:
        driver.save_screenshot(str(Path(out) / "chat-ko.png"))
