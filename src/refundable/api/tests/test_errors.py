"""Every failure is the error object with the right status: never HTML, never a traceback."""

from __future__ import annotations

import pytest
from django.test import Client

from .support import API, Account, assert_error, get, post

pytestmark = pytest.mark.django_db


def test_validation_names_the_parameter(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/cancel"
    error = assert_error(post(integrator, path, {"when": "later"}), 400, "parameter_invalid",
                         "when")
    assert error["type"] == "invalid_request_error"
    assert "'now' or 'term_end'" in error["message"]
    assert_error(post(integrator, path, {}), 400, "parameter_missing", "when")
    assert_error(post(integrator, path, {"when": "now", "refund": True}), 400,
                 "parameter_unknown", "refund")
    assert_error(post(integrator, path, {"when": "now", "reason": "x" * 201}), 400,
                 "parameter_invalid", "reason")
    assert_error(get(integrator, "/subscriptions/abc"), 400, "parameter_invalid",
                 "subscription_id")


def test_a_body_that_is_not_a_json_object_is_400(integrator: Client, account: Account) -> None:
    path = f"{API}/subscriptions/{account.subscription.pk}/cancel"
    headers = {"Idempotency-Key": "k"}
    assert_error(integrator.post(path, "{not json", content_type="application/json",
                                 headers=headers), 400, "body_invalid")
    assert_error(integrator.post(path, "[1, 2]", content_type="application/json",
                                 headers=headers), 400, "body_invalid")
    assert_error(integrator.post(path, "", content_type="application/json",
                                 headers=headers), 400, "body_invalid")


def test_unknown_paths_and_methods(integrator: Client, account: Account) -> None:
    assert_error(get(integrator, "/refunds-requests"), 404, "route_missing")
    assert_error(integrator.get("/api/v1/customers/1/delete"), 404, "route_missing")
    root = Client().get("/api/v1/")  # the root points to the documentation
    assert root.status_code == 200
    assert root.json()["openapi"] == "/api/v1/openapi.json"
    response = integrator.delete(f"{API}/subscriptions/{account.subscription.pk}")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    assert_error(integrator.put(f"{API}/refund-requests"), 405, "method_not_allowed")


def test_unexpected_failures_are_500_without_a_traceback(
        integrator: Client, account: Account, monkeypatch: pytest.MonkeyPatch,
        settings: object) -> None:
    from ..routers import customers

    def explode(**kwargs: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(customers, "customers_visible", explode)
    for debug in (False, True):
        setattr(settings, "DEBUG", debug)  # noqa: B010 (pytest-django's settings fixture)
        response = get(integrator, "/customers")
        error = assert_error(response, 500, "internal_error")
        assert error["type"] == "api_error"
        assert "secret internals" not in response.content.decode()
        assert "Traceback" not in response.content.decode()


def test_errors_never_answer_html(integrator: Client) -> None:
    for response in (Client().get(f"{API}/customers"), get(integrator, "/nowhere"),
                     get(integrator, "/customers/999999")):
        assert response["Content-Type"] == "application/json"
        assert b"<html" not in response.content.lower()
