"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from refundable.testing.smtp import Mailbox, start_smtp

if TYPE_CHECKING:
    from refundable.testing.browser import Browsers


@pytest.fixture
def browsers(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browsers]:
    """Debian's Chromium driven by Playwright against the live server (``browsers.page()``).

    Skips when /usr/bin/chromium is missing, fails instead under CI=true. Function-scoped:
    while Playwright runs, this thread has a running asyncio loop, which Django's ORM refuses
    without DJANGO_ALLOW_ASYNC_UNSAFE — set here for this test only, and the loop ends with it.
    The loop also makes Django keep this thread's connections in a context variable, where a
    new, never-closed connection would open; the test keeps using its own instead.
    """
    from django.db import connections

    from refundable.testing.browser import launched, require_chromium

    require_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    own = {alias: connections[alias] for alias in connections}
    with launched(live_server.url) as running:
        for alias, connection in own.items():
            connections[alias] = connection
        yield running


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1; Django sends to it. Yields the mailbox."""
    controller, mailbox = start_smtp()
    # Django's test setup swaps in the in-memory backend; these tests want the real SMTP path.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """Each test starts in the default language: a view that activates the customer's
    language (as the portal does) must not leak it into the next test of the thread."""
    from django.utils import translation

    yield
    translation.deactivate()
