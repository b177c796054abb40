"""Find rules that can never match because an earlier rule always matches first.

Rule A shadows a later rule B when every condition of A is implied by a condition of B on the
same fact: then whenever B's conditions hold, A's hold too, and A wins. The check is
conservative: it reports only what it can prove (finite value sets and numeric ranges), so a
rule it does not report may still be unreachable through a combination of earlier rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .facts import ALL_FACTS
from .model import Condition, Rule

Interval = tuple[float, bool, float, bool]  # low, low inclusive, high, high inclusive


def _allowed_values(condition: Condition) -> frozenset[object] | None:
    """The finite set of values satisfying the condition, or None if not finite/known."""
    spec = ALL_FACTS[condition.fact]
    if spec.kind == "enum":
        domain: set[object] = set(spec.choices)
    elif spec.kind == "bool":
        domain = {True, False}
    else:
        return None
    if spec.nullable or condition.fact == "first_purchase":
        domain.add(None)
    allowed = set(domain)
    for check in condition.checks:
        if check.op == "eq":
            allowed &= {check.value}
        elif check.op == "ne":
            allowed -= {check.value, None}
        elif check.op == "in" and isinstance(check.value, frozenset):
            allowed &= set(check.value)
        elif check.op == "not_in" and isinstance(check.value, frozenset):
            allowed -= set(check.value) | {None}
        elif check.op == "null":
            allowed &= {None} if check.value else domain - {None}
        else:
            return None
    return frozenset(allowed)


def _interval(condition: Condition) -> Interval | None:
    low, low_in, high, high_in = -math.inf, True, math.inf, True
    for check in condition.checks:
        value = check.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = float(value)
        if check.op in ("ge", "gt"):
            inclusive = check.op == "ge"
            if number > low or (number == low and not inclusive):
                low, low_in = number, inclusive
        elif check.op in ("le", "lt"):
            inclusive = check.op == "le"
            if number < high or (number == high and not inclusive):
                high, high_in = number, inclusive
        elif check.op == "eq":  # both bounds, intersected with the others
            if number > low:
                low, low_in = number, True
            if number < high:
                high, high_in = number, True
        else:
            return None
    return low, low_in, high, high_in


def _within(inner: Interval, outer: Interval) -> bool:
    low, low_in, high, high_in = inner
    out_low, out_low_in, out_high, out_high_in = outer
    low_ok = low > out_low or (low == out_low and (out_low_in or not low_in))
    high_ok = high < out_high or (high == out_high and (out_high_in or not high_in))
    return low_ok and high_ok


def _implies(later: Condition, earlier: Condition) -> bool:
    """True when ``later`` holding guarantees ``earlier`` holds (same fact)."""
    if later.fact != earlier.fact:
        return False
    if earlier.expression is not None or later.expression is not None:
        return (earlier.expression is not None and later.expression is not None
                and earlier.expression.tree == later.expression.tree)
    if later.checks == earlier.checks or set(earlier.checks) <= set(later.checks):
        return True
    later_set, earlier_set = _allowed_values(later), _allowed_values(earlier)
    if later_set is not None and earlier_set is not None:
        return later_set <= earlier_set
    later_range, earlier_range = _interval(later), _interval(earlier)
    if later_range is not None and earlier_range is not None:
        return _within(later_range, earlier_range)
    return False


def shadowing_rule(earlier_rules: Sequence[Rule], rule: Rule) -> Rule | None:
    """The first earlier rule that always matches whenever ``rule`` would, if any."""
    for earlier in earlier_rules:
        if all(any(_implies(mine, theirs) for mine in rule.conditions)
               for theirs in earlier.conditions):
            return earlier
    return None
