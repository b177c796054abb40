"""One HTTP POST to an endpoint, with a short timeout; never raises for what the network or
the receiver does — the answer says what happened."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import IO, Any

EXCERPT_BYTES = 2048  # of the receiver's answer, kept for the delivery log


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None when no HTTP answer came back
    error: str  # "" on a 2xx answer
    duration_ms: int
    response_excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a delivery: following it would turn the POST into a GET
    # (or send the signed body somewhere the operator never registered).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _excerpt(stream: IO[bytes] | None) -> str:
    if stream is None:
        return ""
    try:
        return stream.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError, http.client.HTTPException):
        return ""


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST ``body`` to ``url``. A 2xx answer is a success; any other status, a timeout or a
    connection error is a failure described in ``error``."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _opener.open(request, timeout=timeout) as response:
            excerpt = _excerpt(response)
            status = int(response.status)
    except urllib.error.HTTPError as exc:  # an answer outside 2xx (redirects included)
        excerpt = _excerpt(exc.fp)
        return PostResult(exc.code, f"HTTP {exc.code} {exc.reason}".strip(), elapsed(),
                          excerpt)
    except TimeoutError:
        return PostResult(None, f"no answer within {timeout:g} s (timeout)", elapsed(), "")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return PostResult(None, f"no answer within {timeout:g} s (timeout)", elapsed(), "")
        return PostResult(None, f"connection failed: {reason}", elapsed(), "")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # reset connections, malformed answers, bad URLs
        return PostResult(None, f"{type(exc).__name__}: {exc}", elapsed(), "")
    if 200 <= status < 300:
        return PostResult(status, "", elapsed(), excerpt)
    return PostResult(status, f"HTTP {status}", elapsed(), excerpt)
