"""A demo business: three seed-like products with the example policies, about fifty customers
in France, Germany, the UK and the US with subscriptions and orders, a few open requests and
tickets, and sign-ins for a customer, an agent and an operator. Deterministic (seeded)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor
from ..billing.models import ActivationKey, Charge, Order
from ..catalog.models import Plan, Product
from ..desk.models import Macro, Team, Ticket
from ..payments.provider_events import sandbox_webhooks_deliver
from ..payments.providers.sandbox import SandboxProvider
from ..refunds.services import refund_request_create
from ..subscriptions.models import Subscription
from .models import Customer, StaffProfile

DEMO_PASSWORDS = {"customer": "demo-customer", "agent": "demo-agent", "operator": "demo-operator"}
CUSTOMER_EMAIL = "claire.martin@example.com"

# code, name, refund days min-max, plans (code, name, period, price, policy file)
_PRODUCTS = [
    ("antivirus", "Antivirus Suite", 5, 7, [
        ("antivirus-annual", "Antivirus Suite — annual", "year", 8999,
         "annual-60-day-guarantee.toml"),
        ("antivirus-monthly", "Antivirus Suite — monthly", "month", 999,
         "annual-60-day-guarantee.toml"),
    ]),
    ("iptv", "IPTV Pro", 20, 31, [
        ("iptv-monthly", "IPTV Pro — monthly", "month", 1499, "iptv-72-hours.toml"),
        ("iptv-quarterly", "IPTV Pro — quarterly", "quarter", 3999, "iptv-72-hours.toml"),
        ("iptv-annual", "IPTV Pro — annual", "year", 5999, "iptv-72-hours.toml"),
    ]),
    ("membership", "Members Club", 7, 14, [
        ("membership-monthly", "Members Club — monthly", "month", 1999, "billing-desk.toml"),
        ("membership-annual", "Members Club — annual", "year", 19999, "billing-desk.toml"),
    ]),
]
_NAMES = {
    "FR": ["Claire Martin", "Julien Bernard", "Camille Petit", "Hugo Durand", "Léa Moreau",
           "Nicolas Laurent", "Manon Simon", "Thomas Michel", "Chloé Lefebvre", "Lucas Garcia",
           "Inès Roux", "Antoine Fournier", "Sarah Girard", "Maxime Bonnet"],
    "DE": ["Anna Schmidt", "Lukas Müller", "Lea Schneider", "Finn Fischer", "Mia Weber",
           "Jonas Meyer", "Emma Wagner", "Paul Becker", "Hannah Hoffmann", "Leon Schulz",
           "Lina Koch", "Felix Richter"],
    "GB": ["Oliver Smith", "Amelia Jones", "Harry Taylor", "Isla Brown", "George Wilson",
           "Ava Davies", "Jack Evans", "Emily Thomas", "Charlie Roberts", "Sophie Walker",
           "Alfie Wright", "Grace Hughes"],
    "US": ["Liam Johnson", "Olivia Williams", "Noah Brown", "Emma Miller", "James Davis",
           "Sophia Garcia", "Benjamin Wilson", "Isabella Anderson", "Lucas Thomas",
           "Mia Jackson", "Henry White", "Evelyn Harris"],
}
_CURRENCY = {"FR": "EUR", "DE": "EUR", "GB": "GBP", "US": "USD"}
_PERIOD = {"week": timedelta(days=7), "month": timedelta(days=30), "quarter": timedelta(days=91),
           "year": timedelta(days=365)}


@dataclass
class DemoSummary:
    customers: int
    subscriptions: int
    requests: int
    tickets: int


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", ".")


def _user(username: str, email: str, password: str, *, staff: bool = False) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.email = email
    user.is_staff = staff
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def demo_load(*, now: datetime | None = None, seed: int = 2026) -> DemoSummary:
    """Load the demo business into an empty database (refuses to run twice)."""
    if Customer.objects.exists():
        raise RuntimeError("the database already has customers: the demo loads into an empty "
                           "database only")
    now = now or timezone.now()
    rng = random.Random(seed)
    plans: list[Plan] = []
    for code, name, low, high, plan_rows in _PRODUCTS:
        product = Product.objects.create(code=code, name=name, refund_days_min=low,
                                         refund_days_max=high)
        for plan_code, plan_name, period, price, policy in plan_rows:
            plans.append(Plan.objects.create(product=product, code=plan_code, name=plan_name,
                                             period=period, price=price, currency="EUR",
                                             policy_file=policy))
    teams = {code: Team.objects.create(code=code, name=name, handles_confidential=confidential)
             for code, name, confidential in [("billing", "Billing", False),
                                              ("technical", "Technical support", False),
                                              ("special", "Special circumstances", True)]}
    agent = _user("agent", "agent@refundable.localhost", DEMO_PASSWORDS["agent"], staff=True)
    profile = StaffProfile.objects.create(user=agent, role="agent")
    profile.teams.set([teams["billing"], teams["technical"]])
    operator = _user("operator", "operator@refundable.localhost", DEMO_PASSWORDS["operator"],
                     staff=True)
    StaffProfile.objects.create(user=operator, role="operator").teams.set(teams.values())
    Macro.objects.create(
        name="Refund on its way",
        body_en="Your refund has been approved; it reaches your original payment method within "
                "the announced delay.",
        body_fr="Votre remboursement est accepté ; il arrive sur votre moyen de paiement "
                "d'origine dans le délai annoncé.")

    customers: list[Customer] = []
    counter = 0
    for country, names in _NAMES.items():
        for name in names:
            counter += 1
            email = CUSTOMER_EMAIL if counter == 1 else f"{_ascii(name)}@example.com"
            user = _user(email, email, DEMO_PASSWORDS["customer"])
            customers.append(Customer.objects.create(
                user=user, email=email, name=name, country=country,
                locale="fr" if country == "FR" else "en", consumer=counter % 9 != 0))
    subscriptions = 0
    charges: list[Charge] = []
    for index, customer in enumerate(customers):
        for number in range(1 + (index % 3 == 0)):
            plan = plans[(index + number * 3) % len(plans)]
            days_ago = rng.randint(1, 300) if index else 20
            start = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
            length = _PERIOD[plan.period]
            periods_done = max(0, int((now - start) / length))
            period_start = start + length * periods_done
            subscriptions += 1
            currency = _CURRENCY[customer.country]
            subscription = Subscription.objects.create(
                customer=customer, plan=plan, reference=f"CT-{100000 + subscriptions}",
                channel="google_play" if index % 17 == 5 else "direct", started_at=start,
                current_period_start=period_start, current_period_end=period_start + length,
                renewal_notice_sent_at=period_start - timedelta(days=40) if periods_done and
                index % 5 else None)
            order = Order.objects.create(
                customer=customer, subscription=subscription,
                order_number=f"ORD-{200000 + subscriptions}",
                invoice_number=f"INV-2026-{300000 + subscriptions}", created_at=period_start)
            charges.append(Charge.objects.create(
                order=order, customer_id_copy=customer.pk, amount=plan.price, currency=currency,
                payment_method="store" if subscription.channel == "google_play" else
                rng.choice(["card", "card", "card", "paypal"]),
                provider_reference=f"sbx_ch_{subscriptions:06d}", captured_at=period_start,
                period_start=period_start, period_end=period_start + length,
                is_renewal=periods_done > 0))
            ActivationKey.objects.create(subscription=subscription, holder_name=customer.name,
                                         key=f"RFND-{rng.randrange(16**8):08X}-{subscriptions:04d}")
    requests = 0
    reasons = ["dissatisfied", "duplicate_charge", "technical_issue", "wrongful_charge",
               "special_circumstances", "not_renewal_intended"]
    for offset, charge in enumerate(charges[3:60:6]):
        customer = charge.order.customer
        refund_request_create(actor=Actor("customer", str(customer.pk)), customer_id=customer.pk,
                              charge_id=charge.pk, reason=reasons[offset % len(reasons)],
                              description="Demo request", channel="web",
                              now=max(charge.captured_at + timedelta(hours=5), now -
                                      timedelta(days=2 + offset)))
        requests += 1
    # A chargeback in progress, for the desk's money page and its evidence pack: the sandbox
    # tells us through its (signed) webhook, as a real provider would.
    disputed = next(c for c in charges[3:60:6] if c.payment_method == "card")
    SandboxProvider().dispute_open(charge_reference=disputed.reference, amount=disputed.amount,
                                   currency=disputed.currency, reason="subscription_canceled",
                                   now=now)
    sandbox_webhooks_deliver(now=now)
    tickets = 0
    for offset, customer in enumerate(customers[1:8]):
        tickets += 1
        Ticket.objects.create(
            customer=customer, category=["billing", "technical", "account", "cancellation"][
                offset % 4], channel=["email", "web", "phone", "chat"][offset % 4],
            subject=["Charged twice this month", "Channels freeze every evening",
                     "Cannot sign in", "How do I cancel?"][offset % 4],
            team=teams["billing" if offset % 2 == 0 else "technical"],
            created_at=now - timedelta(hours=6 * offset + 1),
            resolution_due_at=now + timedelta(hours=24 - 5 * offset))
    return DemoSummary(len(customers), subscriptions, requests, tickets)
