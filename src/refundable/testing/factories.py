"""factory_boy factories for the domain models; real rows in the test database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model

from ..billing.models import Charge, Order
from ..catalog.models import Plan, Product
from ..customers.models import Customer
from ..subscriptions.models import Subscription

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery")


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda c: c.user.email if c.user else "x@example.test")
    name = factory.Sequence(lambda n: f"Customer {n}")
    locale = "fr"
    country = "FR"
    consumer = True


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = "antivirus"
    name = "Antivirus Suite"


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    product = factory.SubFactory(ProductFactory)
    code = "antivirus-annual"
    name = "Antivirus Suite — annual"
    period = "year"
    price = 8999
    currency = "EUR"
    policy_file = "annual-60-day-guarantee.toml"


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    plan = factory.SubFactory(PlanFactory)
    reference = factory.Sequence(lambda n: f"CT-{100000 + n}")
    started_at = NOW - timedelta(days=10)
    current_period_start = NOW - timedelta(days=10)
    current_period_end = NOW + timedelta(days=355)


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    subscription = factory.SubFactory(SubscriptionFactory)
    customer = factory.LazyAttribute(lambda o: o.subscription.customer)
    order_number = factory.Sequence(lambda n: f"ORD-{200000 + n}")
    invoice_number = factory.Sequence(lambda n: f"INV-{300000 + n}")
    created_at = NOW - timedelta(days=10)


class ChargeFactory(factory.django.DjangoModelFactory[Charge]):
    class Meta:
        model = Charge

    order = factory.SubFactory(OrderFactory)
    customer_id_copy = factory.LazyAttribute(lambda c: c.order.customer_id)
    amount = 8999
    currency = "EUR"
    captured_at = NOW - timedelta(days=10)
    period_start = NOW - timedelta(days=10)
    period_end = NOW + timedelta(days=355)
