"""Idempotency-Key: a retry replays the first answer without doing the change twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.refunds.models import Decision, RefundRequest
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import ChargeFactory

from ..models import IdempotencyRecord
from .support import API, Account, assert_error, bearer, key_for, post, session_client

pytestmark = pytest.mark.django_db


def refund_body(account: Account) -> dict[str, Any]:
    return {"charge": account.charge.pk, "reason": "dissatisfied", "description": "meh"}


def test_same_key_and_body_replay_the_stored_response(integrator: Client,
                                                      account: Account) -> None:
    first = post(integrator, "/refund-requests", refund_body(account), key="create-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    second = post(integrator, "/refund-requests", refund_body(account), key="create-1")
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert RefundRequest.objects.filter(channel="api").count() == 1
    assert Decision.objects.filter(request_id=first.json()["id"]).count() == 1
    record = IdempotencyRecord.objects.get(key="create-1")
    assert (record.status_code, record.method, record.path) == (201, "POST",
                                                               f"{API}/refund-requests")
    assert record.response == first.json()


def test_same_key_with_another_body_is_409(integrator: Client, account: Account) -> None:
    post(integrator, "/refund-requests", refund_body(account), key="create-1")
    changed = {**refund_body(account), "description": "something else"}
    error = assert_error(post(integrator, "/refund-requests", changed, key="create-1"), 409,
                         "idempotency_key_reused", "Idempotency-Key")
    assert error["type"] == "idempotency_error"
    assert RefundRequest.objects.filter(channel="api").count() == 1


def test_same_key_on_another_endpoint_is_409(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}"
    post(integrator, f"{path}/auto-renewal", {"enabled": False}, key="k")
    assert_error(post(integrator, f"{path}/undo-cancel", key="k"), 409,
                 "idempotency_key_reused", "Idempotency-Key")


def test_a_retried_state_change_runs_once(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/cancel"
    answers = [post(integrator, path, {"when": "now"}, key="cancel-1") for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert AuditEvent.objects.filter(action="subscription.cancel").count() == 1
    # a new key is a new request: now refused, the subscription being canceled
    assert_error(post(integrator, path, {"when": "now"}, key="cancel-2"), 422,
                 "invalid_state")


def test_an_error_answer_is_stored_and_replayed(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/undo-cancel"
    first = assert_error(post(integrator, path, key="undo"), 422, "invalid_state")
    # even once the state would allow it, the key answers what it answered
    post(integrator, f"/subscriptions/{account.subscription.pk}/cancel", {"when": "term_end"},
         key="cancel")
    replay = post(integrator, path, key="undo")
    assert replay["Idempotent-Replayed"] == "true"
    assert assert_error(replay, 422, "invalid_state") == first
    assert Subscription.objects.get(pk=account.subscription.pk).status == "cancel_scheduled"


def test_validation_errors_are_not_stored(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/cancel"
    assert_error(post(integrator, path, {"when": "tomorrow"}, key="k"), 400,
                 "parameter_invalid", "when")
    assert post(integrator, path, {"when": "now"}, key="k").status_code == 200


def test_a_missing_key_is_400_and_nothing_happens(integrator: Client, account: Account) -> None:
    for path, body in [(f"/subscriptions/{account.subscription.pk}/cancel", {"when": "now"}),
                       (f"/subscriptions/{account.subscription.pk}/undo-cancel", None),
                       (f"/subscriptions/{account.subscription.pk}/auto-renewal",
                        {"enabled": False}),
                       ("/refund-requests", refund_body(account))]:
        error = assert_error(post(integrator, path, body, key=None), 400,
                             "idempotency_key_missing", "Idempotency-Key")
        assert "Idempotency-Key header is required" in error["message"]
    assert Subscription.objects.get(pk=account.subscription.pk).auto_renew is True
    assert RefundRequest.objects.count() == 1


def test_an_unusable_key_is_400(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/auto-renewal"
    for bad in ("x" * 201, "   "):
        assert_error(post(integrator, path, {"enabled": False}, key=bad), 400,
                     "idempotency_key_invalid", "Idempotency-Key")


def test_keys_belong_to_their_principal(account: Account) -> None:
    """Two integrators (or an integrator and the customer) using the same key do not
    collide: each gets its own answer."""
    charge = ChargeFactory.create(order__subscription=account.subscription)
    body = {"charge": charge.pk, "reason": "dissatisfied"}
    first = post(Client(headers=bearer(key_for("write", name="a"))), "/refund-requests", body,
                 key="same")
    second = post(Client(headers=bearer(key_for("write", name="b"))), "/refund-requests",
                  body, key="same")
    third = post(session_client(account.customer), "/refund-requests", body, key="same")
    ids = {first.json()["id"], second.json()["id"], third.json()["id"]}
    assert len(ids) == 3 and "Idempotent-Replayed" not in second
    assert IdempotencyRecord.objects.filter(key="same").count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_run_once(account: Account, write_key: str) -> None:
    """Eight threads send the same request with the same key at once: one refund request is
    created, and every thread gets the same 201 answer."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (tools/postgres_tests.py)")
    charge = ChargeFactory.create(order__subscription=account.subscription)
    body = {"charge": charge.pk, "reason": "dissatisfied"}
    barrier = threading.Barrier(8)
    answers: list[tuple[int, Any]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client = Client(headers=bearer(write_key))
            barrier.wait(timeout=10)
            response = post(client, "/refund-requests", body, key="concurrent")
            answers.append((response.status_code, response.json()))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(answers) == 8
    assert {status for status, _body in answers} == {201}
    assert len({body["id"] for _status, body in answers}) == 1
    assert RefundRequest.objects.filter(charge=charge).count() == 1
    assert IdempotencyRecord.objects.filter(key="concurrent").count() == 1


def test_a_failure_stores_nothing_and_the_retry_runs(integrator: Client, account: Account,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected failure (500) rolls the change and the key back: the retry does it."""
    from ..routers import subscriptions

    real = subscriptions.subscription_auto_renew_set

    def crash(**kwargs: Any) -> Any:
        real(**kwargs)  # the change is made… then the process fails before answering
        raise RuntimeError("boom")

    monkeypatch.setattr(subscriptions, "subscription_auto_renew_set", crash)
    path = f"/subscriptions/{account.subscription.pk}/auto-renewal"
    assert_error(post(integrator, path, {"enabled": False}, key="retry"), 500,
                 "internal_error")
    assert not IdempotencyRecord.objects.filter(key="retry").exists()
    assert Subscription.objects.get(pk=account.subscription.pk).auto_renew is True
    assert not AuditEvent.objects.filter(action="subscription.auto_renew").exists()
    monkeypatch.setattr(subscriptions, "subscription_auto_renew_set", real)
    retry = post(integrator, path, {"enabled": False}, key="retry")
    assert retry.status_code == 200 and retry.json()["auto_renew"] is False
    assert AuditEvent.objects.filter(action="subscription.auto_renew").count() == 1
