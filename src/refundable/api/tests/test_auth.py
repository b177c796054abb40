"""Authentication and scopes: API keys (Bearer) and the customer portal's session."""

from __future__ import annotations

import pytest
from django.test import Client

from refundable.audit.services import Actor
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import UserFactory

from ..services import api_key_revoke
from .support import API, Account, assert_error, bearer, get, key_for, post, session_client

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_the_error_object(account: Account) -> None:
    response = get(Client(), "/subscriptions")
    error = assert_error(response, 401, "unauthenticated")
    assert error["type"] == "authentication_error"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(post(Client(), f"/subscriptions/{account.subscription.pk}/cancel",
                      {"when": "now"}), 401, "unauthenticated")


@pytest.mark.parametrize("header", [
    "Bearer rk_nope_secret",  # unknown prefix
    "Bearer rk_abc",  # not the shape of a key
    "Bearer not-a-key",
    "Basic dXNlcjpwYXNz",  # another scheme
    "Bearer ",
])
def test_a_bad_key_is_401(header: str, write_key: str) -> None:
    response = Client().get(f"{API}/customers", headers={"Authorization": header})
    assert_error(response, 401, "api_key_invalid")


def test_a_key_with_a_wrong_secret_is_401(write_key: str) -> None:
    prefix = write_key.split("_")[1]
    assert_error(Client(headers=bearer(f"rk_{prefix}_{'x' * 43}")).get(f"{API}/customers"),
                 401, "api_key_invalid")


def test_a_revoked_key_is_401(write_key: str) -> None:
    client = Client(headers=bearer(write_key))
    assert get(client, "/customers").status_code == 200
    api_key_revoke(actor=Actor.system("tests"), prefix=write_key.split("_")[1])
    assert_error(get(client, "/customers"), 401, "api_key_revoked")


def test_a_read_only_key_reads_but_cannot_post(account: Account, read_key: str) -> None:
    client = Client(headers=bearer(read_key))
    assert get(client, f"/subscriptions/{account.subscription.pk}").status_code == 200
    for path, body in [(f"/subscriptions/{account.subscription.pk}/cancel", {"when": "now"}),
                       (f"/subscriptions/{account.subscription.pk}/undo-cancel", None),
                       (f"/subscriptions/{account.subscription.pk}/auto-renewal",
                        {"enabled": False}),
                       ("/refund-requests", {"charge": account.charge.pk,
                                             "reason": "dissatisfied"})]:
        error = assert_error(post(client, path, body), 403, "insufficient_scope")
        assert error["type"] == "permission_error" and "write" in error["message"]
    assert Subscription.objects.get(pk=account.subscription.pk).status == "active"


def test_a_write_key_also_reads(write_key: str, account: Account) -> None:
    assert get(Client(headers=bearer(write_key)), "/orders").status_code == 200


def test_a_write_only_key_reads_too(account: Account) -> None:
    client = Client(headers=bearer(key_for("write")))
    assert get(client, "/customers").status_code == 200


def test_a_bad_key_does_not_fall_back_to_the_session(account: Account) -> None:
    client = session_client(account.customer)
    assert get(client, "/customers").status_code == 200
    response = client.get(f"{API}/customers", headers={"Authorization": "Bearer rk_x_y"})
    assert_error(response, 401, "api_key_invalid")


def test_the_session_of_a_customer_sees_only_them(account: Account, other: Account) -> None:
    body = get(session_client(account.customer), "/customers").json()
    assert [c["id"] for c in body["data"]] == [account.customer.pk]


def test_a_signed_in_user_who_is_not_a_customer_is_403() -> None:
    client = Client()
    client.force_login(UserFactory.create(username="agent-without-customer"))
    assert_error(get(client, "/customers"), 403, "not_a_customer")


def test_session_posts_need_the_csrf_token(account: Account) -> None:
    client = session_client(account.customer, enforce_csrf=True)
    path = f"/subscriptions/{account.subscription.pk}/auto-renewal"
    assert get(client, path.rsplit("/", 1)[0]).status_code == 200  # GET needs none
    assert_error(post(client, path, {"enabled": False}), 403, "csrf_failed")
    assert Subscription.objects.get(pk=account.subscription.pk).auto_renew is True
    token = "a" * 32  # the secret in the csrftoken cookie, echoed in the header
    client.cookies["csrftoken"] = token
    response = post(client, path, {"enabled": False}, key="csrf-ok", X_CSRFToken=token)
    assert response.status_code == 200, response.content
    assert response.json()["auto_renew"] is False


def test_api_keys_need_no_csrf_token(account: Account, write_key: str) -> None:
    client = Client(enforce_csrf_checks=True, headers=bearer(write_key))
    response = post(client, f"/subscriptions/{account.subscription.pk}/auto-renewal",
                    {"enabled": False})
    assert response.status_code == 200


def test_actions_are_audited_as_the_principal(account: Account, write_key: str) -> None:
    from refundable.audit.models import AuditEvent

    post(Client(headers=bearer(write_key)),
         f"/subscriptions/{account.subscription.pk}/auto-renewal", {"enabled": False})
    post(session_client(account.customer),
         f"/subscriptions/{account.subscription.pk}/auto-renewal", {"enabled": True},
         key="k2")
    actors = list(AuditEvent.objects.filter(action="subscription.auto_renew")
                  .order_by("id").values_list("actor", flat=True))
    prefix = write_key.split("_")[1]
    assert actors == [f"integrator:test integration ({prefix})",
                      f"customer:{account.customer.pk}"]
