"""Debian's headless Chromium, driven by Selenium through Debian's chromedriver (same version).

``python3 dev.py test`` installs the two packages when they are missing and apt can
(``dev.py``), so CI always has them. Elsewhere a browser test skips with the reason —
except under ``CI=true``, where a missing browser is a failure, never a silent skip.
Screenshots go to ``$ZKCRED_CONSOLE_SCREENSHOTS`` when set (``docs/console`` to refresh the
README's pictures), else to the test's temporary directory.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ZKCRED_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ZKCRED_CHROMEDRIVER", "/usr/bin/chromedriver")
DESKTOP, PHONE = (1280, 900), (360, 780)
#: The elements whose right edge is past the viewport (the page would scroll sideways), by tag and class.
WIDER_THAN_VIEWPORT = """
const w = document.documentElement.clientWidth;
return Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest(".table-wrap, pre"))
  .slice(0, 5).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right));
"""


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} is missing: apt-get install {package} (python3 dev.py test does when it can)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra)"
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium per test module (its start costs ~2 s)."""
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


class Pages:
    """The browser and what it has seen: every page's HTML (for the secret checks) and its console errors."""

    def __init__(self, driver: Any, shots: Path) -> None:
        self.driver, self.shots = driver, shots
        self.seen: list[tuple[str, str]] = []
        shots.mkdir(parents=True, exist_ok=True)

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.record()

    def record(self, refused: bool = False) -> str:
        """The current page's HTML, kept; and no error in the browser's console (CSP violations are errors).

        ``refused``: the page is a 403 the test provoked (its own console line is expected).
        """
        html = self.driver.page_source
        self.seen.append((self.driver.current_url, html))
        errors = [
            e
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and not (refused and "status of 403" in e["message"])
        ]
        assert not errors, f"{self.driver.current_url}: {json.dumps(errors)[:800]}"
        return html

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def fill(self, **fields: str) -> None:
        """Type into the form fields with these ``name`` attributes (cleared first).

        A field found while the page was still being replaced (a redirect landing, the live
        script swapping a fragment) is found again: Chromium then answers "stale element" or
        "node … does not belong to the document" for the old one.
        """
        from selenium.common.exceptions import WebDriverException

        for name, value in fields.items():
            for attempt in range(5):
                try:
                    element = self.css(f'[name="{name}"]')
                    element.clear()
                    element.send_keys(value)
                    break
                except WebDriverException as e:
                    if not _is_stale(e) or attempt == 4:
                        raise
                    time.sleep(0.2)

    def submit(self, selector: str = 'main form button[type="submit"]', refused: bool = False) -> str:
        from selenium.webdriver.support.ui import WebDriverWait

        button = self.css(selector)
        button.click()
        WebDriverWait(self.driver, 30).until(lambda _driver: _replaced(button))
        return self.record(refused)

    def wait_text(self, selector: str, text: str, timeout: float = 30) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))

    def shoot(self, name: str) -> None:
        """The whole page (Chromium's full-page capture) at a desktop width and at 360 px:
        ``<name>-desktop.png``, ``<name>-360.png``."""
        for (width, height), suffix in ((DESKTOP, "desktop"), (PHONE, "360")):
            # a phone: exactly 360 CSS px wide, overlay scrollbars (Chromium's mobile emulation)
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": suffix == "360"}
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            wide = self.driver.execute_script(WIDER_THAN_VIEWPORT)
            assert not wide, f"{name}: wider than {width} px: {wide}"
            size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
            shot = self.driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
            )
            (self.shots / f"{name}-{suffix}.png").write_bytes(base64.b64decode(shot["data"]))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def screenshots_dir(tmp_path: Path) -> Path:
    where = os.environ.get("ZKCRED_CONSOLE_SCREENSHOTS")
    return Path(where).resolve() if where else tmp_path / "screenshots"


def _is_stale(e: Exception) -> bool:
    """An element of a page the browser has replaced: Chromium says "stale element", or (156) "node … does
    not belong to the document"."""
    from selenium.common.exceptions import StaleElementReferenceException

    return isinstance(e, StaleElementReferenceException) or "does not belong to the document" in str(e)


def _replaced(element: Any) -> bool:
    """True once ``element``'s page has been replaced (a submitted form's answer has loaded)."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException as e:
        if _is_stale(e):
            return True
        raise
    return False
