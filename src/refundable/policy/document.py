"""Load and validate policy documents (TOML): every problem names the file, line and field.

See docs/policies.md for the format. ``load_policy(path)`` and ``parse_policy(text, path)`` return a
``Policy`` or raise ``PolicyErrors`` listing every problem found.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from string import Formatter
from typing import Literal, cast

from .errors import ExpressionError, FactsError, PolicyError, PolicyErrors
from .expr import Expression, combine, number_expression, parse_expression
from .facts import ALL_FACTS, FactSpec, parse_datetime
from .model import (
    OUTCOMES,
    AmountSpec,
    Check,
    ChoiceSpec,
    Condition,
    Constant,
    Op,
    Outcome,
    OutcomeSpec,
    Policy,
    Rule,
    Test,
)
from .shadow import shadowing_rule

EU: frozenset[str] = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
BUILTIN_GROUPS: dict[str, frozenset[str]] = {"EU": EU, "EEA": EU | {"IS", "LI", "NO"}}
LANGUAGES = ("en", "fr")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_OPS: dict[str, Op] = {
    "eq": "eq", "ne": "ne", "in": "in", "not_in": "not_in", "gt": "gt", "ge": "ge", "lt": "lt",
    "le": "le", "min": "ge", "max": "le", "null": "null", "any_of": "any_of",
    "all_of": "all_of", "none_of": "none_of", "empty": "empty",
}
_PLACEHOLDERS = {"amount", "refundable_amount", "days", "bonus_days", "hours", "due_by",
                 "retry_after", "to", "reason", "policy", "documents", "sla_days"}
_TOP_KEYS = {"id", "version", "title", "description", "kind", "countries", "source", "groups",
             "rules"}
_RULE_KEYS = {"id", "when", "if", "then", "message", "source", "amount", "percent", "prorata",
              "fee", "min_amount", "reason", "sla_days", "documents_required", "hours", "choices",
              "default", "respond_within_days", "to", "description"}


def locate_keys(text: str) -> dict[str, int]:
    """Map dotted field paths (``rules[2].when.plan_period``, 1-based) to their line numbers.

    tomllib keeps no positions, so this scans the text for table headers and ``key =`` lines,
    including keys inside one-line inline tables, and skips the inside of multi-line strings.
    Good enough to point a person at the line.
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    current = ""
    in_string: str | None = None  # the delimiter of the multi-line string being skipped
    for number, raw in enumerate(text.splitlines(), 1):
        if in_string is not None:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = line[2:line.find("]]")].strip()
            head, _, rest = name.partition(".")
            if rest and head in counters:  # [[rules.choices]]: within the current rule
                name = f"{head}[{counters[head]}].{rest}"
            counters[name] = counters.get(name, 0) + 1
            lines.setdefault(name, number)
            current = f"{name}[{counters[name]}]"
            lines.setdefault(current, number)
            continue
        if line.startswith("["):
            name = line[1:line.find("]")].strip()
            head, _, rest = name.partition(".")
            current = f"{head}[{counters[head]}]" + (f".{rest}" if rest else "") \
                if head in counters else name
            lines.setdefault(current, number)
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue
        key = key.strip().replace('"', "").replace(" ", "")
        full = f"{current}.{key}" if current else key
        prefix = current
        for part in key.split("."):  # when.plan_period also locates when
            prefix = f"{prefix}.{part}" if prefix else part
            lines.setdefault(prefix, number)
        value = value.strip()
        if value.startswith("{"):
            for inner in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", value):
                lines.setdefault(f"{full}.{inner.group(1)}", number)
        for delimiter in ('"""', "'''"):
            if value.count(delimiter) % 2 == 1:
                in_string = delimiter
                break
    return lines


class _Loader:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.lines = locate_keys(text)
        self.errors: list[PolicyError] = []
        self.groups: dict[str, frozenset[str]] = dict(BUILTIN_GROUPS)

    def line_of(self, field: str) -> int | None:
        probe = field
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            if probe.endswith("]") and "." not in probe[probe.rfind("["):]:
                probe = probe[:probe.rfind("[")]  # rules[2] -> rules
            else:
                probe = probe.rpartition(".")[0]
        return None

    def error(self, field: str, message: str) -> None:
        self.errors.append(PolicyError(message, path=self.path, line=self.line_of(field),
                                       field=field))

    # -- document ---------------------------------------------------------------------------
    def load(self) -> Policy:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise PolicyErrors([PolicyError(f"not valid TOML: {exc}", path=self.path,
                                            line=int(match.group(1)) if match else None)]) from None
        for key in data:
            if key not in _TOP_KEYS:
                self.error(key, f"unknown key {key!r}; expected one of "
                                f"{', '.join(sorted(_TOP_KEYS))}")
        policy_id = self.identifier(data, "id")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.error("version", f"version must be a whole number >= 1, got {version!r}")
            version = 1
        title = self.messages(data.get("title"), "title")
        kind = data.get("kind", "merchant")
        if kind not in ("merchant", "statutory"):
            self.error("kind", f"kind must be 'merchant' or 'statutory', got {kind!r}")
            kind = "merchant"
        self.texts(data, "")
        self.load_groups(data.get("groups", {}))
        countries: frozenset[str] = frozenset()
        if kind == "statutory":
            countries = self.country_list(data.get("countries"), "countries")
            if not _cited(data.get("source")):
                self.error("source", "a statutory pack must cite its legal source")
        raw_rules = data.get("rules")
        rules: list[Rule] = []
        if not isinstance(raw_rules, list) or not raw_rules:
            self.error("rules", "a policy needs at least one [[rules]] table")
        else:
            seen: dict[str, int] = {}
            for index, raw in enumerate(raw_rules, 1):
                rule = self.rule(raw, index, kind == "statutory")
                if rule is None:
                    continue
                if rule.id in seen:
                    self.error(f"rules[{index}].id",
                               f"rule id {rule.id!r} is already used by rule {seen[rule.id]}")
                seen[rule.id] = index
                rules.append(rule)
            self.check_reachable(rules)
        if self.errors:
            raise PolicyErrors(self.errors)
        description = data.get("description", "")
        return Policy(
            id=policy_id, version=version, title=title, rules=tuple(rules),
            kind=cast("Literal['merchant', 'statutory']", kind), countries=countries,
            source=data.get("source") if isinstance(data.get("source"), str) else None,
            path=self.path, description=description if isinstance(description, str) else "",
            groups={k: v for k, v in self.groups.items() if k not in BUILTIN_GROUPS})

    def texts(self, data: Mapping[str, object], where: str) -> None:
        """``description`` and ``source``, when given, are texts."""
        for key in ("description", "source"):
            if key in data and not isinstance(data[key], str):
                self.error(f"{where}{key}", f"{key} must be a text in quotes, got {data[key]!r}")

    def identifier(self, data: Mapping[str, object], field: str, where: str = "") -> str:
        value = data.get(field)
        if not isinstance(value, str) or not _ID.match(value):
            self.error(f"{where}{field}", f"{field} must be a lower-case identifier such as "
                                          f"'money-back-60-days', got {value!r}")
            return "invalid"
        return value

    def messages(self, value: object, field: str) -> dict[str, str]:
        if not isinstance(value, dict):
            self.error(field, f"{field} needs a text per language: {field}.en and {field}.fr")
            return {}
        result: dict[str, str] = {}
        for language in LANGUAGES:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.error(f"{field}.{language}", f"missing {field}.{language} (customer-facing "
                                                  "texts are needed in French and English)")
                continue
            try:
                placeholders = [(name, spec, conversion) for _, name, spec, conversion
                                in Formatter().parse(text) if name is not None]
            except ValueError as exc:
                self.error(f"{field}.{language}", f"malformed placeholder ({exc}); write "
                                                  "{amount}, and {{ or }} for a brace")
                continue
            for name, spec, conversion in placeholders:
                if name not in _PLACEHOLDERS:
                    self.error(f"{field}.{language}",
                               f"unknown placeholder {{{name}}}; use one of "
                               f"{', '.join(sorted(_PLACEHOLDERS))}")
                elif spec or conversion:
                    self.error(f"{field}.{language}",
                               f"placeholder {{{name}}} takes no format or conversion")
            result[language] = text
        for language in value:
            if language not in LANGUAGES:
                self.error(f"{field}.{language}", f"unsupported language {language!r}; "
                                                  f"use {' and '.join(LANGUAGES)}")
        return result

    def load_groups(self, raw: object) -> None:
        if not isinstance(raw, dict):
            self.error("groups", "groups must be a table of country lists")
            return
        for name, members in raw.items():
            self.groups[name] = self.country_list(members, f"groups.{name}")

    def country_list(self, raw: object, field: str) -> frozenset[str]:
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            self.error(field, "expected a list of country codes or @GROUP names")
            return frozenset()
        result: set[str] = set()
        for code in raw:
            if code.startswith("@"):
                group = self.groups.get(code[1:])
                if group is None:
                    builtin = ", ".join("@" + g for g in BUILTIN_GROUPS)
                    self.error(field, f"unknown country group {code!r}; define it under "
                                      f"[groups] or use {builtin}")
                    continue
                result |= group
            elif re.fullmatch(r"[A-Z]{2}", code):
                result.add(code)
            else:
                self.error(field, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return frozenset(result)

    # -- rules --------------------------------------------------------------------------------
    def rule(self, raw: object, index: int, statutory: bool) -> Rule | None:
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            self.error(where, "a rule must be a table")
            return None
        before = len(self.errors)
        for key in raw:
            if key not in _RULE_KEYS:
                self.error(f"{where}.{key}", f"unknown rule key {key!r}")
        rule_id = self.identifier(raw, "id", f"{where}.")
        conditions: list[Condition] = []
        when = raw.get("when", {})
        if not isinstance(when, dict):
            self.error(f"{where}.when", "when must be a table of fact = condition")
            when = {}
        for fact, spec in when.items():
            condition = self.condition(fact, spec, f"{where}.when.{fact}")
            if condition is not None:
                conditions.append(condition)
        if "if" in raw:
            expression = self.expression(raw["if"], f"{where}.if", "bool")
            if expression is not None:
                conditions.append(Condition(
                    fact="if", checks=(), expression=expression,
                    test=_expression_test(expression)))
        then = self.outcome(raw, where, statutory)
        messages = self.messages(raw.get("message"), f"{where}.message")
        self.texts(raw, f"{where}.")
        source = raw.get("source")
        if statutory and not _cited(source):
            self.error(f"{where}.source", "every statutory rule must cite its legal source")
        if len(self.errors) > before or then is None:
            return None
        return Rule(id=rule_id, conditions=tuple(conditions), then=then, messages=messages,
                    source=source if isinstance(source, str) else None, index=index,
                    line=self.line_of(where))

    def condition(self, fact: str, raw: object, field: str) -> Condition | None:
        spec = ALL_FACTS.get(fact)
        if spec is None:
            self.error(field, f"unknown fact {fact!r} (see docs/policies.md for the facts)")
            return None
        if isinstance(raw, dict):
            items = list(raw.items())
            if not items:
                self.error(field, f"an empty table sets no condition on {fact}; give a value, "
                                  "a list, or comparisons such as { max = 60 }")
                return None
        elif isinstance(raw, list):
            items = [("in", raw)]
        else:
            items = [("eq", raw)]
        checks: list[Check] = []
        for name, value in items:
            op = _OPS.get(name)
            if op is None:
                self.error(f"{field}.{name}", f"unknown comparison {name!r}; use one of "
                                              f"{', '.join(_OPS)}")
                continue
            check = self.check(spec, op, value, f"{field}.{name}" if isinstance(raw, dict)
                               else field)
            if check is not None:
                checks.append(check)
        if not checks:
            return None
        return Condition(fact=fact, checks=tuple(checks), test=_compile_checks(fact, checks))

    def check(self, spec: FactSpec, op: Op, value: object, field: str) -> Check | None:
        kind = spec.kind
        fact = spec.name
        if op in ("null", "empty"):
            if not isinstance(value, bool):
                self.error(field, f"{op} takes true or false, got {value!r}")
                return None
            if op == "empty" and kind != "list":
                self.error(field, f"'empty' applies to lists; {fact} is {_article(kind)} {kind}")
                return None
            return Check(op, value)
        if kind == "list":
            if op not in ("any_of", "all_of", "none_of"):
                self.error(field, f"{fact} is a list: use any_of, all_of, none_of or empty")
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.error(field, f"{op} takes a list of names")
                return None
            return Check(op, frozenset(value))
        if op in ("any_of", "all_of", "none_of"):
            self.error(field, f"{op} applies to list facts; {fact} is {_article(kind)} {kind}")
            return None
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.error(field, f"{op} takes a non-empty list, got {value!r}")
                return None
            members: set[str] = set()
            for item in value:
                converted = self.constant(spec, item, field)
                if isinstance(converted, frozenset):
                    members |= converted
                elif isinstance(converted, str | bool | int):
                    members.add(cast(str, converted))
                elif converted is not None:
                    self.error(field, f"{op} cannot hold {item!r}")
            if spec.kind in ("int", "number", "datetime"):
                self.error(field, f"use ranges (min, max, gt, lt) for {fact}, not {op}")
                return None
            return Check(op, frozenset(members))
        if op in ("gt", "ge", "lt", "le") and kind not in ("int", "number", "datetime"):
            self.error(field, f"{fact} is {_article(kind)} {kind}: ranges apply to numbers and "
                              "dates only")
            return None
        converted = self.constant(spec, value, field)
        if converted is None:
            return None
        if isinstance(converted, frozenset):
            return Check("in" if op == "eq" else "not_in", converted)
        return Check(op, converted)

    def constant(self, spec: FactSpec, value: object, field: str) -> Constant:
        kind = spec.kind
        fact = spec.name
        if kind == "enum":
            if value not in spec.choices:
                self.error(field, f"unknown value {value!r} for {fact}; expected one of "
                                  f"{', '.join(spec.choices)}")
                return None
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                self.error(field, f"{fact} is true or false, got {value!r}")
                return None
            return value
        if kind in ("int", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.error(field, f"{fact} is a number, got {value!r}")
                return None
            return value
        if kind == "datetime":
            try:
                if isinstance(value, datetime):
                    return parse_datetime(fact, value)
                return parse_datetime(fact, value)
            except FactsError as exc:
                self.error(field, exc.message)
                return None
        if kind == "country":
            if isinstance(value, str) and value.startswith("@"):
                return self.country_list([value], field)
            if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}", value):
                self.error(field, f"{value!r} is not an ISO 3166-1 alpha-2 country code")
                return None
            return value
        if kind == "currency":
            if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
                self.error(field, f"{value!r} is not an ISO 4217 currency code")
                return None
            return value
        if not isinstance(value, str):
            self.error(field, f"{fact} is a string, got {value!r}")
            return None
        return value

    def expression(self, raw: object, field: str, expect: str) -> Expression | None:
        if isinstance(raw, int | float) and not isinstance(raw, bool) and expect == "number":
            if not math.isfinite(raw):
                self.error(field, f"expected a finite number, got {raw!r}")
                return None
            return number_expression(Decimal(str(raw)))
        if not isinstance(raw, str):
            self.error(field, f"expected an expression in quotes, got {raw!r}")
            return None
        try:
            return parse_expression(raw, expect="number" if expect == "number" else "bool")
        except ExpressionError as exc:
            self.error(field, f"in {raw!r}: {exc}")
            return None

    def whole(self, raw: Mapping[str, object], key: str, where: str, *, default: int | None,
              minimum: int = 0) -> int | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(f"{where}.{key}", f"{key} must be a whole number >= {minimum}, "
                                         f"got {value!r}")
            return None
        return value

    def amount(self, raw: Mapping[str, object], where: str, *, clamp: bool,
               default_full: bool) -> AmountSpec | None:
        """The amount formula: ``amount`` (expression or "full"), ``prorata``, ``percent``,
        ``fee``; composed as ``base × prorata × percent / 100 − fee``. With "full" and a prorata or
        percent, the base is the charge and what was already refunded is subtracted."""
        base: Expression | None
        amount = raw.get("amount")
        share_of_charge = False
        if amount == "full" or (amount is None and default_full):
            base = parse_expression("refundable_amount")
            if raw.get("prorata") is not None or raw.get("percent") is not None:
                # A share of the charge is what is owed in all; what was already refunded on
                # the charge counts towards it.
                base = parse_expression("amount")
                share_of_charge = True
        elif amount is None:
            self.error(f"{where}.amount", "an amount is required (an expression in minor units)")
            return None
        else:
            base = self.expression(amount, f"{where}.amount", "number")
        if base is None:
            return None
        prorata = raw.get("prorata")
        if prorata is not None:
            if prorata == "unused_time":
                base = combine("*", base, parse_expression("unused_time_fraction"))
            elif prorata == "unused_usage":
                base = combine("*", base, parse_expression("1 - usage_fraction"))
            elif prorata == "whole_months_unused":
                base = combine("*", base, parse_expression(
                    "whole_months_unused / max(1, months_in_period)"))
            else:
                self.error(f"{where}.prorata", f"unknown prorata {prorata!r}; use unused_time, "
                                               "unused_usage or whole_months_unused")
                return None
        percent = raw.get("percent")
        if percent is not None:
            if isinstance(percent, bool) or not isinstance(percent, int | float) \
                    or not 0 <= percent <= 100:
                self.error(f"{where}.percent", f"percent must be between 0 and 100, "
                                               f"got {percent!r}")
                return None
            base = combine("/", combine("*", base, number_expression(Decimal(str(percent)))),
                           number_expression(100))
        if share_of_charge:
            base = combine("-", base, parse_expression("already_refunded"))
        fee = raw.get("fee")
        if fee is not None:
            fee_expression = self.expression(fee, f"{where}.fee", "number")
            if fee_expression is None:
                return None
            base = combine("-", base, fee_expression)
        minimum = self.whole(raw, "min_amount", where, default=1, minimum=0)
        return AmountSpec(amount=base, min_amount=1 if minimum is None else max(minimum, 1),
                          clamp=clamp)

    def outcome(self, raw: Mapping[str, object], where: str, statutory: bool) -> OutcomeSpec | None:
        outcome = raw.get("then")
        if outcome not in OUTCOMES:
            self.error(f"{where}.then", f"then must be one of {', '.join(OUTCOMES)}, "
                                        f"got {outcome!r}")
            return None
        name: Outcome = outcome
        for key in sorted(set(raw) & _ALL_OUTCOME_KEYS - _OUTCOME_KEYS[name]):
            self.error(f"{where}.{key}", f"{key} does not apply to a {name} rule (it would be "
                                         "ignored)")
        if statutory and name != "refund":
            self.error(f"{where}.then", "statutory rules set a floor: their outcome is refund")
            return None
        if name in ("refund", "credit"):
            spec = self.amount(raw, where, clamp=True, default_full=True)
            return None if spec is None else OutcomeSpec(name, amount=spec)
        if name == "fee":
            spec = self.amount(raw, where, clamp=False, default_full=False)
            return None if spec is None else OutcomeSpec(name, amount=replace(spec, min_amount=1))
        if name == "deny":
            reason = raw.get("reason")
            if not isinstance(reason, str) or not _ID.match(reason):
                self.error(f"{where}.reason", "a deny rule needs a reason code such as "
                                              "'monthly_plans_not_refundable'")
                return None
            return OutcomeSpec(name, reason=reason)
        if name == "review":
            sla = self.whole(raw, "sla_days", where, default=14, minimum=1)
            documents = raw.get("documents_required", [])
            if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
                self.error(f"{where}.documents_required", "expected a list of document names")
                return None
            return OutcomeSpec(name, sla_days=sla or 14, documents_required=tuple(documents))
        if name == "troubleshoot_first":
            hours = self.whole(raw, "hours", where, default=None, minimum=1)
            if hours is None:
                if raw.get("hours") is None:
                    self.error(f"{where}.hours",
                               "troubleshoot_first needs hours (e.g. hours = 48)")
                return None
            return OutcomeSpec(name, hours=hours)
        if name == "redirect":
            to = raw.get("to")
            if to is not None and not isinstance(to, str):
                self.error(f"{where}.to", "to must be a channel name or be left out")
                return None
            return OutcomeSpec(name, to=to)
        return self.offer(raw, where)

    def offer(self, raw: Mapping[str, object], where: str) -> OutcomeSpec | None:
        choices_raw = raw.get("choices")
        if not isinstance(choices_raw, list) or not choices_raw:
            self.error(f"{where}.choices", "an offer needs a list of choices")
            return None
        choices: list[ChoiceSpec] = []
        for number, choice in enumerate(choices_raw, 1):
            field = f"{where}.choices"
            if not isinstance(choice, dict) or choice.get("kind") not in ("refund", "extension",
                                                                          "credit"):
                self.error(field, f"choice {number}: kind must be refund, extension or credit")
                continue
            kind = choice["kind"]
            if kind == "extension":
                days = self.expression(choice.get("days"), field, "number")
                bonus = self.expression(choice.get("bonus_days", 0), field, "number")
                if days is not None and bonus is not None:
                    choices.append(ChoiceSpec("extension", days=days, bonus_days=bonus))
            else:
                spec = self.amount(choice, field, clamp=True, default_full=True)
                if spec is not None:
                    choices.append(ChoiceSpec(kind, amount=spec))
        default = raw.get("default")
        kinds = {c.kind for c in choices}
        if default is not None and default not in kinds:
            self.error(f"{where}.default", f"default must be one of the offered kinds "
                                           f"({', '.join(sorted(kinds))}), got {default!r}")
        within = self.whole(raw, "respond_within_days", where, default=None, minimum=1)
        return OutcomeSpec("offer", choices=tuple(choices),
                           default_choice=default if isinstance(default, str) else None,
                           respond_within_days=within)

    def check_reachable(self, rules: list[Rule]) -> None:
        for position, rule in enumerate(rules):
            earlier = shadowing_rule(rules[:position], rule)
            if earlier is not None:
                self.error(f"rules[{rule.index}]",
                           f"rule {rule.id!r} can never match: rule {earlier.id!r} "
                           f"(rule {earlier.index}) always matches first")


def _cited(source: object) -> bool:
    """A legal source is given: missing or blank is not; a non-text is reported by ``texts``."""
    return not (source is None or (isinstance(source, str) and not source.strip()))


def _expression_test(expression: Expression) -> Test:
    def test(facts: Mapping[str, object]) -> bool:
        return expression.evaluate(facts) is True

    return test


_AMOUNT_KEYS = frozenset({"amount", "percent", "prorata", "fee", "min_amount"})
_OUTCOME_KEYS: dict[str, frozenset[str]] = {
    "refund": _AMOUNT_KEYS, "credit": _AMOUNT_KEYS,
    "fee": frozenset({"amount", "percent", "prorata", "fee"}),
    "deny": frozenset({"reason"}),
    "review": frozenset({"sla_days", "documents_required"}),
    "troubleshoot_first": frozenset({"hours"}),
    "offer": frozenset({"choices", "default", "respond_within_days"}),
    "redirect": frozenset({"to"}),
}
_ALL_OUTCOME_KEYS = frozenset().union(*_OUTCOME_KEYS.values())


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _compile_checks(fact: str, checks: list[Check]) -> Test:
    tests = [_compile_check(fact, check) for check in checks]
    if len(tests) == 1:
        return tests[0]
    return lambda facts: all(test(facts) for test in tests)


def _compile_check(fact: str, check: Check) -> Test:
    op, value = check.op, check.value
    if op == "null":
        return (lambda f: f[fact] is None) if value else (lambda f: f[fact] is not None)
    if op == "eq":
        return lambda f: f[fact] == value and f[fact] is not None
    if op == "ne":
        return lambda f: f[fact] is not None and f[fact] != value
    if op == "in":
        members = cast(frozenset[str], value)
        return lambda f: f[fact] in members
    if op == "not_in":
        excluded = cast(frozenset[str], value)
        return lambda f: f[fact] is not None and f[fact] not in excluded
    if op in ("any_of", "all_of", "none_of", "empty"):
        wanted = value if isinstance(value, frozenset) else frozenset()
        if op == "any_of":
            return lambda f: not wanted.isdisjoint(cast(tuple[str, ...], f[fact]))
        if op == "all_of":
            return lambda f: wanted.issubset(cast(tuple[str, ...], f[fact]))
        if op == "none_of":
            return lambda f: wanted.isdisjoint(cast(tuple[str, ...], f[fact]))
        return (lambda f: not f[fact]) if value else (lambda f: bool(f[fact]))
    bound = cast(float, value)
    if op == "gt":
        return lambda f: f[fact] is not None and cast(float, f[fact]) > bound
    if op == "ge":
        return lambda f: f[fact] is not None and cast(float, f[fact]) >= bound
    if op == "lt":
        return lambda f: f[fact] is not None and cast(float, f[fact]) < bound
    return lambda f: f[fact] is not None and cast(float, f[fact]) <= bound


def parse_policy(text: str, path: str = "<string>") -> Policy:
    """Validate a policy document given as text; raise ``PolicyErrors`` listing every problem."""
    return _Loader(text, path).load()


def load_policy(path: str | Path) -> Policy:
    """Read and validate the policy document at ``path`` (UTF-8 TOML)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyErrors([PolicyError(f"cannot read the file: {exc.strerror}", path=name)]) \
            from None
    except UnicodeDecodeError:
        raise PolicyErrors([PolicyError("the file is not UTF-8 text", path=name)]) from None
    return parse_policy(text, name)
