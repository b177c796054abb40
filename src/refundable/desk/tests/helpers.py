"""Builders for the desk's tests: teams, agents, charges under each seed policy, uploads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from ...audit.services import Actor
from ...billing.models import Charge
from ...customers.models import Customer, StaffProfile
from ...refunds.models import RefundRequest
from ...refunds.services import refund_request_create
from ...testing.factories import (
    NOW,
    ChargeFactory,
    CustomerFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
)
from ..models import Team

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def team(code: str = "billing", *, confidential: bool = False) -> Team:
    found, _ = Team.objects.get_or_create(
        code=code, defaults={"name": code.title(), "handles_confidential": confidential})
    return found


def agent(username: str = "ana", *, teams: tuple[Team, ...] = (), role: str = "agent") -> User:
    user: User = UserFactory.create(username=username, first_name=username.title())
    profile = StaffProfile.objects.create(user=user, role=role)
    profile.teams.set(teams)
    return user


def actor_of(user: User) -> Actor:
    return Actor("agent", user.username, user)


def customer(email: str = "claire@example.test", *, locale: str = "fr") -> Customer:
    user = UserFactory.create(username=email.split("@")[0], email=email)
    return CustomerFactory.create(user=user, email=email, locale=locale,
                                  name=email.split("@")[0].title())


def _charge(plan_kwargs: dict[str, Any], *, captured_at: datetime, owner: Customer | None,
            amount: int, period: timedelta) -> Charge:
    product = ProductFactory.create(code=plan_kwargs.pop("product_code"),
                                    name=plan_kwargs.pop("product_name"))
    plan = PlanFactory.create(product=product, **plan_kwargs)
    extra: dict[str, Any] = {"order__subscription__plan": plan,
                             "order__subscription__started_at": captured_at,
                             "order__subscription__current_period_start": captured_at,
                             "order__subscription__current_period_end": captured_at + period,
                             "order__created_at": captured_at}
    if owner is not None:
        extra["order__subscription__customer"] = owner
    charge: Charge = ChargeFactory.create(amount=amount, captured_at=captured_at,
                                          period_start=captured_at,
                                          period_end=captured_at + period, **extra)
    return charge


def iptv_charge(*, captured_at: datetime = NOW - timedelta(hours=5),
                owner: Customer | None = None, amount: int = 1499) -> Charge:
    """Seed 004's IPTV plan (72-hour window, troubleshooting first)."""
    return _charge({"product_code": "iptv", "product_name": "IPTV Pro", "code": "iptv-monthly",
                    "name": "IPTV Pro — monthly", "period": "month", "price": amount,
                    "policy_file": "iptv-72-hours.toml"},
                   captured_at=captured_at, owner=owner, amount=amount,
                   period=timedelta(days=30))


def membership_charge(*, captured_at: datetime = NOW - timedelta(days=20),
                      owner: Customer | None = None, amount: int = 19999) -> Charge:
    """Seed 002's membership (billing desk: every request reviewed within 14 days)."""
    return _charge({"product_code": "membership", "product_name": "Members Club",
                    "code": "membership-annual", "name": "Members Club — annual",
                    "period": "year", "price": amount, "policy_file": "billing-desk.toml"},
                   captured_at=captured_at, owner=owner, amount=amount,
                   period=timedelta(days=365))


def request_for(charge: Charge, reason: str, *, at: datetime = NOW,
                documents: list[str] | None = None) -> RefundRequest:
    return refund_request_create(
        actor=Actor("customer", str(charge.order.customer_id)),
        customer_id=charge.order.customer_id, charge_id=charge.pk, reason=reason,
        description="It does not work at all.", documents=documents, now=at)


def upload(content: bytes = PDF, name: str = "certificate.pdf",
           content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
