"""The web console in headless Chromium (issue 16): a new user's whole walk, what the page
does with hostile names, the layout on a phone, and keyboard reach. Run by
scripts/browser-test against a live example server on the real Docker engine."""

import unittest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from console import PASSWORD, URL, Api, ApiError, Browser, unique, wait_for


def submit(b, form_id):
    b.find(f"#{form_id} button[type=submit]").click()


def sign_in(b, email, password=PASSWORD):
    b.open("/login")
    b.fill("#email", email)
    b.fill("#password", password)
    submit(b, "signin-form")
    b.find("[data-test=current-user]")


def terminal_screen(b):
    """The terminal's visible rows as text (the buffer xterm.js paints on its canvas)."""
    return b.driver.execute_script(
        "return window.vibeboxTerminalProbe ? window.vibeboxTerminalProbe.screen() : ''"
    )


class ConsoleTest(unittest.TestCase):
    def setUp(self):
        self.browser = Browser()
        self.addCleanup(self.browser.close)

    def assertLabelled(self):
        self.assertEqual(self.browser.unlabelled_controls(), [], "controls without a name")

    def assertNoConsoleErrors(self):
        errors = self.browser.errors()
        self.assertEqual(errors, [], "the page's console has errors or CSP violations")

    def test_a_new_user_walks_from_sign_up_to_terminal_preview_and_keys(self):
        b = self.browser
        email = unique("walker") + "@example.com"

        # Register: signed in at once, on the empty state that says what to do first.
        b.open("/register")
        b.screenshot("sign-up")
        b.fill("#display-name", "Walker")
        b.fill("#email", email)
        b.fill("#password", PASSWORD)
        submit(b, "register-form")
        empty = b.find("[data-test=empty-state]")
        self.assertIn("team", empty.text.lower())
        b.screenshot("empty-state")
        self.assertNoConsoleErrors()

        # A team, a project in it, an environment in that.
        b.open("/teams")
        b.fill("#team-name", "Walk team")
        b.fill("#team-slug", unique("walk"))
        submit(b, "team-form")
        # A new team opens on its page, a new project on its own.
        b.fill("#project-name", "Walk project")
        b.fill("#project-slug", unique("proj"))
        submit(b, "project-form")
        # An empty project opens with its new-environment form showing.
        b.find("[data-test=env-new]")
        if not b.driver.find_element(By.ID, "env-name").is_displayed():
            b.click("New environment")
        # A value the server refuses: its message shows beside the field it names.
        b.fill("#env-name", "Dev box")
        b.fill("#env-slug", "Not A Slug")
        submit(b, "env-form")
        error = b.find("#env-slug-err")
        self.assertIn("slug", error.text.lower())
        self.assertEqual(b.find("#env-slug").get_attribute("aria-invalid"), "true")
        b.screenshot("field-error")
        b.forget_errors("status of 422")
        b.fill("#env-slug", "dev")
        submit(b, "env-form")
        row = b.find("[data-test=env-row]")
        env_id = row.get_attribute("data-env-id")
        self.assertTrue(env_id)

        # Start it: the status goes live from the project's status stream.
        b.find("[data-test=env-start]").click()
        b.wait(
            "the environment to run",
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-test=env-status]").get_attribute("data-status") == "running",
            timeout=120,
        )
        b.wait("a memory sample", lambda d: "MiB" in d.find_element(By.CSS_SELECTOR, "[data-test=env-row]").text, timeout=30)
        b.screenshot("environments")
        self.assertLabelled()
        self.assertNoConsoleErrors()

        # Its log: the container's first line arrives in the viewer.
        b.open(f"/environments/{env_id}/logs")
        lines = lambda d: d.find_element(By.ID, "log-lines").text  # noqa: E731
        b.wait("the start log line", lambda d: "vibebox: environment started" in lines(d))
        # Filtered to stderr the stdout line goes; back to all it returns; a search marks it.
        Select(b.find("#log-filter")).select_by_value("stderr")
        b.wait("stdout filtered out", lambda d: "environment started" not in lines(d))
        Select(b.find("#log-filter")).select_by_value("all")
        b.wait("stdout back", lambda d: "environment started" in lines(d))
        b.fill("#log-search", "environment")
        b.wait("the match marked", lambda d: any(m.text == "environment" for m in d.find_elements(By.CSS_SELECTOR, "#log-lines mark")))
        b.screenshot("logs")

        # The terminal: type, read it back from the screen.
        b.open(f"/environments/{env_id}/terminal?probe=1")
        b.wait(
            "the terminal to connect",
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-test=terminal-state]").get_attribute("data-state") == "open",
        )
        b.find("#terminal").click()
        ActionChains(b.driver).send_keys("echo hel''lo\n").perform()
        b.wait("hello on the terminal's screen", lambda d: any(line.strip() == "hello" for line in terminal_screen(b).splitlines()))
        b.screenshot("terminal")
        # Leave and come back: the terminal reconnects to the same tmux session, which still
        # shows what was typed.
        b.open(f"/environments/{env_id}/logs")
        b.open(f"/environments/{env_id}/terminal?probe=1")
        b.wait("the tmux session resumed", lambda d: "echo hel''lo" in terminal_screen(b))
        # An app to preview, started from the terminal.
        ActionChains(b.driver).send_keys(
            "mkdir -p /tmp/site && echo preview-ok > /tmp/site/index.html && python3 -m http.server 8000 -d /tmp/site\n"
        ).perform()
        b.wait("the app to listen", lambda d: "Serving HTTP" in terminal_screen(b), timeout=30)
        self.assertNoConsoleErrors()

        # Variables: a plain value is masked until shown; a secret one is never shown again.
        b.open(f"/environments/{env_id}/variables")
        b.fill("#var-key", "GREETING")
        b.fill("#var-value", "plain-value-1")
        submit(b, "var-form")
        b.find("[data-test=var-row][data-key=GREETING]")
        b.fill("#var-key", "API_TOKEN")
        b.fill("#var-value", "secret-value-2")
        secret_box = b.find("#var-secret")
        if not secret_box.is_selected():
            secret_box.click()
        submit(b, "var-form")
        secret_row = b.find("[data-test=var-row][data-key=API_TOKEN]")
        self.assertNotIn("plain-value-1", b.text())
        b.find("[data-test=var-row][data-key=GREETING] [data-test=var-show]").click()
        b.wait_text("plain-value-1")
        self.assertEqual(secret_row.find_elements(By.CSS_SELECTOR, "[data-test=var-show]"), [])
        self.assertNotIn("secret-value-2", b.driver.page_source)
        self.assertLabelled()

        # Ports: declare 8000, open its preview URL in a new tab.
        b.open(f"/environments/{env_id}/ports")
        b.fill("#port-container", "8000")
        submit(b, "port-form")
        b.find("[data-test=port-row][data-port='8000']")
        b.screenshot("ports")
        self.assertLabelled()
        first = b.driver.current_window_handle
        b.find("[data-test=port-open]").click()
        b.wait("a preview tab", lambda d: len(d.window_handles) > 1)
        preview = [w for w in b.driver.window_handles if w != first][0]
        b.driver.switch_to.window(preview)
        b.wait("the app's page through the preview URL", lambda d: "preview-ok" in d.find_element(By.TAG_NAME, "body").text)
        self.assertIn(".vibebox.localhost", b.driver.current_url)
        b.driver.close()
        b.driver.switch_to.window(first)

        # An API key: its secret is shown once and works; revoked, it no longer does.
        b.open("/settings/keys")
        b.fill("#key-name", "walk key")
        submit(b, "key-form")
        secret = b.find("#key-secret")
        token = (secret.get_attribute("value") or secret.text).strip()
        self.assertTrue(token.startswith("vbx_"), token)
        b.screenshot("api-keys")
        self.assertLabelled()
        self.assertEqual(Api(token).call("GET", "/users/me")["email"], email)
        b.open("/settings/keys")
        revoke = b.find("[data-test=key-revoke]")
        revoke.click()
        b.find("[data-test=key-revoke][data-armed=true]").click()
        wait_for("the key to stop working", lambda: _refused(token))
        # This browser is one of the user's signed-in devices; the team's audit log has the walk.
        b.open("/settings/devices")
        b.find("[data-test=device-row]")
        self.assertLabelled()
        b.open("/settings/audit")
        b.find("[data-test=audit-row]")
        b.screenshot("audit")
        self.assertLabelled()
        self.assertNoConsoleErrors()

        # Sign out; a reload stays signed out; sign in; a reload stays signed in.
        b.find("[data-test=signout]").click()
        b.find("#signin-form")
        b.driver.refresh()
        b.find("#signin-form")
        self.assertFalse(b.driver.find_elements(By.CSS_SELECTOR, "[data-test=current-user]"))
        b.screenshot("sign-in")
        sign_in(b, email)
        b.driver.refresh()
        self.assertEqual(b.find("[data-test=current-user]").text, "Walker")
        # Nothing of the session is readable by the page: the refresh token is an HttpOnly cookie.
        self.assertEqual(b.driver.execute_script("return document.cookie"), "")
        self.assertEqual(b.driver.execute_script("return localStorage.length + sessionStorage.length"), 0)
        self.assertNoConsoleErrors()

    def test_names_with_markup_are_shown_as_text_never_run(self):
        b = self.browser
        email = unique("hostile") + "@example.com"
        api = Api.signed_up(email, name="<img src=x onerror=window.__xss=1>")
        evil = "<img src=x onerror=window.__xss=2><script>window.__xss=3</script>"
        team = api.call("POST", "/teams", {"name": evil, "slug": unique("evil")})
        project = api.call("POST", "/projects", {"name": evil, "slug": unique("evil"), "team_id": team["id"]})
        _create_env(api, project, evil, "evil")
        sign_in(b, email)
        for path in ("/", "/teams", f"/teams/{team['id']}", "/projects", f"/projects/{project['id']}"):
            b.open(path)
            b.wait_text("<script>window.__xss=3</script>")
            self.assertIsNone(b.driver.execute_script("return window.__xss"), path)
            self.assertEqual(b.driver.find_elements(By.CSS_SELECTOR, "img[src=x]"), [], path)
        self.assertNoConsoleErrors()

    def test_the_login_form_is_reachable_by_keyboard_in_order(self):
        b = self.browser
        b.open("/login")
        b.find("#email")
        order = []
        for _ in range(12):
            ActionChains(b.driver).send_keys(Keys.TAB).perform()
            active = b.driver.switch_to.active_element
            order.append(active.get_attribute("id") or active.get_attribute("data-test") or active.tag_name)
        # From the top of the page, Tab reaches the email, then the password, then the button.
        email = order.index("email")
        self.assertEqual(order[email : email + 3], ["email", "password", "signin-submit"], order)
        self.assertNoConsoleErrors()


class PhoneTest(unittest.TestCase):
    def test_the_dashboard_fits_a_phone_without_sideways_scrolling(self):
        b = Browser(width=390, height=844, mobile=True)
        self.addCleanup(b.close)
        email = unique("phone") + "@example.com"
        api = Api.signed_up(email, name="Phone")
        team = api.call("POST", "/teams", {"name": "Phone team", "slug": unique("phone")})
        project = api.call("POST", "/projects", {"name": "Phone project", "slug": unique("p"), "team_id": team["id"]})
        for i in range(3):
            _create_env(api, project, f"box {i}", f"box-{i}")
        sign_in(b, email)
        b.open(f"/projects/{project['id']}")
        b.find("[data-test=env-row]")
        overflow = b.driver.execute_script("return document.scrollingElement.scrollWidth - window.innerWidth")
        self.assertLessEqual(overflow, 1, "the page scrolls sideways on a phone")
        toggle = b.find("#nav-toggle")
        toggle.click()
        self.assertEqual(toggle.get_attribute("aria-expanded"), "true")
        b.screenshot("phone")
        self.assertEqual(b.errors(), [])


def _env(project, name, slug):
    return {"project_id": project["id"], "name": name, "slug": slug, "base_image": "vibebox/base:bookworm"}


def _create_env(api, project, name, slug):
    return api.call("POST", "/environments", _env(project, name, slug))


def _refused(token):
    try:
        Api(token).call("GET", "/users/me")
        return False
    except ApiError as e:
        return e.status == 401


if __name__ == "__main__":
    unittest.main()
