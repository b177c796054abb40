"""The validated form of a policy document: rules, conditions and outcome specifications.

Objects here are built by ``document.load_policy`` and are immutable. Conditions are compiled to
small closures at load time so that a decision only calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .expr import Expression

Outcome = Literal["refund", "deny", "review", "troubleshoot_first", "offer", "redirect", "credit",
                  "fee"]
OUTCOMES: tuple[Outcome, ...] = ("refund", "deny", "review", "troubleshoot_first", "offer",
                                 "redirect", "credit", "fee")
Op = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "null", "any_of", "all_of",
             "none_of", "empty"]
Constant = str | int | float | bool | datetime | frozenset[str] | None
Test = Callable[[Mapping[str, object]], bool]


@dataclass(frozen=True, slots=True)
class Check:
    """One comparison of a fact with a constant (``days_since_purchase <= 60``)."""

    op: Op
    value: Constant


@dataclass(frozen=True, slots=True)
class Condition:
    """All ``checks`` on one fact must hold; or, when ``expression`` is set, it must be true."""

    fact: str
    checks: tuple[Check, ...]
    test: Test
    expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class AmountSpec:
    """A refund, credit or fee: its amount formula in minor units, before rounding and clamping.

    ``clamp`` keeps the result within 0..refundable_amount (refunds and credits); amounts below
    ``min_amount`` turn the decision into a denial (``nothing_refundable`` / ``below_minimum``).
    """

    amount: Expression
    min_amount: int = 1
    clamp: bool = True


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    kind: Literal["refund", "extension", "credit"]
    amount: AmountSpec | None = None
    days: Expression | None = None
    bonus_days: Expression | None = None


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    outcome: Outcome
    amount: AmountSpec | None = None  # refund, credit, fee
    reason: str | None = None  # deny
    sla_days: int | None = None  # review
    documents_required: tuple[str, ...] = ()  # review
    hours: int | None = None  # troubleshoot_first
    choices: tuple[ChoiceSpec, ...] = ()  # offer
    default_choice: str | None = None  # offer
    respond_within_days: int | None = None  # offer
    to: str | None = None  # redirect; None means the purchase channel


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    conditions: tuple[Condition, ...]
    then: OutcomeSpec
    messages: Mapping[str, str]
    source: str | None = None
    index: int = 0  # 1-based position in its document
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: int
    title: Mapping[str, str]
    rules: tuple[Rule, ...]
    kind: Literal["merchant", "statutory"] = "merchant"
    countries: frozenset[str] = frozenset()  # statutory packs: where they apply
    source: str | None = None
    path: str = "<string>"
    description: str = ""
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    ref: str = field(init=False, compare=False)  # ``id@version``, as recorded in decisions

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", f"{self.id}@{self.version}")
