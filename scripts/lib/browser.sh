# shellcheck shell=bash
# Headless Chromium for scripts/browser-test and scripts/bench-console. Source it, then
# `browser_setup` installs what is missing: Debian's chromium and chromium-driver (apt) and
# selenium (pinned, from PyPI, in target/browser-venv), and fetches the console's xterm.js
# assets (scripts/console-assets), setting $console_vendor. Define `missing MESSAGE` first: it
# is called when a prerequisite cannot be had.

SELENIUM_VERSION=4.51.0
browser_venv=target/browser-venv
console_vendor=""

browser_setup() {
    echo "==> headless Chromium and its WebDriver"
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null \
            || missing "chromium and chromium-driver are missing and could not be installed"
    fi
    echo "==> selenium $SELENIUM_VERSION"
    if [ ! -x "$browser_venv/bin/python" ] ||
        ! "$browser_venv/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
        rm -rf "$browser_venv"
        python3 -m venv "$browser_venv" || missing "python3 cannot create a venv"
        "$browser_venv/bin/pip" install --quiet --disable-pip-version-check "selenium==$SELENIUM_VERSION" ||
            missing "selenium $SELENIUM_VERSION could not be installed from PyPI"
    fi
    docker info >/dev/null 2>&1 || missing "the Docker engine is not reachable"
    console_vendor=$(scripts/console-assets) || missing "the console's xterm.js assets could not be fetched"
}
