"""The output of a decision, and how it explains itself.

A ``Decision`` is computed eagerly (outcome, amount, dates, choices) while its explanation and
customer message are rendered on demand from the trials kept: deciding stays in microseconds
and nothing is lost, since the trials hold the rule, the failing condition and the facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .model import Check, Condition, Outcome, Policy, Rule
from .money import format_money

_OP_WORDS = {
    "eq": "{v}", "ne": "not {v}", "in": "one of {v}", "not_in": "none of {v}",
    "gt": "more than {v}", "ge": "at least {v}", "lt": "less than {v}", "le": "at most {v}",
    "any_of": "any of {v}", "all_of": "all of {v}", "none_of": "none of {v}",
}


class Trial(NamedTuple):
    """One rule tried: ``failed`` is the condition that did not hold, None if the rule matched.

    The engine appends plain ``(policy, rule, failed)`` tuples, which this names.
    """

    policy: Policy
    rule: Rule
    failed: Condition | None


@dataclass(frozen=True, slots=True)
class Choice:
    kind: str
    amount: int | None = None
    days: int | None = None
    bonus_days: int | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind}
        if self.amount is not None:
            data["amount"] = self.amount
        if self.days is not None:
            data["days"] = self.days
            data["bonus_days"] = self.bonus_days or 0
        return data


def _show(value: object) -> str:
    if isinstance(value, frozenset):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, tuple):
        return ", ".join(value) if value else "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return "unknown"
    return str(value)


def describe_check(check: Check) -> str:
    if check.op == "null":
        return "unknown" if check.value else "known"
    if check.op == "empty":
        return "empty" if check.value else "not empty"
    return _OP_WORDS[check.op].format(v=_show(check.value))


def explain_condition(condition: Condition, facts: Mapping[str, object], held: bool) -> str:
    """``days_since_purchase is 75, expected at most 60`` (failed) or ``... is 12`` (held)."""
    if condition.expression is not None:
        state = "holds" if held else "does not hold"
        return f"{condition.expression.text} {state}"
    actual = _show(facts.get(condition.fact))
    if held:
        return f"{condition.fact} is {actual}"
    expected = " and ".join(describe_check(c) for c in condition.checks)
    return f"{condition.fact} is {actual}, expected {expected}"


@dataclass(slots=True)
class Decision:
    """What the customer is owed and why. Money in minor units of ``currency``."""

    outcome: Outcome
    currency: str
    policy: str  # the merchant policy, id@version
    rule: str | None  # the deciding rule
    decided_by: str  # the document of the deciding rule (a statutory pack when the floor won)
    amount: int | None = None
    reason: str | None = None
    due_by: datetime | None = None
    documents_required: tuple[str, ...] = ()
    retry_after: datetime | None = None
    choices: tuple[Choice, ...] = ()
    default_choice: str | None = None
    respond_within_days: int | None = None
    to: str | None = None
    minimum_amount: int | None = None  # review: the statutory floor the reviewer must grant
    language: str = "en"
    statutory: tuple[str, ...] = ()
    trials: tuple[Trial, ...] = field(default=(), repr=False, compare=False)
    facts: Mapping[str, object] = field(default_factory=dict, repr=False, compare=False)
    deciding_rule: Rule | None = field(default=None, repr=False, compare=False)
    policy_title: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def floor_applied(self) -> bool:
        return self.decided_by != self.policy

    def explanation(self) -> list[dict[str, object]]:
        """Every rule tried, in order: matched or not, and why (actual vs expected)."""
        lines: list[dict[str, object]] = []
        for policy, rule, failed in self.trials:
            if failed is None:
                reasons = [explain_condition(c, self.facts, True) for c in rule.conditions]
                why = "; ".join(reasons) if reasons else "always applies"
            else:
                why = explain_condition(failed, self.facts, False)
            entry: dict[str, object] = {"policy": policy.ref, "rule": rule.id,
                                        "matched": failed is None, "why": why}
            if rule.source:
                entry["source"] = rule.source
            lines.append(entry)
        return lines

    def message(self, language: str | None = None) -> str:
        """The deciding rule's customer message in ``language`` (default: the customer's)."""
        language = language or self.language
        if self.deciding_rule is None:
            texts = {"en": "No rule of this policy covers this request; a person will look at it.",
                     "fr": "Aucune règle de cette politique ne couvre cette demande ; une personne "
                           "va l'examiner."}
            return texts.get(language, texts["en"]) + self._minimum_sentence(language)
        if self.outcome != self.deciding_rule.then.outcome:
            # A refund, credit or offer whose amount came to nothing: the rule's own text
            # would announce money that is not there.
            texts = _NOTHING_LEFT[self.reason or "nothing_refundable"]
            return texts.get(language, texts["en"]).format(rule=self.deciding_rule.id)
        template = self.deciding_rule.messages.get(language) or self.deciding_rule.messages["en"]
        return template.format_map(self._placeholders(language)) + self._minimum_sentence(
            language)

    def _minimum_sentence(self, language: str) -> str:
        if not self.minimum_amount:
            return ""
        extra = _MINIMUM[language if language in _MINIMUM else "en"]
        return " " + extra.format(amount=format_money(self.minimum_amount, self.currency,
                                                      language))

    def _placeholders(self, language: str) -> dict[str, str]:
        def money(value: int) -> str:
            return format_money(value, self.currency, language)

        refund_choice = next((c.amount for c in self.choices if c.amount is not None), None)
        extension = next((c for c in self.choices if c.kind == "extension"), None)
        amount = self.amount if self.amount is not None else refund_choice
        refundable = self.facts.get("refundable_amount")
        date_format = "%d/%m/%Y %H:%M" if language == "fr" else "%Y-%m-%d %H:%M"
        spec = self.deciding_rule.then if self.deciding_rule else None
        return {
            "amount": money(amount) if amount is not None else "",
            "refundable_amount": money(refundable) if isinstance(refundable, int) else "",
            "days": str(extension.days) if extension else "",
            "bonus_days": str(extension.bonus_days) if extension else "",
            "hours": str(spec.hours) if spec and spec.hours else "",
            "sla_days": str(spec.sla_days) if spec and spec.sla_days else "",
            "due_by": self.due_by.strftime(date_format) if self.due_by else "",
            "retry_after": self.retry_after.strftime(date_format) if self.retry_after else "",
            "to": _STORE_NAMES.get(self.to or "", self.to or ""),
            "reason": self.reason or "",
            "policy": self.policy_title.get(language, self.policy),
            "documents": ", ".join(self.documents_required),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of DESIGN.md ("Decision (output)")."""
        data: dict[str, Any] = {"outcome": self.outcome}
        if self.amount is not None:
            data["amount"] = self.amount
        data["currency"] = self.currency
        data["rule"] = self.rule
        data["policy"] = self.policy
        data["decided_by"] = self.decided_by
        if self.reason is not None:
            data["reason"] = self.reason
        if self.due_by is not None:
            data["due_by"] = self.due_by.isoformat()
            data["documents_required"] = list(self.documents_required)
        if self.minimum_amount is not None:
            data["minimum_amount"] = self.minimum_amount
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after.isoformat()
        if self.outcome == "offer":
            data["choices"] = [c.to_dict() for c in self.choices]
            if self.default_choice:
                data["default"] = self.default_choice
            if self.respond_within_days:
                data["respond_within_days"] = self.respond_within_days
        if self.to is not None:
            data["to"] = self.to
        data["statutory"] = list(self.statutory)
        data["explanation"] = self.explanation()
        data["language"] = self.language
        data["message"] = self.message()
        data["messages"] = {lang: self.message(lang) for lang in ("en", "fr")}
        return data


_NOTHING_LEFT = {
    "nothing_refundable": {
        "en": "Nothing is left to refund on this charge under the rule that applies ({rule}).",
        "fr": "Il ne reste rien à rembourser sur ce paiement selon la règle applicable ({rule}).",
    },
    "below_minimum": {
        "en": "The amount owed under the rule that applies ({rule}) is below the minimum paid "
              "out.",
        "fr": "Le montant dû selon la règle applicable ({rule}) est inférieur au minimum versé.",
    },
}
_MINIMUM = {
    "en": "Whatever the review decides, the law guarantees you at least {amount}.",
    "fr": "Quelle que soit l'issue de l'examen, la loi vous garantit au moins {amount}.",
}

_STORE_NAMES = {"apple_app_store": "Apple App Store", "google_play": "Google Play",
                "reseller": "reseller", "third_party": "third party"}
