"""Fixtures of the portal tests: two customers with a subscription, an order and a charge each,
and a client signed in as the first one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from refundable.billing.models import ActivationKey, Charge
from refundable.catalog.models import Plan
from refundable.customers.models import Customer
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import (
    ChargeFactory,
    CustomerFactory,
    PlanFactory,
    ProductFactory,
    SubscriptionFactory,
)


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


def make_account(name: str, email: str, locale: str = "en", *,
                 plan: Plan | None = None) -> Account:
    customer = CustomerFactory.create(name=name, email=email, locale=locale,
                                      user__username=email, user__email=email)
    subscription = (SubscriptionFactory.create(customer=customer, plan=plan) if plan
                    else SubscriptionFactory.create(customer=customer))
    charge = ChargeFactory.create(order__subscription=subscription,
                                  order__customer=customer,
                                  amount=plan.price if plan else 8999)
    key = ActivationKey.objects.create(subscription=subscription, holder_name=name,
                                       key="RFND-0A1B2C3D-0001")
    return Account(customer, subscription, charge, key)


@pytest.fixture
def alice() -> Account:
    return make_account("Alice Martin", "alice@example.test")


@pytest.fixture
def bob() -> Account:
    return make_account("Bob Durand", "bob@example.test")


def membership_plan() -> Plan:
    """Seed 002's membership: the billing desk's policy, every request reviewed by a person and
    special circumstances decided on documents."""
    product = ProductFactory.create(code="membership", name="Members Club")
    plan: Plan = PlanFactory.create(product=product, code="membership-annual",
                                    name="Members Club — annual", price=19999,
                                    policy_file="billing-desk.toml")
    return plan


@pytest.fixture
def alice_client(alice: Account) -> Client:
    client = Client()
    assert alice.customer.user is not None
    client.force_login(alice.customer.user)
    return client


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """Uploaded documents go to a temporary MEDIA_ROOT."""
    root = tmp_path / "uploads"
    settings.MEDIA_ROOT = root
    return root
