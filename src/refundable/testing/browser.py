"""Real-browser tests: Playwright's sync API driving Debian's Chromium at /usr/bin/chromium.

Playwright cannot download its own browser on our machines, so the tests use the system one.
Without it they skip and say how to install it — except under ``CI=true``, where they fail:
CI installs Chromium (``.ci/run``) and must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
# Modest: the machine is shared. Playwright waits for elements and navigations up to these.
ACTION_TIMEOUT_MS = 10_000
LAUNCH_TIMEOUT_MS = 30_000
MISSING = "Debian's chromium is not installed: apt-get install chromium"


def require_chromium() -> None:
    """Skip when /usr/bin/chromium is missing; fail instead under CI=true."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{MISSING} (under CI=true the browser tests must run, not skip)",
                    pytrace=False)
    pytest.skip(MISSING)


def _no_favicon(route: Route) -> None:
    # Chromium asks for /favicon.ico on its own, at any moment; with SQLite in memory the live
    # server shares the test's database connection, so keep stray requests away from it.
    route.abort()


@dataclass
class Browsers:
    """One Chromium; each ``page()`` lives in its own context (its own cookies: one person)."""

    browser: Browser
    base_url: str
    contexts: list[BrowserContext] = field(default_factory=list)

    def page(self, *, locale: str = "en-GB", javascript: bool = True) -> Page:
        context = self.browser.new_context(base_url=self.base_url, locale=locale,
                                           java_script_enabled=javascript,
                                           timezone_id="Europe/Paris")
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        context.route("**/favicon.ico", _no_favicon)
        self.contexts.append(context)
        return context.new_page()


@contextmanager
def launched(base_url: str) -> Iterator[Browsers]:
    """Start Playwright and Chromium; close both afterwards.

    Playwright's sync API runs an asyncio loop in this thread while it is started, so Django
    sees a "running event loop" and refuses ORM calls unless DJANGO_ALLOW_ASYNC_UNSAFE is set
    (the caller sets it for the test only). Stopping Playwright ends the loop.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=LAUNCH_ARGS, timeout=LAUNCH_TIMEOUT_MS)
        browsers = Browsers(browser, base_url.rstrip("/"))
        try:
            yield browsers
        finally:
            for context in browsers.contexts:
                context.close()
            browser.close()


def customer_sign_in(page: Page, email: str, password: str) -> None:
    """Sign in on the portal with a password; lands on the account page."""
    page.goto("/login/")
    page.locator("input[name=identifier]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account/")
