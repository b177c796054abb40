"""Fixtures of the portal tests: two customers with a subscription, an order and a charge each,
and a client signed in as the first one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from refundable.billing.models import ActivationKey, Charge
from refundable.customers.models import Customer
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import ChargeFactory, CustomerFactory, SubscriptionFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """The rate-limit counters live in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class Account:
    customer: Customer
    subscription: Subscription
    charge: Charge
    key: ActivationKey

    @property
    def order_id(self) -> int:
        return self.charge.order_id


def make_account(name: str, email: str, locale: str = "en") -> Account:
    customer = CustomerFactory.create(name=name, email=email, locale=locale,
                                      user__username=email, user__email=email)
    subscription = SubscriptionFactory.create(customer=customer)
    charge = ChargeFactory.create(order__subscription=subscription,
                                  order__customer=customer)
    key = ActivationKey.objects.create(subscription=subscription, holder_name=name,
                                       key="RFND-0A1B2C3D-0001")
    return Account(customer, subscription, charge, key)


@pytest.fixture
def alice() -> Account:
    return make_account("Alice Martin", "alice@example.test")


@pytest.fixture
def bob() -> Account:
    return make_account("Bob Durand", "bob@example.test")


@pytest.fixture
def alice_client(alice: Account) -> Client:
    client = Client()
    assert alice.customer.user is not None
    client.force_login(alice.customer.user)
    return client
