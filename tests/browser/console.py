"""Driving the web console in headless Chromium, for tests/browser/test_*.py and
benches/console.py.

`Browser` wraps a selenium Chrome session on Debian's chromium and chromedriver (never
downloaded), with the page's console log and every Content-Security-Policy violation
collected, and `Api` calls the server's REST API directly for setup the tests do not walk.
"""

import json
import os
import shutil
import time
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ.get("VIBEBOX_URL", "http://127.0.0.1:3000").rstrip("/")
SCREENSHOTS = os.environ.get("VIBEBOX_SCREENSHOTS", "target/console-screenshots")
PASSWORD = "correct-horse-battery-staple-9"

# Runs before the page's own scripts in every document (DevTools, so the page's CSP does not
# apply to it): records CSP violations where the test can read them.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


# Every visible control's accessible name, the way assistive technology would find it.
UNLABELLED = """
const named = (el) => {
  const by = el.getAttribute('aria-labelledby');
  return (el.getAttribute('aria-label')
    || (by && by.split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' '))
    || (el.labels && [...el.labels].map((l) => l.textContent).join(' '))
    || (['button', 'a'].includes(el.localName) && el.textContent)
    || el.title || '').trim();
};
return [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea')]
  .filter((el) => el.getClientRects().length > 0 && !named(el))
  .map((el) => el.outerHTML.slice(0, 120));
"""


def unique(prefix):
    """A name no other run used."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Browser:
    """A headless Chromium window on the console."""

    def __init__(self, width=1280, height=900, mobile=False):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--window-size={width},{height}",
        ):
            options.add_argument(arg)
        if mobile:
            options.add_experimental_option(
                "mobileEmulation",
                {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}},
            )
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
        )
        self.logs = []

    def close(self):
        self.driver.quit()

    def open(self, path="/"):
        self.driver.get(URL + path)

    def wait(self, what, check, timeout=30):
        """Waits until `check(driver)` is truthy; fails naming `what`."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
                lambda d: check(d)
            )
        except TimeoutException:
            self.screenshot(f"failed-{what.replace(' ', '-')[:40]}")
            raise AssertionError(f"timed out waiting for {what}") from None

    def find(self, css, timeout=30):
        """The first element matching `css`, once it is displayed."""

        def shown(d):
            for e in d.find_elements(By.CSS_SELECTOR, css):
                if e.is_displayed():
                    return e
            return None

        return self.wait(css, shown, timeout)

    def button(self, name, timeout=30):
        """A displayed, enabled button (or link) whose accessible text is `name`."""

        def found(d):
            for e in d.find_elements(By.CSS_SELECTOR, "button, a, [role=button]"):
                label = (e.get_attribute("aria-label") or e.text or "").strip()
                if label == name and e.is_displayed() and e.is_enabled():
                    return e
            return None

        return self.wait(f"button {name!r}", found, timeout)

    def click(self, name):
        self.button(name).click()

    def fill(self, css, text, clear=True):
        field = self.find(css)
        if clear:
            field.clear()
        field.send_keys(text)
        return field

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_text(self, text, timeout=30):
        self.wait(f"text {text!r}", lambda d: text in d.find_element(By.TAG_NAME, "body").text, timeout)

    def screenshot(self, name):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}.png"))

    def collect_logs(self):
        """The browser's console entries since the last call (kept in self.logs)."""
        entries = self.driver.get_log("browser")
        self.logs.extend(entries)
        return entries

    def unlabelled_controls(self):
        """Visible controls without an accessible name (aria-label, a label, text or title)."""
        return self.driver.execute_script(UNLABELLED)

    def forget_errors(self, containing):
        """Drops console entries the test provoked on purpose (a 422 the browser logs as an
        error for a refused form), so later checks see only unexpected ones."""
        self.collect_logs()
        self.logs = [e for e in self.logs if containing not in e.get("message", "")]

    def errors(self):
        """Console errors and CSP violations so far (read before navigating away)."""
        self.collect_logs()
        errors = [e["message"] for e in self.logs if e.get("level") == "SEVERE"]
        violations = self.driver.execute_script("return window.__cspViolations || []")
        return errors + [f"CSP violation: {v}" for v in violations]


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Api:
    """The REST API, for setup and for checking what the console did."""

    def __init__(self, token=None):
        self.token = token

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(URL + "/api/v1" + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None

    @classmethod
    def signed_up(cls, email, password=PASSWORD, name="Tester"):
        api = cls()
        api.call("POST", "/auth/register", {"email": email, "password": password, "display_name": name})
        api.token = api.call("POST", "/auth/login", {"email": email, "password": password})["access_token"]
        return api


def wait_for(what, check, timeout=60, every=0.2):
    """Polls `check()` until it is truthy (for server-side state, not the page)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
