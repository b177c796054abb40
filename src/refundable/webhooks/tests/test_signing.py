"""The signature scheme as an integrator checks it, and the registry's wildcard patterns."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from refundable.webhooks.events import EVENT_TYPES, pattern_matches, pattern_problem
from refundable.webhooks.signing import signature_header, webhook_signature_verify

SECRET = "whsec_test"
BODY = b'{"created":1772359200,"data":{"id":1},"id":"evt_1","type":"refund.succeeded"}'
T = 1_772_359_200


def test_the_header_is_an_hmac_of_timestamp_dot_body() -> None:
    header = signature_header(body=BODY, secrets_in_use=[SECRET], timestamp=T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    assert webhook_signature_verify(payload=BODY, header=header, secret=SECRET, now=T + 299)


@pytest.mark.parametrize("case", ["tampered", "wrong secret", "too old", "from the future",
                                  "no v1", "no t", "bad t", "empty"])
def test_anything_else_does_not_verify(case: str) -> None:
    header = signature_header(body=BODY, secrets_in_use=[SECRET], timestamp=T)
    payload, secret, now = BODY, SECRET, float(T)
    if case == "tampered":
        payload = BODY.replace(b'"id":1', b'"id":2')
    elif case == "wrong secret":
        secret = "whsec_other"
    elif case == "too old":
        now = T + 301
    elif case == "from the future":
        now = T - 301
    elif case == "no v1":
        header = f"t={T}"
    elif case == "no t":
        header = header.split(",", 1)[1]
    elif case == "bad t":
        header = header.replace(f"t={T}", "t=soon")
    else:
        header = ""
    assert not webhook_signature_verify(payload=payload, header=header, secret=secret, now=now)


def test_any_of_several_signatures_may_match() -> None:
    header = signature_header(body=BODY, secrets_in_use=["whsec_new", SECRET], timestamp=T)
    assert webhook_signature_verify(payload=BODY, header=header, secret=SECRET, now=T)
    assert webhook_signature_verify(payload=BODY, header=header, secret="whsec_new", now=T)


def test_subscription_patterns() -> None:
    assert "refund.unknown" in EVENT_TYPES and len(EVENT_TYPES) == 17
    assert pattern_problem("*") is None and pattern_problem("dispute.*") is None
    assert pattern_problem("refund.succeeded") is None
    problem = pattern_problem("refunds.*")
    assert problem is not None and "'refunds.*'" in problem and "refund_request.*" in problem
    assert pattern_problem("refund.succeded") is not None
    assert pattern_matches("refund.*", "refund.failed")
    assert not pattern_matches("refund.*", "refund_request.created")
    assert not pattern_matches("refund.failed", "refund.succeeded")
