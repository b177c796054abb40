"""The three example policies, checked sentence by sentence against the seeds they come from.

- ``policies/annual-60-day-guarantee.toml``: the antivirus vendor (seeds 000, 001, 003);
- ``policies/iptv-72-hours.toml``: the IPTV reseller (seed 004);
- ``policies/billing-desk.toml``: the membership company's billing desk (seed 002).

Every case goes through the public API (``load_policy``, ``parse_facts``, ``decide``) with the
statutory floor shipped with the product (``load_floor()``), and quotes in ``seed`` the sentence
it checks. The floor can lift a merchant decision: an EU or UK consumer asking within 14 days of a
new contract is owed the unused part of the period. Cases that check the merchant's own rules are
therefore either outside that window (day 20 and later), or in a country no pack covers (US, CH),
or already a full refund, which no floor can beat. The floor itself is checked separately, with a
statutory pack written in this file so that the expectations do not depend on the shipped packs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from refundable.policy import (
    Decision,
    Policy,
    decide,
    load_floor,
    load_policy,
    parse_facts,
    parse_policy,
)

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"

ANNUAL = "annual-60-day-guarantee"
IPTV = "iptv-72-hours"
BILLING = "billing-desk"

PARIS_WINTER = timezone(timedelta(hours=1))
PARIS_SUMMER = timezone(timedelta(hours=2))
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS_WINTER)  # every purchase: Monday 2 March 2026, 10:00
NBSP = "\u00a0"


@cache
def policy(name: str) -> Policy:
    return load_policy(POLICIES / f"{name}.toml")


def iso(moment: datetime) -> str:
    return moment.isoformat()


def after(*, days: float = 0, hours: float = 0, seconds: float = 0) -> str:
    """The purchase time ``T0`` plus a delay, as facts give it (ISO 8601 with offset)."""
    return iso(T0 + timedelta(days=days, hours=hours, seconds=seconds))


def plus(moment: str, *, days: float = 0, hours: float = 0) -> str:
    """An ISO date-time plus a delay, in the same offset (how the engine reports due dates)."""
    return iso(datetime.fromisoformat(moment) + timedelta(days=days, hours=hours))


# -- facts ---------------------------------------------------------------------------------------

def annual(**overrides: object) -> dict[str, object]:
    """A French customer's annual antivirus plan, €89.99, bought directly, asked on day 41."""
    facts: dict[str, object] = {
        "plan_period": "year", "channel": "direct", "purchased_at": iso(T0),
        "period_end": after(days=365), "amount": 8999, "currency": "EUR", "country": "FR",
        "requested_at": after(days=41), "reason": "dissatisfied", "payment_method": "card",
    }
    facts.update(overrides)
    return facts


def monthly(**overrides: object) -> dict[str, object]:
    """The same vendor's monthly plan, €9.99 (period of 31 days: 2 March to 2 April)."""
    return annual(plan_period="month", period_end=after(days=31), amount=999, **overrides)


def iptv(**overrides: object) -> dict[str, object]:
    """A French-speaking Swiss customer's 12-month IPTV subscription, €59.99.

    Switzerland is covered by no statutory pack, so these cases check the merchant policy alone
    even inside the first 14 days. By default: troubleshooting started 2 h after the purchase,
    unresolved, request 50 h after the purchase.
    """
    facts: dict[str, object] = {
        "plan_period": "year", "channel": "direct", "purchased_at": iso(T0),
        "period_end": after(days=365), "amount": 5999, "currency": "EUR", "country": "CH",
        "language": "fr", "requested_at": after(hours=50), "reason": "technical_issue",
        "troubleshooting": "unresolved", "troubleshooting_started_at": after(hours=2),
        "payment_method": "card",
    }
    facts.update(overrides)
    return facts


def billing(**overrides: object) -> dict[str, object]:
    """A French member's monthly membership, €14.99, billing ticket opened 20 days after."""
    facts: dict[str, object] = {
        "plan_period": "month", "channel": "direct", "purchased_at": iso(T0),
        "period_end": after(days=31), "amount": 1499, "currency": "EUR", "country": "FR",
        "requested_at": after(days=20), "reason": "wrongful_charge", "payment_method": "card",
    }
    facts.update(overrides)
    return facts


# -- the seeds' sentences ------------------------------------------------------------------------

S001_GUARANTEE = ("L'achat d'un abonnement annuel Norton est éligible à un remboursement dans le "
                  "cadre de notre garantie de remboursement sur 60 jours, si vous formulez votre "
                  "demande dans les 60 jours qui suivent la date d'achat. (seed 001)")
S003_GUARANTEE = ("Norton offers a refund policy for annual subscriptions cancelled within 60 days "
                  "of purchase. (seed 003)")
S003_MONTHLY = "Monthly subscriptions are not eligible for a refund. (seed 003)"
S003_DELAY = "Refunds are typically processed within 5-7 business days. (seed 003)"
S001_STORE = ("Si votre abonnement annuel payant a déjà commencé et a été facturé, vous devez "
              "annuler l'abonnement par le biais de la boutique correspondant (Apple App Store ou "
              "Google Play Store). (seed 001)")
S000_CHANNEL = ("Si vous avez acheté votre abonnement Norton directement sur le site web de "
                "Norton, via un revendeur en ligne, ou par l'intermédiaire d'un service tiers, "
                "identifiez le canal d'achat. Les politiques de remboursement peuvent varier en "
                "fonction du lieu d'achat. (seed 000)")
S003_DISPUTE = ("Billing Disputes: If you believe you have been charged incorrectly, contact "
                "Norton customer support [...] to dispute the charge. (seed 003)")
S000_ORIGINAL_METHOD = ("Le remboursement peut être effectué sur votre carte de crédit, via "
                        "PayPal, ou selon la méthode de paiement initiale. (seed 000)")

S004_WINDOW = ("Les demandes de remboursement doivent être soumises dans un délai de 72 heures "
               "après l'achat. (seed 004)")
S004_FULL = ("Un remboursement intégral est accordé uniquement pour les demandes effectuées "
             "durant cette période initiale. (seed 004)")
S004_PARTIAL = ("Les demandes effectuées après 72 heures peuvent faire l'objet d'un remboursement "
                "partiel, selon l'utilisation de l'abonnement. (seed 004)")
S004_CONTACT = ("Vous devez contacter notre équipe d'assistance pour une tentative de dépannage "
                "(seed 004)")
S004_48H = "Un délai de 48 heures est requis pour résoudre le problème (seed 004)"
S004_BEFORE = ("nous ferons de notre mieux pour résoudre tout problème avant d'envisager un "
               "remboursement. (seed 004)")
S004_REFUSED = ("Refus de recevoir de l'aide technique pour des problèmes de configuration "
                "(seed 004)")
S004_TEMPORARY = ("Interruptions temporaires du service (mise en mémoire tampon, gels, canaux hors "
                  "ligne) (seed 004)")
S004_WEAK = "Problèmes dus à : Connexion Internet faible ou instable (seed 004)"
S004_DEVICE = "Problèmes dus à : Incompatibilité de l'appareil utilisé (seed 004)"
S004_ISP = ("Problèmes dus à : Restrictions imposées par votre fournisseur d'accès Internet (FAI) "
            "(seed 004)")
S004_MAINTENANCE = ("Problèmes dus à : Maintenance planifiée ou temporaire de nos serveurs "
                    "(seed 004)")
S004_MISCONFIG = ("Problèmes dus à : Mauvaise configuration du service par l'utilisateur "
                  "(seed 004)")
S004_OUTAGE = ("En cas d'interruption du service de plus de 48 heures, causée par une défaillance "
               "de notre part, nous offrons : Un remboursement intégral de l'abonnement acheté, OU "
               "Une prolongation de l'abonnement équivalente à la durée de l'interruption, avec un "
               "bonus supplémentaire (au cas par cas) (seed 004)")
S004_OUR_FAULT = "causée par une défaillance de notre part (seed 004)"
S004_CARD_DELAY = ("Délai standard pour les remboursements par carte bancaire : 20 à 31 jours "
                   "ouvrés. Certains cas peuvent prendre jusqu'à 90 jours (seed 004)")

S002_INVESTIGATE = ("Notre équipe va enquêter de manière approfondie sur le problème et déterminer "
                    "si un remboursement est justifié. Si un remboursement est nécessaire, nous le "
                    "traiterons dans les 7 à 14 jours. (seed 002)")
S002_WRONGFUL = ("Si vous rencontrez des problèmes avec la facturation ou si vous avez été "
                 "facturé(e) à tort, suivez les étapes ci-dessous (seed 002)")
S002_CASE_BY_CASE = ("C'est pourquoi nous proposons des remboursements au cas par cas pour des "
                     "circonstances particulières. (seed 002)")
S002_DOCUMENTS = ("Il peut s'agir d'un certificat de décès, d'un certificat médical ou d'autres "
                  "documents pertinents. (seed 002)")
S002_DELETED = ("La documentation confidentielle sera supprimée immédiatement l'examen de votre "
                "demande terminé. (seed 002)")
S002_REVIEW = ("notre équipe d'assistance à la clientèle examinera votre demande dans les 7 à 14 "
               "jours. (seed 002)")


# -- the table -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    policy: str
    seed: str  # the seed sentence this case checks
    facts: dict[str, object]
    expect: dict[str, Any]  # keys of decision.to_dict() and their expected values
    message_has: Sequence[str] = ()  # fragments of the customer's message
    message_lacks: Sequence[str] = ()  # fragments it must not contain


CASES: list[Case] = [
    # ---- annual-60-day-guarantee (seeds 000, 001, 003) ------------------------------------
    Case("annual-day-41-fr-full-refund", ANNUAL, S001_GUARANTEE, annual(),
         {"outcome": "refund", "amount": 8999, "currency": "EUR", "rule": "money-back-60-days",
          "language": "fr", "decided_by": f"{ANNUAL}@1"},
         message_has=(f"Remboursement intégral de 89,99{NBSP}€", "sous 5 à 7 jours ouvrés")),
    Case("annual-same-day-full-refund", ANNUAL, S003_GUARANTEE,
         annual(requested_at=after(hours=1)),
         {"outcome": "refund", "amount": 8999, "rule": "money-back-60-days"}),
    Case("annual-day-60-last-second-refund", ANNUAL, S001_GUARANTEE,
         annual(requested_at="2026-05-01T23:59:59+01:00"),
         {"outcome": "refund", "amount": 8999, "rule": "money-back-60-days"}),
    # Days are counted on the purchase's clock (+01:00): 00:30 on 2 May in summer time (+02:00)
    # is still 1 May, day 60, on that clock; a daylight-saving change never shortens the window.
    Case("annual-day-60-summer-time-refund", ANNUAL, S001_GUARANTEE,
         annual(requested_at="2026-05-02T00:30:00+02:00"),
         {"outcome": "refund", "amount": 8999, "rule": "money-back-60-days"}),
    Case("annual-day-61-deny", ANNUAL, S001_GUARANTEE,
         annual(requested_at="2026-05-02T00:00:00+01:00"),
         {"outcome": "deny", "reason": "guarantee_period_over", "rule": "guarantee-expired"},
         message_has=("La garantie de remboursement de 60 jours est terminée",)),
    Case("annual-day-61-us-english", ANNUAL, S003_GUARANTEE,
         annual(country="US", currency="USD", requested_at=after(days=61)),
         {"outcome": "deny", "reason": "guarantee_period_over", "language": "en",
          "currency": "USD"},
         message_has=("The 60-day money-back guarantee has ended",)),
    Case("annual-partly-refunded-rest-only", ANNUAL, S000_ORIGINAL_METHOD,
         annual(already_refunded=1000, payment_method="paypal"),
         {"outcome": "refund", "amount": 7999, "rule": "money-back-60-days"}),
    Case("annual-english-message-delay", ANNUAL, S003_DELAY,
         annual(country="US", currency="USD", requested_at=after(days=3)),
         {"outcome": "refund", "amount": 8999, "language": "en"},
         message_has=("Full refund of $89.99", "within 5 to 7 business days")),
    Case("annual-monthly-us-deny", ANNUAL, S003_MONTHLY,
         monthly(country="US", currency="USD", requested_at=after(days=3)),
         {"outcome": "deny", "reason": "monthly_plans_not_refundable",
          "rule": "monthly-not-refundable"},
         message_has=("Monthly subscriptions are not refundable",)),
    Case("annual-monthly-fr-day-20-deny", ANNUAL, S003_MONTHLY,
         monthly(requested_at=after(days=20)),
         {"outcome": "deny", "reason": "monthly_plans_not_refundable",
          "rule": "monthly-not-refundable"},
         message_has=("Les abonnements mensuels ne sont pas remboursables",)),
    Case("annual-apple-app-store-redirect", ANNUAL, S001_STORE,
         annual(channel="apple_app_store", payment_method="store", requested_at=after(days=20)),
         {"outcome": "redirect", "to": "apple_app_store", "rule": "app-store-purchases"},
         message_has=("Apple App Store",)),
    Case("annual-google-play-redirect-us", ANNUAL, S001_STORE,
         annual(channel="google_play", payment_method="store", country="US", currency="USD",
                requested_at=after(days=2)),
         {"outcome": "redirect", "to": "google_play", "rule": "app-store-purchases"},
         message_has=("You bought this subscription in Google Play",)),
    Case("annual-app-store-wins-over-monthly-deny", ANNUAL, S001_STORE,
         monthly(channel="apple_app_store", payment_method="store", requested_at=after(days=20)),
         {"outcome": "redirect", "to": "apple_app_store", "rule": "app-store-purchases"}),
    Case("annual-reseller-redirect", ANNUAL, S000_CHANNEL,
         annual(channel="reseller", requested_at=after(days=20)),
         {"outcome": "redirect", "to": "reseller", "rule": "reseller-purchases"}),
    Case("annual-third-party-redirect", ANNUAL, S000_CHANNEL,
         annual(channel="third_party", requested_at=after(days=20)),
         {"outcome": "redirect", "to": "third_party", "rule": "reseller-purchases"}),
    Case("annual-duplicate-charge-review", ANNUAL, S003_DISPUTE,
         annual(reason="duplicate_charge", requested_at=after(days=90)),
         {"outcome": "review", "rule": "duplicate-or-wrongful-charge",
          "due_by": plus(after(days=90), days=7), "documents_required": []}),
    Case("annual-wrongful-charge-monthly-review", ANNUAL, S003_DISPUTE,
         monthly(reason="wrongful_charge", requested_at=after(days=20)),
         {"outcome": "review", "rule": "duplicate-or-wrongful-charge",
          "due_by": plus(after(days=20), days=7)}),
    Case("annual-quarterly-plan-not-covered", ANNUAL, S003_GUARANTEE,
         annual(plan_period="quarter", period_end=after(days=92), requested_at=after(days=20)),
         {"outcome": "deny", "reason": "plan_not_covered", "rule": "other-plans"}),

    # ---- iptv-72-hours (seed 004) ----------------------------------------------------------
    Case("iptv-72h-exactly-full-refund", IPTV, S004_FULL, iptv(requested_at=after(hours=72)),
         {"outcome": "refund", "amount": 5999, "rule": "full-refund-within-72-hours",
          "language": "fr"},
         message_has=(f"Remboursement intégral de 59,99{NBSP}€", "20 à 31 jours ouvrés",
                      "jusqu'à 90 jours")),
    Case("iptv-72h-plus-1s-partial-by-usage", IPTV, S004_PARTIAL,
         iptv(requested_at=after(hours=72, seconds=1), usage_fraction=0.1),
         # 5999 × 0.9 = 5399.1 → 5399
         {"outcome": "refund", "amount": 5399, "rule": "partial-refund-by-usage"},
         message_has=(f"Remboursement partiel de 53,99{NBSP}€", "plus de 72 heures")),
    Case("iptv-72h-plus-1s-unused-is-still-partial-rule", IPTV, S004_WINDOW,
         iptv(requested_at=after(hours=72, seconds=1)),
         {"outcome": "refund", "amount": 5999, "rule": "partial-refund-by-usage"}),
    Case("iptv-fr-customer-within-72h", IPTV, S004_FULL,
         iptv(country="FR", language=None, requested_at=after(hours=30)),
         {"outcome": "refund", "amount": 5999, "rule": "full-refund-within-72-hours",
          "language": "fr", "decided_by": f"{IPTV}@1"}),
    Case("iptv-us-customer-english", IPTV, S004_CARD_DELAY,
         iptv(country="US", currency="USD", language=None, requested_at=after(hours=60)),
         {"outcome": "refund", "amount": 5999, "language": "en"},
         message_has=("Full refund of $59.99", "20 to 31 business days, up to 90")),
    Case("iptv-partial-half-even-rounds-down", IPTV, S004_PARTIAL,
         iptv(amount=1001, usage_fraction=0.5, requested_at=after(days=5)),
         # 1001 × 0.5 = 500.5 → 500 (half-even; half-up would give 501)
         {"outcome": "refund", "amount": 500, "rule": "partial-refund-by-usage"}),
    Case("iptv-partial-half-even-rounds-up", IPTV, S004_PARTIAL,
         iptv(amount=1003, usage_fraction=0.5, requested_at=after(days=5)),
         # 1003 × 0.5 = 501.5 → 502
         {"outcome": "refund", "amount": 502, "rule": "partial-refund-by-usage"}),
    Case("iptv-partial-quarter-used", IPTV, S004_PARTIAL,
         iptv(amount=1006, usage_fraction=0.25, requested_at=after(days=5)),
         # 1006 × 0.75 = 754.5 → 754
         {"outcome": "refund", "amount": 754, "rule": "partial-refund-by-usage"}),
    Case("iptv-partial-minus-already-refunded", IPTV, S004_PARTIAL,
         iptv(already_refunded=1000, usage_fraction=0.5, requested_at=after(days=5)),
         # 5999 × 0.5 − 1000 = 1999.5 → 2000: the unused half, less what was already paid back
         {"outcome": "refund", "amount": 2000, "rule": "partial-refund-by-usage"}),
    Case("iptv-fully-used-nothing-refundable", IPTV, S004_PARTIAL,
         iptv(usage_fraction=1.0, requested_at=after(days=5)),
         {"outcome": "deny", "reason": "nothing_refundable",
          "rule": "nothing-left-after-72-hours"},
         message_has=("il ne reste rien à rembourser",)),
    Case("iptv-half-a-cent-left-is-nothing", IPTV, S004_PARTIAL,
         iptv(amount=1, usage_fraction=0.5, requested_at=after(days=5)),
         # 1 × 0.5 = 0.5 → 0 (half-even): nothing to refund
         {"outcome": "deny", "reason": "nothing_refundable",
          "rule": "nothing-left-after-72-hours"}),
    Case("iptv-one-and-a-half-cents-left-is-two", IPTV, S004_PARTIAL,
         iptv(amount=3, usage_fraction=0.5, requested_at=after(days=5)),
         # 3 × 0.5 = 1.5 → 2 (half-even)
         {"outcome": "refund", "amount": 2, "rule": "partial-refund-by-usage"}),
    Case("iptv-already-refunded-usage-share-nothing-left", IPTV, S004_PARTIAL,
         iptv(already_refunded=3000, usage_fraction=0.5, requested_at=after(days=5)),
         # 5999 × 0.5 − 3000 = −0.5: the unused half was already paid back
         {"outcome": "deny", "reason": "nothing_refundable",
          "rule": "nothing-left-after-72-hours"}),
    Case("iptv-fully-used-within-72h-still-full", IPTV, S004_FULL,
         iptv(usage_fraction=1.0, requested_at=after(hours=70)),
         {"outcome": "refund", "amount": 5999, "rule": "full-refund-within-72-hours"}),
    Case("iptv-no-troubleshooting-yet", IPTV, S004_CONTACT,
         iptv(troubleshooting="none", troubleshooting_started_at=None,
              requested_at=after(hours=10)),
         {"outcome": "troubleshoot_first", "rule": "troubleshooting-not-started",
          "retry_after": after(hours=58)},
         message_has=("48 heures", "04/03/2026 20:00")),
    Case("iptv-no-troubleshooting-even-after-72h", IPTV, S004_BEFORE,
         iptv(troubleshooting="none", troubleshooting_started_at=None,
              requested_at=after(days=10)),
         {"outcome": "troubleshoot_first", "rule": "troubleshooting-not-started",
          "retry_after": after(days=10, hours=48)}),
    Case("iptv-troubleshooting-47h-wait", IPTV, S004_48H,
         iptv(troubleshooting="in_progress", requested_at=after(hours=49)),
         {"outcome": "troubleshoot_first", "rule": "troubleshooting-under-48-hours",
          "retry_after": after(hours=50)}),
    Case("iptv-troubleshooting-48h-full-refund", IPTV, S004_48H,
         iptv(troubleshooting="in_progress", requested_at=after(hours=50)),
         {"outcome": "refund", "amount": 5999, "rule": "full-refund-within-72-hours"}),
    Case("iptv-troubleshooting-48h-after-72h-partial", IPTV, S004_48H,
         iptv(troubleshooting="in_progress", troubleshooting_started_at=after(hours=40),
              requested_at=after(hours=88), usage_fraction=0.2),
         # 5999 × 0.8 = 4799.2 → 4799
         {"outcome": "refund", "amount": 4799, "rule": "partial-refund-by-usage"}),
    Case("iptv-troubleshooting-start-unknown", IPTV, S004_48H,
         iptv(troubleshooting="in_progress", troubleshooting_started_at=None,
              requested_at=after(hours=30)),
         {"outcome": "troubleshoot_first", "rule": "troubleshooting-start-unknown",
          "retry_after": after(hours=78)}),
    Case("iptv-troubleshooting-resolved", IPTV, S004_BEFORE,
         iptv(troubleshooting="resolved", requested_at=after(hours=30)),
         {"outcome": "deny", "reason": "problem_resolved", "rule": "problem-resolved"}),
    Case("iptv-help-refused", IPTV, S004_REFUSED,
         iptv(troubleshooting="refused", troubleshooting_started_at=None,
              requested_at=after(hours=5)),
         {"outcome": "deny", "reason": "troubleshooting_refused",
          "rule": "troubleshooting-refused"},
         message_has=("refus de l'aide technique",)),
    Case("iptv-temporary-interruption", IPTV, S004_TEMPORARY,
         iptv(reason="temporary_interruption"),
         {"outcome": "deny", "reason": "temporary_interruption",
          "rule": "temporary-interruption"}),
    Case("iptv-weak-connection", IPTV, S004_WEAK, iptv(reason="weak_connection"),
         {"outcome": "deny", "reason": "weak_connection", "rule": "weak-connection"}),
    Case("iptv-device-incompatible", IPTV, S004_DEVICE, iptv(reason="device_incompatible"),
         {"outcome": "deny", "reason": "device_incompatible", "rule": "device-incompatible"}),
    Case("iptv-isp-restriction", IPTV, S004_ISP, iptv(reason="isp_restriction"),
         {"outcome": "deny", "reason": "isp_restriction", "rule": "isp-restriction"}),
    Case("iptv-scheduled-maintenance", IPTV, S004_MAINTENANCE,
         iptv(reason="scheduled_maintenance"),
         {"outcome": "deny", "reason": "scheduled_maintenance", "rule": "scheduled-maintenance"}),
    Case("iptv-misconfiguration", IPTV, S004_MISCONFIG, iptv(reason="misconfiguration"),
         {"outcome": "deny", "reason": "misconfiguration", "rule": "misconfiguration"}),
    Case("iptv-outage-caused-by-maintenance", IPTV, S004_MAINTENANCE,
         iptv(reason="service_outage", outage_cause="maintenance", outage_hours=60),
         {"outcome": "deny", "reason": "scheduled_maintenance",
          "rule": "outage-caused-by-maintenance"}),
    Case("iptv-outage-caused-by-isp", IPTV, S004_ISP,
         iptv(reason="service_outage", outage_cause="isp", outage_hours=60),
         {"outcome": "deny", "reason": "isp_restriction", "rule": "outage-caused-by-isp"}),
    Case("iptv-outage-caused-by-third-party", IPTV, S004_OUR_FAULT,
         iptv(reason="service_outage", outage_cause="third_party", outage_hours=60),
         {"outcome": "deny", "reason": "third_party_outage",
          "rule": "outage-caused-by-third-party"}),
    Case("iptv-vendor-outage-48h-is-temporary", IPTV, S004_OUTAGE,
         iptv(reason="service_outage", outage_cause="vendor", outage_hours=48),
         {"outcome": "deny", "reason": "temporary_interruption",
          "rule": "vendor-outage-48-hours-or-less"}),
    Case("iptv-vendor-outage-48h30-offer", IPTV, S004_OUTAGE,
         iptv(reason="service_outage", outage_cause="vendor", outage_hours=48.5),
         # ceil(48.5 / 24) = 3 days of extension, plus 7 bonus days
         {"outcome": "offer", "rule": "vendor-outage-over-48-hours",
          "choices": [{"kind": "refund", "amount": 5999},
                      {"kind": "extension", "days": 3, "bonus_days": 7}],
          "default": "extension", "respond_within_days": 14},
         message_has=(f"remboursement intégral de 59,99{NBSP}€", "prolongation de 3 jours",
                      "7 jours offerts"),
         message_lacks=("{",)),
    Case("iptv-vendor-outage-72h-three-days", IPTV, S004_OUTAGE,
         iptv(reason="service_outage", outage_cause="vendor", outage_hours=72,
              requested_at=after(days=30)),
         {"outcome": "offer", "choices": [{"kind": "refund", "amount": 5999},
                                          {"kind": "extension", "days": 3, "bonus_days": 7}]}),
    Case("iptv-vendor-outage-wins-over-everything", IPTV, S004_OUTAGE,
         iptv(reason="other", troubleshooting="refused", troubleshooting_started_at=None,
              outage_cause="vendor", outage_hours=100, usage_fraction=0.9,
              requested_at=after(days=30)),
         # 100 h → ceil(4.17) = 5 days; the refund choice is in full, whatever the usage
         {"outcome": "offer", "rule": "vendor-outage-over-48-hours",
          "choices": [{"kind": "refund", "amount": 5999},
                      {"kind": "extension", "days": 5, "bonus_days": 7}]}),
    Case("iptv-vendor-outage-refund-less-already-refunded", IPTV, S004_OUTAGE,
         iptv(outage_cause="vendor", outage_hours=49, already_refunded=999,
              requested_at=after(days=30)),
         {"outcome": "offer", "choices": [{"kind": "refund", "amount": 5000},
                                          {"kind": "extension", "days": 3, "bonus_days": 7}]}),

    # Not in seed 004: a wrongful or duplicate charge is a billing matter, not a technical one.
    Case("iptv-duplicate-charge-goes-to-billing", IPTV, "(not in seed 004: billing errors)",
         iptv(reason="duplicate_charge", troubleshooting="none",
              troubleshooting_started_at=None),
         {"outcome": "review", "rule": "billing-error"}),

    # ---- billing-desk (seed 002) -----------------------------------------------------------
    Case("billing-wrongful-charge", BILLING, S002_WRONGFUL, billing(),
         {"outcome": "review", "rule": "wrongful-or-duplicate-charge",
          "due_by": plus(after(days=20), days=14), "documents_required": [], "language": "fr"},
         message_has=("dans les 7 à 14 jours", "05/04/2026 10:00")),
    Case("billing-duplicate-charge", BILLING, S002_INVESTIGATE,
         billing(reason="duplicate_charge", country="US", currency="USD"),
         {"outcome": "review", "rule": "wrongful-or-duplicate-charge",
          "due_by": plus(after(days=20), days=14), "language": "en"},
         message_has=("within 7 to 14 days", "2026-04-05 10:00")),
    Case("billing-special-death-certificate", BILLING, S002_DELETED,
         billing(reason="special_circumstances", documents=["death_certificate"]),
         {"outcome": "review", "rule": "special-circumstances-with-documents",
          "due_by": plus(after(days=20), days=14), "documents_required": []},
         message_has=("confidentiels", "supprimés dès la fin de l'examen")),
    Case("billing-special-medical-certificate", BILLING, S002_CASE_BY_CASE,
         billing(reason="special_circumstances",
                 documents=["screenshot", "medical_certificate"], country="US",
                 currency="USD"),
         {"outcome": "review", "rule": "special-circumstances-with-documents",
          "documents_required": []},
         message_has=("confidential", "deleted as soon as the review ends")),
    Case("billing-special-no-documents", BILLING, S002_DOCUMENTS,
         billing(reason="special_circumstances"),
         {"outcome": "review", "rule": "special-circumstances-documents-needed",
          "due_by": plus(after(days=20), days=14),
          "documents_required": ["death_certificate", "medical_certificate"]},
         message_has=("un certificat de décès ou un certificat médical",)),
    Case("billing-special-other-documents", BILLING, S002_DOCUMENTS,
         billing(reason="special_circumstances", documents=["bank_statement"]),
         {"outcome": "review", "rule": "special-circumstances-documents-needed",
          "documents_required": ["death_certificate", "medical_certificate"]}),
    Case("billing-any-other-request", BILLING, S002_INVESTIGATE,
         billing(reason="dissatisfied", plan_period="year", period_end=after(days=365),
                 amount=14999),
         {"outcome": "review", "rule": "billing-request",
          "due_by": plus(after(days=20), days=14), "documents_required": []},
         message_has=("la date de la transaction, le montant",)),
    Case("billing-documents-without-special-circumstances", BILLING, S002_REVIEW,
         billing(reason="other", documents=["medical_certificate"]),
         {"outcome": "review", "rule": "billing-request"}),
]


def decide_case(case: Case, floor: Sequence[Policy] | None = None) -> Decision:
    return decide(policy(case.policy), parse_facts(case.facts),
                  load_floor() if floor is None else floor)


def check_shape(data: dict[str, Any], decision: Decision) -> None:
    """The JSON contract of DESIGN.md, "Decision (output)", for any outcome."""
    for key in ("outcome", "currency", "rule", "policy", "decided_by", "statutory",
                "explanation", "language", "message", "messages"):
        assert key in data, key
    outcome = data["outcome"]
    assert re.fullmatch(r"[a-z0-9-]+@\d+", data["policy"])
    refundable = decision.facts["refundable_amount"]
    assert isinstance(refundable, int)
    if outcome in ("refund", "credit", "fee"):
        assert isinstance(data["amount"], int) and data["amount"] > 0
        if outcome != "fee":
            assert data["amount"] <= refundable
    else:
        assert "amount" not in data
    assert ("reason" in data) == (outcome == "deny")
    assert ("due_by" in data) == (outcome == "review")
    assert ("retry_after" in data) == (outcome == "troubleshoot_first")
    assert ("choices" in data) == (outcome == "offer")
    assert ("to" in data) == (outcome == "redirect")
    for choice in data.get("choices", []):
        if choice["kind"] == "refund":
            assert 0 < choice["amount"] <= refundable
    for entry in data["explanation"]:
        assert set(entry) >= {"policy", "rule", "matched", "why"}
        assert isinstance(entry["matched"], bool) and isinstance(entry["why"], str)
    merchant = [e for e in data["explanation"] if e["policy"] == data["policy"]]
    if data["decided_by"] == data["policy"]:
        # first match wins: every rule tried before the deciding one failed, and says why
        assert merchant[-1] == {**merchant[-1], "rule": data["rule"], "matched": True}
        assert all(not e["matched"] for e in merchant[:-1])
    assert data["message"] == data["messages"][data["language"]]
    for text in data["messages"].values():
        assert text and "{" not in text and "}" not in text
    json.dumps(data)  # plain JSON types only


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_seed_case(case: Case) -> None:
    decision = decide_case(case)
    data = decision.to_dict()
    context = f"{case.id} — seed: « {case.seed} »"
    got = {key: data.get(key) for key in case.expect}
    assert got == case.expect, context
    assert data["policy"] == f"{case.policy}@1", context
    check_shape(data, decision)
    for fragment in case.message_has:
        assert fragment in data["message"], f"{context}\nmessage: {data['message']}"
    for fragment in case.message_lacks:
        assert fragment not in data["message"], context


@pytest.mark.parametrize("name", [ANNUAL, IPTV, BILLING])
def test_every_rule_is_checked_by_a_case(name: str) -> None:
    """Each rule of each example policy decides at least one case of the table."""
    decided = {case.expect.get("rule") for case in CASES if case.policy == name}
    missing = [rule.id for rule in policy(name).rules if rule.id not in decided]
    assert not missing


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_shipped_floor_never_lowers_the_merchant_decision(case: Case) -> None:
    """The shipped statutory packs are a floor: with them, never less cash than without."""
    with_floor = decide_case(case)
    without = decide_case(case, floor=())
    assert cash(with_floor) >= cash(without)
    # the cases above were chosen outside the floor's reach: it changes nothing
    assert with_floor.to_dict()["outcome"] == without.to_dict()["outcome"]
    assert cash(with_floor) == cash(without)


def cash(decision: Decision) -> int:
    if decision.outcome == "refund":
        return decision.amount or 0
    if decision.outcome == "offer":
        return max((c.amount or 0 for c in decision.choices if c.kind == "refund"), default=0)
    return 0


# -- the whole decision, as the API and the CLI show it ------------------------------------------

def test_to_dict_of_a_french_refund() -> None:
    """« si vous formulez votre demande dans les 60 jours qui suivent la date d'achat » (seed 001):
    a French customer asking on day 41 sees the decision and its reasons in French."""
    data = decide(policy(ANNUAL), parse_facts(annual()), load_floor()).to_dict()
    assert {k: data[k] for k in ("outcome", "amount", "currency", "rule", "policy")} == {
        "outcome": "refund", "amount": 8999, "currency": "EUR", "rule": "money-back-60-days",
        "policy": "annual-60-day-guarantee@1"}
    merchant = [e for e in data["explanation"] if e["policy"] == "annual-60-day-guarantee@1"]
    assert [(e["rule"], e["matched"], e["why"]) for e in merchant] == [
        ("app-store-purchases", False,
         "channel is direct, expected one of apple_app_store, google_play"),
        ("reseller-purchases", False, "channel is direct, expected one of reseller, third_party"),
        ("duplicate-or-wrongful-charge", False,
         "reason is dissatisfied, expected one of duplicate_charge, wrongful_charge"),
        ("monthly-not-refundable", False, "plan_period is year, expected month"),
        ("money-back-60-days", True, "plan_period is year; days_since_purchase is 41"),
    ]
    assert data["language"] == "fr"
    assert data["message"] == (
        f"Remboursement intégral de 89,99{NBSP}€ au titre de la garantie de 60 jours. Il arrive "
        "sur votre moyen de paiement d'origine sous 5 à 7 jours ouvrés.")
    assert data["messages"]["en"].startswith("Full refund of €89.99 under the 60-day")


def test_to_dict_of_an_outage_offer() -> None:
    """« En cas d'interruption du service de plus de 48 heures, causée par une défaillance de
    notre part, nous offrons : Un remboursement intégral [...] OU Une prolongation » (seed 004)."""
    facts = iptv(reason="service_outage", outage_cause="vendor", outage_hours=49,
                 requested_at=after(days=30))
    data = decide(policy(IPTV), parse_facts(facts), load_floor()).to_dict()
    assert data["outcome"] == "offer"
    assert "amount" not in data
    assert data["choices"] == [{"kind": "refund", "amount": 5999},
                               {"kind": "extension", "days": 3, "bonus_days": 7}]
    assert (data["default"], data["respond_within_days"]) == ("extension", 14)
    assert data["explanation"][-1] == {
        "policy": "iptv-72-hours@1", "rule": "vendor-outage-over-48-hours", "matched": True,
        "why": "outage_cause is vendor; outage_hours is 49"}


def test_to_dict_explains_why_the_outage_rule_did_not_apply() -> None:
    """« de plus de 48 heures » (seed 004): 48 h exactly is not more than 48 h."""
    facts = iptv(reason="service_outage", outage_cause="vendor", outage_hours=48)
    data = decide(policy(IPTV), parse_facts(facts), load_floor()).to_dict()
    first = data["explanation"][0]
    assert first == {"policy": "iptv-72-hours@1", "rule": "vendor-outage-over-48-hours",
                     "matched": False, "why": "outage_hours is 48, expected more than 48"}
    assert data["reason"] == "temporary_interruption"


def test_to_dict_of_a_troubleshooting_first() -> None:
    """« Un délai de 48 heures est requis pour résoudre le problème » (seed 004): the refund
    unlocks 48 h after troubleshooting began."""
    facts = iptv(troubleshooting="in_progress", troubleshooting_started_at=after(hours=20),
                 requested_at=after(hours=67))  # 47 h into troubleshooting
    data = decide(policy(IPTV), parse_facts(facts), load_floor()).to_dict()
    assert data["outcome"] == "troubleshoot_first"
    assert data["retry_after"] == "2026-03-05T06:00:00+01:00"  # 20 h + 48 h after purchase
    assert data["explanation"][-1]["why"] == (
        "troubleshooting is in_progress; hours_since_troubleshooting_started is 47")
    assert data["message"] == (
        "Notre équipe d'assistance travaille sur votre problème et dispose de 48 heures pour le "
        "résoudre. Si le problème persiste après le 05/03/2026 06:00, renouvelez votre demande et "
        "votre remboursement sera examiné.")


def test_to_dict_of_a_special_circumstances_review() -> None:
    """« Il peut s'agir d'un certificat de décès, d'un certificat médical » (seed 002)."""
    facts = billing(reason="special_circumstances", country="US", currency="USD")
    data = decide(policy(BILLING), parse_facts(facts), load_floor()).to_dict()
    assert data["outcome"] == "review"
    assert data["due_by"] == "2026-04-05T10:00:00+01:00"
    assert data["documents_required"] == ["death_certificate", "medical_certificate"]
    assert data["language"] == "en"
    assert "a death certificate or a medical certificate" in data["message"]


# -- the statutory floor -------------------------------------------------------------------------

TEST_PACK = """
id = "test-eu-withdrawal"
version = 1
kind = "statutory"
countries = ["@EU"]
source = "Directive 2011/83/EU, Art. 9 and 14(3)"
title.en = "Test pack: 14-day withdrawal"
title.fr = "Pack de test : rétractation de 14 jours"

[[rules]]
id = "withdrawal-14-days"
source = "Directive 2011/83/EU, Art. 9 and 14(3)"
when.consumer = true
when.first_purchase = true
when.withdrawal_waived = false
when.days_since_purchase = { max = 14 }
then = "refund"
prorata = "unused_time"
message.en = "Withdrawal within 14 days: {amount} refunded for the unused part."
message.fr = "Rétractation sous 14 jours : {amount} remboursé pour la partie non utilisée."
"""


@cache
def withdrawal_floor() -> tuple[Policy, ...]:
    return (parse_policy(TEST_PACK, "test-eu-withdrawal.toml"),)


FLOOR_CASES = [
    # (id, policy, facts, expected outcome, amount, decided by the pack?)
    # « Monthly subscriptions are not eligible for a refund » (seed 003), but an EU consumer
    # withdrawing on day 3 is owed the unused part: 999 × 28/31 = 902.32 → 902.
    ("monthly-fr-day-3-lifted", ANNUAL, monthly(requested_at=after(days=3)), "refund", 902, True),
    ("monthly-fr-day-14-lifted", ANNUAL, monthly(requested_at=after(days=14)), "refund", 548,
     True),
    ("monthly-fr-day-15-not-lifted", ANNUAL, monthly(requested_at=after(days=15)), "deny", None,
     False),
    ("monthly-us-day-3-not-lifted", ANNUAL,
     monthly(country="US", currency="USD", requested_at=after(days=3)), "deny", None, False),
    ("monthly-renewal-not-lifted", ANNUAL,
     monthly(is_renewal=True, requested_at=after(days=3)), "deny", None, False),
    ("monthly-waived-not-lifted", ANNUAL,
     monthly(withdrawal_waived=True, requested_at=after(days=3)), "deny", None, False),
    # « 60 jours » (seed 001): the merchant's full refund is more than the floor; it stays.
    ("annual-fr-day-3-merchant-full", ANNUAL, annual(requested_at=after(days=3)), "refund", 8999,
     False),
    # « vous devez annuler l'abonnement par le biais de la boutique » (seed 001): only the law
    # wins over the store redirect. 8999 × 362/365 = 8925.03 → 8925.
    ("app-store-fr-day-3-lifted", ANNUAL,
     annual(channel="apple_app_store", requested_at=after(days=3)), "refund", 8925, True),
    # « Vous devez contacter notre équipe d'assistance pour une tentative de dépannage » (seed
    # 004): troubleshooting cannot hold back a French consumer's withdrawal refund.
    # 5999 × (8760 − 10) / 8760 = 5992.15 → 5992.
    ("iptv-fr-troubleshoot-lifted", IPTV,
     iptv(country="FR", troubleshooting="none", troubleshooting_started_at=None,
          requested_at=after(hours=10)), "refund", 5992, True),
    # « Les demandes effectuées après 72 heures peuvent faire l'objet d'un remboursement partiel,
    # selon l'utilisation » (seed 004): on day 4 the floor (unused time) beats usage.
    # usage: 5999 × 0.5 = 2999.5 → 3000; floor: 5999 × 361/365 = 5933.26 → 5933.
    ("iptv-fr-day-4-partial-lifted", IPTV,
     iptv(country="FR", usage_fraction=0.5, requested_at=after(days=4)), "refund", 5933, True),
    # « Un remboursement intégral de l'abonnement acheté, OU Une prolongation » (seed 004): the
    # offer's refund choice is in full, at least the floor: the offer stands.
    ("iptv-fr-outage-offer-kept", IPTV,
     iptv(country="FR", outage_cause="vendor", outage_hours=50, requested_at=after(days=2)),
     "offer", None, False),
]


def test_review_keeps_the_person_with_the_floor_as_minimum() -> None:
    """« examinera votre demande dans les 7 à 14 jours » (seed 002): a review gives no cash yet;
    within 14 days the law owes a proportionate refund, so the review stands (a person may grant
    more) and carries the statutory refund as the least the reviewer can grant."""
    facts = billing(requested_at=after(days=5))
    decision = decide(policy(BILLING), parse_facts(facts), withdrawal_floor())
    data = decision.to_dict()
    assert (data["outcome"], data.get("amount"), data["minimum_amount"]) == ("review", None, 1257)
    assert data["decided_by"] == "billing-desk@1"
    assert "12,57" in decision.message("fr") and "€12.57" in decision.message("en")


@pytest.mark.parametrize(("name", "facts", "outcome", "amount", "by_floor"),
                         [c[1:] for c in FLOOR_CASES], ids=[c[0] for c in FLOOR_CASES])
def test_statutory_floor(name: str, facts: dict[str, object], outcome: str, amount: int | None,
                         by_floor: bool) -> None:
    decision = decide(policy(name), parse_facts(facts), withdrawal_floor())
    data = decision.to_dict()
    assert (data["outcome"], data.get("amount")) == (outcome, amount)
    assert data["policy"] == f"{name}@1"
    assert decision.floor_applied is by_floor
    if by_floor:
        assert data["decided_by"] == "test-eu-withdrawal@1"
        assert data["rule"] == "withdrawal-14-days"
    assert data["statutory"] == (["test-eu-withdrawal@1"] if facts["country"] == "FR" else [])
    without = decide(policy(name), parse_facts(facts))
    assert cash(decision) >= cash(without)
    check_shape(data, decision)


def test_shipped_floor_covers_french_consumers_at_least_as_well() -> None:
    """With the packs shipped in the product, a French consumer asking IPTV support for a refund
    10 hours after buying either must troubleshoot first (no pack covers the case) or is
    refunded by a pack, never more than the charge."""
    facts = iptv(country="FR", troubleshooting="none", troubleshooting_started_at=None,
                 requested_at=after(hours=10))
    decision = decide(policy(IPTV), parse_facts(facts), load_floor())
    if decision.floor_applied:
        assert decision.outcome == "refund"
        assert decision.amount is not None and 0 < decision.amount <= 5999
        assert decision.decided_by in decision.statutory
    else:
        assert decision.outcome == "troubleshoot_first"


# -- the examples the CLI demo uses --------------------------------------------------------------

EXAMPLE_LINE = re.compile(r"^- (?P<policy>\S+\.toml) (?P<facts>\S+\.json): (?P<what>.+)$")
EXAMPLE_OUTCOMES = {
    "annual-day-41-fr.json": ("refund", 8999),
    "annual-monthly-us.json": ("deny", None),
    "annual-app-store.json": ("redirect", None),
    "iptv-within-72h.json": ("refund", 5999),
    "iptv-after-72h-usage.json": ("refund", 3899),
    "iptv-outage.json": ("offer", None),
    "iptv-needs-troubleshooting.json": ("troubleshoot_first", None),
    "iptv-weak-connection.json": ("deny", None),
    "billing-special-circumstances.json": ("review", None),
    "billing-wrongful-charge.json": ("review", None),
    # The floor at work: the merchant policy denies, the law refunds the unused part.
    "law-eu-withdrawal-monthly-de.json": ("refund", 1034),
    "law-fr-renewal-without-notice.json": ("refund", 6573),
}


def example_lines() -> list[re.Match[str]]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    return [m for line in text.splitlines() if (m := EXAMPLE_LINE.match(line))]


def test_examples_readme_lists_every_facts_file() -> None:
    listed = sorted(Path(m["facts"]).name for m in example_lines())
    on_disk = sorted(p.name for p in (EXAMPLES / "facts").glob("*.json"))
    assert listed == on_disk
    assert sorted(EXAMPLE_OUTCOMES) == on_disk


@pytest.mark.parametrize("line", example_lines(), ids=lambda m: Path(m["facts"]).stem)
def test_example_decides_as_described(line: re.Match[str]) -> None:
    raw = json.loads((ROOT / line["facts"]).read_text(encoding="utf-8"))
    decision = decide(load_policy(ROOT / line["policy"]), parse_facts(raw), load_floor())
    data = decision.to_dict()
    assert (data["outcome"], data.get("amount")) == EXAMPLE_OUTCOMES[Path(line["facts"]).name]
    assert decision.floor_applied is Path(line["facts"]).name.startswith("law-")
    check_shape(data, decision)


# -- refunds that come to nothing --------------------------------------------------------

def test_nothing_refundable_does_not_show_a_refund_message() -> None:
    """« Un remboursement intégral est accordé uniquement pour les demandes effectuées durant
    cette période initiale » (seed 004) — and for the annual plan (seed 001), once the whole
    charge was refunded, nothing is owed: the customer must not read "Full refund of  under…"."""
    decision = decide(policy(ANNUAL), parse_facts(annual(already_refunded=8999)), load_floor())
    assert (decision.outcome, decision.reason) == ("deny", "nothing_refundable")
    assert "Full refund of  " not in decision.message("en")
    assert decision.message("en").startswith("Nothing is left to refund")
    assert decision.message("fr").startswith("Il ne reste rien à rembourser")
