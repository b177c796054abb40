"""The scalar engine: facts in, ``Decision`` out, with the statutory floor applied.

Pure: no clock, no I/O. Within a document the first matching rule wins. Statutory packs that
apply to the customer's country are evaluated first; the best statutory refund is a floor that
the merchant's decision may raise (a larger refund, or an offer whose refund choice is at least
as large) but never lower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from .decision import Choice, Decision, Trial
from .facts import Facts, parse_facts
from .model import AmountSpec, Policy, Rule
from .money import round_minor


def match(policy: Policy, facts: Facts, trials: list[Trial]) -> Rule | None:
    """The first rule of ``policy`` whose conditions all hold; record each rule tried."""
    append = trials.append
    for rule in policy.rules:
        for condition in rule.conditions:
            if not condition.test(facts):
                append((policy, rule, condition))  # type: ignore[arg-type]
                break
        else:
            append((policy, rule, None))  # type: ignore[arg-type]
            return rule
    return None


def evaluate_amount(spec: AmountSpec, facts: Mapping[str, object]) -> int:
    """Evaluate an amount formula: Decimal, rounded half-even once, clamped for refunds/credits."""
    raw = spec.amount.evaluate(facts)
    value = round_minor(raw) if isinstance(raw, Decimal) else 0
    if spec.clamp:
        refundable = facts["refundable_amount"]
        assert isinstance(refundable, int)
        value = min(value, refundable)
    return max(value, 0)


def evaluate_days(expression: object, facts: Mapping[str, object]) -> int:
    from .expr import Expression

    assert isinstance(expression, Expression)
    raw = expression.evaluate(facts)
    return max(round_minor(raw), 0) if isinstance(raw, Decimal) else 0


def outcome_of(policy: Policy, rule: Rule | None, facts: Facts, merchant: Policy,
               trials: Sequence[Trial], statutory: tuple[str, ...]) -> Decision:
    """Turn the matched rule into a Decision (or a review when no rule matched)."""
    currency = facts["currency"]
    language = facts["language"]
    assert isinstance(currency, str) and isinstance(language, str)
    common = {"currency": currency, "policy": merchant.ref, "language": language,
              "statutory": statutory, "trials": tuple(trials), "facts": facts,
              "policy_title": merchant.title}
    if rule is None:
        requested = facts["requested_at"]
        assert isinstance(requested, datetime)
        return Decision(outcome="review", rule=None, decided_by=merchant.ref,
                        due_by=requested + timedelta(days=14), **common)  # type: ignore[arg-type]
    spec = rule.then
    base = {"rule": rule.id, "decided_by": policy.ref, "deciding_rule": rule, **common}
    outcome = spec.outcome
    if spec.amount is not None:
        amount = evaluate_amount(spec.amount, facts)
        if amount < spec.amount.min_amount:
            reason = "nothing_refundable" if amount <= 0 else "below_minimum"
            return Decision(outcome="deny", reason=reason, **base)  # type: ignore[arg-type]
        return Decision(outcome=outcome, amount=amount, **base)  # type: ignore[arg-type]
    if outcome == "deny":
        return Decision(outcome="deny", reason=spec.reason, **base)  # type: ignore[arg-type]
    if outcome == "review":
        requested = facts["requested_at"]
        assert isinstance(requested, datetime) and spec.sla_days is not None
        return Decision(outcome="review", due_by=requested + timedelta(days=spec.sla_days),
                        documents_required=spec.documents_required,
                        **base)  # type: ignore[arg-type]
    if outcome == "troubleshoot_first":
        started = facts["troubleshooting_started_at"] or facts["requested_at"]
        assert isinstance(started, datetime) and spec.hours is not None
        return Decision(outcome="troubleshoot_first",
                        retry_after=started + timedelta(hours=spec.hours),
                        **base)  # type: ignore[arg-type]
    if outcome == "redirect":
        to = spec.to or facts["channel"]
        assert isinstance(to, str)
        return Decision(outcome="redirect", to=to, **base)  # type: ignore[arg-type]
    choices: list[Choice] = []
    for choice in spec.choices:
        if choice.amount is not None:
            value = evaluate_amount(choice.amount, facts)
            if value >= choice.amount.min_amount:
                choices.append(Choice(choice.kind, amount=value))
        else:
            choices.append(Choice(choice.kind, days=evaluate_days(choice.days, facts),
                                  bonus_days=evaluate_days(choice.bonus_days, facts)))
    if not choices:
        return Decision(outcome="deny", reason="nothing_refundable",
                        **base)  # type: ignore[arg-type]
    offered = {choice.kind for choice in choices}
    default = spec.default_choice if spec.default_choice in offered else None
    return Decision(outcome="offer", choices=tuple(choices), default_choice=default,
                    respond_within_days=spec.respond_within_days,
                    **base)  # type: ignore[arg-type]


def cash_value(decision: Decision) -> int:
    """Money back to the original payment method that a decision gives (0 if none)."""
    if decision.outcome == "refund":
        return decision.amount or 0
    if decision.outcome == "offer":
        return max((c.amount or 0 for c in decision.choices if c.kind == "refund"), default=0)
    return 0


def decide(policy: Policy, facts: Facts, floor: Sequence[Policy] = ()) -> Decision:
    """Decide on parsed facts (``parse_facts``) under ``policy`` with the statutory ``floor``.

    ``floor`` is the list of statutory packs (see ``statutory.load_floor``); those whose
    countries include ``facts["country"]`` apply. Never returns a refund above the refundable
    amount.
    """
    trials: list[Trial] = []
    best_pack: Policy | None = None
    best_rule: Rule | None = None
    best_cash = 0
    applied: list[str] = []
    country = facts["country"]
    for pack in floor:
        if country not in pack.countries:
            continue
        applied.append(pack.ref)
        rule = match(pack, facts, trials)
        if rule is None or rule.then.amount is None:
            continue
        cash = evaluate_amount(rule.then.amount, facts)
        if cash >= rule.then.amount.min_amount and cash > best_cash:
            best_pack, best_rule, best_cash = pack, rule, cash
    statutory = tuple(applied)
    rule = match(policy, facts, trials)
    decision = outcome_of(policy, rule, facts, policy, trials, statutory)
    if best_pack is not None and cash_value(decision) < best_cash:
        if decision.outcome == "review":
            # A person may still grant more than the law's minimum: keep the review, with the
            # floor as the least the reviewer can grant.
            decision.minimum_amount = best_cash
            return decision
        return outcome_of(best_pack, best_rule, facts, policy, trials, statutory)
    return decision


def decide_raw(policy: Policy, raw: Mapping[str, object], floor: Sequence[Policy] = ()) -> Decision:
    """Validate raw facts (raises ``FactsError``) and decide."""
    return decide(policy, parse_facts(raw), floor)
