"""The web console's budgets (issue 16), in headless Chromium against a live server
(scripts/bench console starts a release build of the example server):

- first contentful paint of the dashboard with 100 environments, on loopback: <= 300 ms;
- the app's own JavaScript and CSS: <= 100 KB uncompressed (xterm.js reported apart);
- keystroke-to-echo in the browser terminal, measured in the page: p99 <= 20 ms.

Prints Markdown rows for BENCHMARKS.md. VIBEBOX_BENCH_QUICK=1 takes few samples.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "browser"))

from console import PASSWORD, Api, Browser, unique, wait_for  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

QUICK = os.environ.get("VIBEBOX_BENCH_QUICK", "") not in ("", "0")
LOADS = 5 if QUICK else 30
KEYS = 30 if QUICK else 300
ENVIRONMENTS = 100
ROOT = os.path.join(os.path.dirname(__file__), "..")

# Installed before the page's scripts: when 100 environment rows are on the page.
MARK_ROWS = """
new MutationObserver((_, o) => {
  if (document.querySelectorAll('[data-test=env-row]').length >= %d) {
    window.__rowsAt = performance.now();
    o.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
""" % ENVIRONMENTS


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def row(what, values):
    print(
        f"| {what} | {len(values)} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | "
        f"{pct(values, 99):.1f} | {max(values):.1f} |"
    )


def sizes():
    own = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "vibebox-http", "console")):
        for f in files:
            if f.endswith((".js", ".css")):
                path = os.path.join(folder, f)
                own[os.path.relpath(path, os.path.join(ROOT, "vibebox-http", "console"))] = os.path.getsize(path)
    vendor_dir = os.environ.get("VIBEBOX_CONSOLE_VENDOR", os.path.join(ROOT, "target", "console-vendor"))
    vendor = {f: os.path.getsize(os.path.join(vendor_dir, f)) for f in sorted(os.listdir(vendor_dir)) if f.endswith((".js", ".css"))}
    return own, vendor


def paints(b, path, cold):
    b.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": cold})
    fcp, rows = [], []
    for _ in range(LOADS):
        b.open(path)
        b.wait("the environment rows", lambda d: d.execute_script("return window.__rowsAt"), timeout=30)
        entry = b.driver.execute_script(
            "return performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0]"
        )
        fcp.append(entry)
        rows.append(b.driver.execute_script("return window.__rowsAt"))
    return fcp, rows


def main():
    email = unique("bench") + "@example.com"
    api = Api.signed_up(email, name="Bencher")
    team = api.call("POST", "/teams", {"name": "Bench team", "slug": unique("bench")})
    project = api.call("POST", "/projects", {"name": "Bench", "slug": unique("bench"), "team_id": team["id"]})
    envs = [
        api.call("POST", "/environments", {
            "project_id": project["id"], "name": f"env {i:03}", "slug": f"env-{i:03}", "base_image": "vibebox/base:bookworm",
        })
        for i in range(ENVIRONMENTS)
    ]
    live = envs[0]
    api.call("POST", f"/environments/{live['id']}/start")
    wait_for("the environment to run", lambda: api.call("GET", f"/environments/{live['id']}")["status"] == "running", timeout=120)

    own, vendor = sizes()
    print("| the app's own files | bytes |\n|---|---|")
    for name, size in sorted(own.items()):
        print(f"| `{name}` | {size:,} |")
    print(f"| **total (JS + CSS)** | **{sum(own.values()):,}** |")
    print("\n| xterm.js (not counted) | bytes |\n|---|---|")
    for name, size in vendor.items():
        print(f"| `{name}` | {size:,} |")

    b = Browser()
    try:
        b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK_ROWS})
        b.open("/login")
        b.fill("#email", email)
        b.fill("#password", PASSWORD)
        b.find("#signin-form button[type=submit]").click()
        b.find("[data-test=current-user]")
        path = f"/projects/{project['id']}"
        print("\n| what (ms) | n | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|")
        for cold in (True, False):
            fcp, rows = paints(b, path, cold)
            kind = "cold cache" if cold else "warm cache"
            row(f"first contentful paint, {ENVIRONMENTS} environments, {kind}", fcp)
            row(f"all {ENVIRONMENTS} rows on the page, {kind}", rows)

        b.open(f"/environments/{live['id']}/terminal?probe=1")
        b.wait("the terminal", lambda d: d.find_element(By.CSS_SELECTOR, "[data-test=terminal-state]").get_attribute("data-state") == "open")
        b.wait("the probe", lambda d: d.execute_script("return window.vibeboxTerminalProbe && window.vibeboxTerminalProbe.connected"))
        b.wait("the prompt", lambda d: "$" in d.execute_script("return window.vibeboxTerminalProbe.screen()"))
        b.driver.set_script_timeout(30)
        # The probe resolves on the first output holding its character, so each keystroke is a
        # letter found neither in the prompt (`vibebox@dev:/$`) nor in tmux's status line, and
        # not yet on the input line: 13 letters in turn, the line cleared (Ctrl-U) every 10, and
        # the keystroke after a clear not counted (its output may carry the clear's redraw).
        letters = "fgjklpqrtuwyz"
        echo = []
        for i in range(KEYS + 10):
            if i % 10 == 0:
                b.driver.execute_script("window.vibeboxTerminalProbe.clear()")
            ms = b.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.vibeboxTerminalProbe.echo(arguments[0]).then(done, (e) => done(-1));",
                letters[i % len(letters)],
            )
            assert ms >= 0, "a keystroke got no echo"
            if i >= 10 and i % 10 != 0:
                echo.append(ms)
        row("keystroke to echo in the terminal (in the page)", echo)
        errors = b.errors()
        assert not errors, errors
        print(
            f"\nbudgets: own JS+CSS {sum(own.values()):,} B (<= 100,000); "
            f"keystroke p99 {pct(echo, 99):.1f} ms (<= 20); stdev {statistics.pstdev(echo):.2f} ms"
        )
    finally:
        b.close()


if __name__ == "__main__":
    main()
