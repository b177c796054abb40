"""The Stripe adapter on replayed responses.

The real ``stripe`` SDK and the real ``requests`` session run; only the network is replaced, by
a transport adapter that hands back the JSON files of ``stripe_responses/`` (shaped after
Stripe's API reference, see its README) and records what the SDK sent.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe
import time_machine
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from refundable.payments.providers.base import (
    ProviderDeclined,
    ProviderError,
    ProviderUnavailable,
    WebhookSignatureError,
)
from refundable.payments.providers.stripe import StripeProvider

RESPONSES = Path(__file__).parent / "stripe_responses"
API_KEY = "sk_test_51ReplayKeyNotARealOneReplayKeyNotARealOne0000"
WEBHOOK_SECRET = "whsec_replayedTestSecret0123456789abcdef"
REFUND_ID = "0b7e4c2a-9d31-4f6e-8a20-5c1d7e93f4ab"
CHARGE = "ch_3QaXb7LkdIwHu7ix1y0qWm4T"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]
    body: str
    timeout: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body)


class Replay(HTTPAdapter):
    """A ``requests`` transport answering from a queue: (status, file) or an exception."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple[int, bytes] | Exception] = []
        self.sent: list[Sent] = []

    def answer(self, status: int, name: str) -> Replay:
        self.answers.append((status, (RESPONSES / name).read_bytes()))
        return self

    def answer_raw(self, status: int, body: bytes) -> Replay:
        self.answers.append((status, body))
        return self

    def fail(self, error: Exception) -> Replay:
        self.answers.append(error)
        return self

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        body = request.body
        self.sent.append(Sent(method=request.method or "", url=request.url or "",
                              headers={key: str(value) for key, value in request.headers.items()},
                              body=body.decode() if isinstance(body, bytes)
                              else body if isinstance(body, str) else "",
                              timeout=timeout))
        assert self.answers, f"unexpected request {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, content = answer
        raw = HTTPResponse(body=io.BytesIO(content), status=status, preload_content=False,
                           headers={"Content-Type": "application/json",
                                    "Request-Id": f"req_replay{len(self.sent)}"})
        return self.build_response(request, raw)


@pytest.fixture
def replay() -> Iterator[Replay]:
    adapter = Replay()
    yield adapter
    assert not adapter.answers, "some replayed answers were never asked for"


def provider_for(replay: Replay, **options: Any) -> StripeProvider:
    session = requests.Session()
    session.mount("https://", replay)
    client = options.pop("http_client", None) or stripe.RequestsClient(session=session,
                                                                       timeout=7.5)
    return StripeProvider(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, http_client=client,
                          **options)


def create(provider: StripeProvider, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "refund_id": REFUND_ID, "charge_reference": CHARGE, "amount": 2500,
        "currency": "EUR", "metadata": {"order": "ord_1042"}}
    arguments.update(overrides)
    return provider.refund_create(**arguments)


# -- refund_create ----------------------------------------------------------------------------

def test_create_sends_the_refund_with_our_id_as_idempotency_key(replay: Replay) -> None:
    replay.answer(200, "refund_pending.json")

    refund = create(provider_for(replay))

    (sent,) = replay.sent
    assert (sent.method, sent.path) == ("POST", "/v1/refunds")
    assert sent.form == {"amount": ["2500"], "charge": [CHARGE],
                         "metadata[order]": ["ord_1042"],
                         "metadata[refundable_refund_id]": [REFUND_ID]}
    assert sent.headers["Idempotency-Key"] == REFUND_ID
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["Stripe-Version"]
    assert sent.timeout == 7.5
    assert refund.provider_refund_id == "re_3QaXb7LkdIwHu7ix1Hs9Kd2P"
    assert refund.status == "pending"
    assert (refund.amount, refund.currency) == (2500, "EUR")
    assert refund.refund_id == REFUND_ID
    assert refund.charge_reference == CHARGE
    assert refund.failure_reason == ""
    assert refund.created_at == datetime(2026, 3, 2, 9, 58, 12, tzinfo=UTC)


def test_create_on_a_payment_intent_that_succeeds(replay: Replay) -> None:
    replay.answer(200, "refund_succeeded.json")
    intent = "pi_3QbK2mLkdIwHu7ix0Vw5yXz9"
    ours = "5d1f0e6b-3a2c-4b8e-9f47-b1c2d3e4f5a6"

    refund = create(provider_for(replay), refund_id=ours, charge_reference=intent, amount=8999,
                    metadata={})

    (sent,) = replay.sent
    assert sent.form == {"amount": ["8999"], "payment_intent": [intent],
                         "metadata[refundable_refund_id]": [ours]}
    assert sent.headers["Idempotency-Key"] == ours
    assert refund.status == "succeeded"
    assert refund.charge_reference == intent  # the caller's reference, not Stripe's charge
    assert refund.refund_id == ours


def test_our_metadata_key_cannot_be_overridden_by_the_caller(replay: Replay) -> None:
    replay.answer(200, "refund_pending.json")

    create(provider_for(replay), metadata={"refundable_refund_id": "someone-else"})

    assert replay.sent[0].form["metadata[refundable_refund_id]"] == [REFUND_ID]


@pytest.mark.parametrize(("reference", "overrides"), [
    ("order-42", {}),
    ("re_3QaXb7LkdIwHu7ix1Hs9Kd2P", {}),
    ("ch_", {}),
    (CHARGE, {"amount": 0}),
    (CHARGE, {"amount": -5}),
    (CHARGE, {"amount": True}),
    (CHARGE, {"refund_id": ""}),
])
def test_bad_input_is_declined_without_calling_stripe(replay: Replay, reference: str,
                                                      overrides: dict[str, Any]) -> None:
    with pytest.raises(ProviderDeclined) as declined:
        create(provider_for(replay), charge_reference=reference, **overrides)

    assert replay.sent == []
    assert declined.value.code.startswith("invalid_")
    if declined.value.code == "invalid_charge_reference":
        assert reference in str(declined.value)


@pytest.mark.parametrize(("fixture", "code", "words"), [
    ("error_charge_already_refunded.json", "charge_already_refunded", "already been refunded"),
    ("error_amount_too_large.json", "amount_too_large", "greater than unrefunded amount"),
])
def test_stripe_refusals_are_declines_with_stripes_code(replay: Replay, fixture: str, code: str,
                                                        words: str) -> None:
    replay.answer(400, fixture)

    with pytest.raises(ProviderDeclined) as declined:
        create(provider_for(replay))

    assert declined.value.code == code
    assert words in str(declined.value)
    assert "req_replay1" in str(declined.value)


@pytest.mark.parametrize("answer", [
    (500, "error_api_error_500.json"),
    (429, "error_rate_limit_429.json"),
    (400, "error_idempotency_400.json"),
    (200, b"<html>502 Bad Gateway</html>"),
    requests.exceptions.ConnectionError("Connection reset by peer"),
    requests.exceptions.ReadTimeout("Read timed out. (read timeout=7.5)"),
])
def test_no_usable_answer_is_unavailable(replay: Replay, answer: Any) -> None:
    if isinstance(answer, Exception):
        replay.fail(answer)
    elif isinstance(answer[1], bytes):
        replay.answer_raw(*answer)
    else:
        replay.answer(*answer)

    with pytest.raises(ProviderUnavailable) as unavailable:
        create(provider_for(replay))

    assert "unknown" in str(unavailable.value)
    assert len(replay.sent) == 1  # no retry by default: the reconciler takes over


def test_an_answer_without_the_refunds_fields_is_unavailable(replay: Replay) -> None:
    replay.answer_raw(200, b'{"id": "re_3QaXb7LkdIwHu7ix1Hs9Kd2P", "object": "refund"}')

    with pytest.raises(ProviderUnavailable, match="amount"):
        create(provider_for(replay))


class NoWaitRequestsClient(stripe.RequestsClient):
    """The SDK's client without its back-off pause, so a retry test does not sleep."""

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0


def test_retries_when_enabled_reuse_the_idempotency_key(replay: Replay) -> None:
    session = requests.Session()
    session.mount("https://", replay)
    replay.answer(500, "error_api_error_500.json").answer(200, "refund_pending.json")
    provider = provider_for(replay, http_client=NoWaitRequestsClient(session=session),
                            max_network_retries=1)

    refund = create(provider)

    assert [sent.headers["Idempotency-Key"] for sent in replay.sent] == [REFUND_ID, REFUND_ID]
    assert refund.status == "pending"


@pytest.mark.parametrize(("status", "fixture", "words"), [
    (401, "error_invalid_api_key_401.json", "REFUNDABLE_STRIPE_API_KEY"),
    (403, "error_permission_403.json", "permission"),
])
def test_key_problems_are_configuration_errors_without_the_key(replay: Replay, status: int,
                                                               fixture: str, words: str) -> None:
    replay.answer(status, fixture)

    with pytest.raises(ProviderError) as error:
        create(provider_for(replay))

    assert type(error.value) is ProviderError
    assert words in str(error.value)
    assert "sk_test" not in str(error.value) and "rk_test" not in str(error.value)


@pytest.mark.parametrize("key", ["", "   ", "pk_test_51PublishableKey"])
def test_unusable_keys_are_refused_at_construction(key: str) -> None:
    with pytest.raises(ProviderError, match="REFUNDABLE_STRIPE_API_KEY"):
        StripeProvider(api_key=key, webhook_secret=WEBHOOK_SECRET)


# -- refund_find ------------------------------------------------------------------------------

def test_find_by_provider_id(replay: Replay) -> None:
    replay.answer(200, "refund_succeeded.json")

    refund = provider_for(replay).refund_find(
        refund_id="5d1f0e6b-3a2c-4b8e-9f47-b1c2d3e4f5a6",
        provider_refund_id="re_3QbK2mLkdIwHu7ix0Zt7Pq1R", charge_reference="")

    (sent,) = replay.sent
    assert (sent.method, sent.path) == ("GET", "/v1/refunds/re_3QbK2mLkdIwHu7ix0Zt7Pq1R")
    assert refund is not None
    assert refund.status == "succeeded"
    assert refund.refund_id == "5d1f0e6b-3a2c-4b8e-9f47-b1c2d3e4f5a6"
    assert refund.charge_reference == "ch_3QbK2mLkdIwHu7ix0mN4sRt8"


def test_find_by_provider_id_unknown_to_stripe_is_none(replay: Replay) -> None:
    replay.answer(404, "error_refund_missing_404.json")

    assert provider_for(replay).refund_find(
        refund_id=REFUND_ID, provider_refund_id="re_3QzzzzLkdIwHu7ix0NoSuch1",
        charge_reference=CHARGE) is None


def test_find_by_metadata_reads_every_page(replay: Replay) -> None:
    replay.answer(200, "refunds_list_page1.json").answer(200, "refunds_list_page2.json")
    charge = "ch_3QcT9wLkdIwHu7ix0Gh3Lk5M"

    refund = provider_for(replay).refund_find(
        refund_id="9c4b1e27-6d8a-4f3c-b2e1-0a9f8e7d6c5b", provider_refund_id="",
        charge_reference=charge)

    first, second = replay.sent
    assert (first.method, first.path) == ("GET", "/v1/refunds")
    assert first.query == {"charge": [charge], "limit": ["100"]}
    assert second.query == {"charge": [charge], "limit": ["100"],
                            "starting_after": ["re_3QcT9wLkdIwHu7ix0Dd3Ee4F"]}
    assert refund is not None
    assert refund.provider_refund_id == "re_3QcT9wLkdIwHu7ix0Gg5Hh6I"
    assert (refund.amount, refund.status) == (2000, "succeeded")
    assert refund.charge_reference == charge


def test_find_by_metadata_absent_is_none(replay: Replay) -> None:
    replay.answer(200, "refunds_list_without_ours.json")
    intent = "pi_3QdU1xLkdIwHu7ix1Qq1Rr2S"

    assert provider_for(replay).refund_find(
        refund_id=REFUND_ID, provider_refund_id="", charge_reference=intent) is None
    assert replay.sent[0].query == {"payment_intent": [intent], "limit": ["100"]}


def test_find_on_a_charge_unknown_to_stripe_is_none(replay: Replay) -> None:
    replay.answer(404, "error_charge_missing_404.json")

    assert provider_for(replay).refund_find(
        refund_id=REFUND_ID, provider_refund_id="",
        charge_reference="ch_3QzzzzLkdIwHu7ix0NoSuch2") is None


def test_find_with_a_refused_key_is_a_configuration_error(replay: Replay) -> None:
    replay.answer(401, "error_invalid_api_key_401.json")

    with pytest.raises(ProviderError) as error:
        provider_for(replay).refund_find(refund_id=REFUND_ID, provider_refund_id="",
                                         charge_reference=CHARGE)
    assert type(error.value) is ProviderError


def test_find_without_an_answer_is_unavailable(replay: Replay) -> None:
    replay.fail(requests.exceptions.ConnectTimeout("Connection to api.stripe.com timed out"))

    with pytest.raises(ProviderUnavailable):
        provider_for(replay).refund_find(refund_id=REFUND_ID, provider_refund_id="",
                                         charge_reference=CHARGE)


def test_find_with_a_reference_that_is_not_stripes_is_an_error(replay: Replay) -> None:
    with pytest.raises(ProviderError, match="order-42"):
        provider_for(replay).refund_find(refund_id=REFUND_ID, provider_refund_id="",
                                         charge_reference="order-42")
    assert replay.sent == []


# -- webhook_parse ----------------------------------------------------------------------------

def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, at: datetime = NOW) -> dict[str, str]:
    """The Stripe-Signature header Stripe would send: t=<unix time>,v1=<HMAC-SHA256 of
    "<t>.<body>" with the endpoint secret>."""
    timestamp = int(at.timestamp())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"stripe-signature": f"t={timestamp},v1={mac.hexdigest()}"}


def event_body(name: str, **changes: Any) -> bytes:
    event = json.loads((RESPONSES / name).read_text())
    event.update(changes)
    return json.dumps(event).encode()


def parse(body: bytes, headers: Mapping[str, str] | None = None) -> Any:
    provider = StripeProvider(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET)
    return provider.webhook_parse(payload=body, headers=signed(body) if headers is None
                                  else headers)


@time_machine.travel(NOW, tick=False)
def test_refund_event_with_our_metadata() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()

    (event,) = parse(body)

    assert event.event_id == "evt_3QaXb7LkdIwHu7ix1Ev0Up1D"
    assert event.kind == "refund.updated"
    assert event.dispute is None
    assert event.raw["type"] == "refund.updated"
    refund = event.refund
    assert refund.provider_refund_id == "re_3QaXb7LkdIwHu7ix1Hs9Kd2P"
    assert refund.refund_id == REFUND_ID
    assert refund.charge_reference == CHARGE
    assert (refund.amount, refund.currency, refund.status) == (2500, "EUR", "succeeded")
    assert refund.created_at == datetime(2026, 3, 2, 9, 58, 12, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("event_type", [
    "refund.created", "refund.updated", "refund.failed", "charge.refund.updated"])
def test_every_refund_event_type_is_a_refund_update(event_type: str) -> None:
    (event,) = parse(event_body("event_refund_updated.json", type=event_type))

    assert event.kind == "refund.updated"
    assert event.refund.refund_id == REFUND_ID


@time_machine.travel(NOW, tick=False)
def test_failed_refund_keeps_stripes_reason() -> None:
    (event,) = parse((RESPONSES / "event_refund_failed.json").read_bytes())

    assert event.refund.status == "failed"
    assert event.refund.failure_reason == "expired_or_canceled_card"


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("stripe_status", "ours"), [
    ("requires_action", "pending"), ("pending", "pending"), ("succeeded", "succeeded"),
    ("failed", "failed"), ("canceled", "canceled"), ("something_new", "pending")])
def test_refund_statuses(stripe_status: str, ours: str) -> None:
    event = json.loads((RESPONSES / "event_refund_updated.json").read_text())
    event["data"]["object"]["status"] = stripe_status

    (parsed,) = parse(json.dumps(event).encode())

    assert parsed.refund.status == ours


@time_machine.travel(NOW, tick=False)
def test_refund_made_in_the_dashboard_has_no_refund_id_of_ours() -> None:
    (event,) = parse((RESPONSES / "event_refund_created_dashboard.json").read_bytes())

    assert event.refund.refund_id == ""
    assert event.refund.provider_refund_id == "re_3QeV4yLkdIwHu7ix0Da5Sh6B"
    assert event.refund.charge_reference == "ch_3QeV4yLkdIwHu7ix0Cc7Hh8G"
    assert (event.refund.amount, event.refund.status) == (1299, "succeeded")


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("event_type", [
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"])
def test_every_dispute_event_type_is_a_dispute_update(event_type: str) -> None:
    (event,) = parse(event_body("event_dispute_created.json", type=event_type))

    assert event.kind == "dispute.updated"
    assert event.refund is None
    dispute = event.dispute
    assert dispute.provider_dispute_id == "du_3QfW5zLkdIwHu7ix1Dp2Ut3E"
    assert dispute.charge_reference == "ch_3QbK2mLkdIwHu7ix0mN4sRt8"
    assert (dispute.amount, dispute.currency) == (8999, "EUR")
    assert dispute.reason == "product_not_received"
    assert dispute.status == "needs_response"
    assert dispute.evidence_due_by == datetime(2026, 3, 16, 23, 59, 59, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("stripe_status", "ours"), [
    ("warning_needs_response", "needs_response"), ("needs_response", "needs_response"),
    ("warning_under_review", "under_review"), ("under_review", "under_review"),
    ("won", "won"), ("warning_closed", "won"), ("lost", "lost")])
def test_dispute_statuses(stripe_status: str, ours: str) -> None:
    event = json.loads((RESPONSES / "event_dispute_created.json").read_text())
    event["data"]["object"]["status"] = stripe_status

    (parsed,) = parse(json.dumps(event).encode())

    assert parsed.dispute.status == ours


@time_machine.travel(NOW, tick=False)
def test_dispute_without_a_response_window_has_no_due_date() -> None:
    event = json.loads((RESPONSES / "event_dispute_created.json").read_text())
    event["data"]["object"]["evidence_details"]["due_by"] = 0

    (parsed,) = parse(json.dumps(event).encode())

    assert parsed.dispute.evidence_due_by is None


@time_machine.travel(NOW, tick=False)
def test_dispute_with_an_unknown_status_is_refused() -> None:
    event = json.loads((RESPONSES / "event_dispute_created.json").read_text())
    event["data"]["object"]["status"] = "something_new"

    with pytest.raises(WebhookSignatureError, match="something_new"):
        parse(json.dumps(event).encode())


@time_machine.travel(NOW, tick=False)
def test_charge_refunded_of_older_api_versions_gives_each_refund() -> None:
    events = parse((RESPONSES / "event_charge_refunded_2020.json").read_bytes())

    assert [(e.event_id, e.kind, e.refund.refund_id, e.refund.amount) for e in events] == [
        ("evt_1HgY9bLkdIwHu7ixEv3Ch4Rf:re_1HgY9bLkdIwHu7ixLk2Jh3Gf", "refund.updated",
         "3e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a", 2000),
        ("evt_1HgY9bLkdIwHu7ixEv3Ch4Rf:re_1HgY7cLkdIwHu7ixPo4Iu5Yt", "refund.updated", "", 1500),
    ]
    assert {e.refund.charge_reference for e in events} == {"ch_1HgY6aLkdIwHu7ixQw3Er4Ty"}


@time_machine.travel(NOW, tick=False)
def test_charge_refunded_without_embedded_refunds_gives_nothing() -> None:
    event = json.loads((RESPONSES / "event_charge_refunded_2020.json").read_text())
    del event["data"]["object"]["refunds"]

    assert parse(json.dumps(event).encode()) == []


@time_machine.travel(NOW, tick=False)
def test_other_event_types_give_nothing() -> None:
    assert parse(event_body("event_charge_refunded_2020.json", type="charge.captured")) == []


@time_machine.travel(NOW, tick=False)
def test_header_names_in_any_case() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()
    headers = {"Stripe-Signature": signed(body)["stripe-signature"]}

    assert len(parse(body, headers)) == 1


@time_machine.travel(NOW, tick=False)
def test_signature_with_another_secret_is_refused() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()

    with pytest.raises(WebhookSignatureError, match="signature"):
        parse(body, signed(body, secret="whsec_someoneElsesSecret"))


@time_machine.travel(NOW, tick=False)
def test_tampered_body_is_refused() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()

    with pytest.raises(WebhookSignatureError):
        parse(body.replace(b"2500", b"9500"), signed(body))


@time_machine.travel(NOW, tick=False)
def test_stale_timestamp_is_refused_and_a_recent_one_accepted() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()
    stale = datetime.fromtimestamp(NOW.timestamp() - 301, tz=UTC)
    recent = datetime.fromtimestamp(NOW.timestamp() - 299, tz=UTC)

    with pytest.raises(WebhookSignatureError, match="tolerance"):
        parse(body, signed(body, at=stale))
    assert len(parse(body, signed(body, at=recent))) == 1


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("headers", [{}, {"stripe-signature": "garbage"},
                                     {"stripe-signature": "t=1772445600"}])
def test_missing_or_unreadable_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookSignatureError):
        parse((RESPONSES / "event_refund_updated.json").read_bytes(), headers)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("body", "words"), [
    (b"this is not json", "not JSON"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b'{"object": "list", "data": []}', "not a Stripe event"),
    (b'{"object": "event", "id": "evt_1", "type": "refund.updated", "data": {}}',
     "data.object"),
    (b'{"object": "event", "id": "evt_1", "type": "refund.updated",'
     b' "data": {"object": {"id": "re_1", "object": "refund", "currency": "eur"}}}', "amount"),
])
def test_signed_garbage_is_refused_with_what_is_wrong(body: bytes, words: str) -> None:
    with pytest.raises(WebhookSignatureError, match=words):
        parse(body)


def test_webhooks_need_the_signing_secret() -> None:
    body = (RESPONSES / "event_refund_updated.json").read_bytes()
    provider = StripeProvider(api_key=API_KEY, webhook_secret="")

    with pytest.raises(ProviderError, match="REFUNDABLE_STRIPE_WEBHOOK_SECRET"):
        provider.webhook_parse(payload=body, headers=signed(body))
