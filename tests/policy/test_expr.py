"""The expression language: parsing, type checking and scalar evaluation (never ``eval``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refundable.policy.errors import ExpressionError
from refundable.policy.expr import (
    Arith,
    BoolLit,
    Call,
    Compare,
    Logic,
    Name,
    Neg,
    Not,
    Num,
    combine,
    names_in,
    number_expression,
    parse_expression,
)

# Facts as the engine hands them to expressions (parsed and derived); only the names used here.
FACTS: dict[str, object] = {
    "amount": 8999,
    "already_refunded": 999,
    "refundable_amount": 8000,
    "usage_fraction": 0.25,
    "days_since_purchase": 12,
    "hours_since_purchase": 290.5,
    "outage_hours": 0.0,
    "uptime_percent": None,
    "is_renewal": False,
    "first_purchase": True,
    "renewal_notice_sent": None,
    "consumer": True,
    "prior_refunds": 0,
    "instalments_remaining": 3,
    "whole_months_unused": 9,
    "months_in_period": 12,
    "days_until_period_end": None,
}


def value(text: str, facts: dict[str, object] | None = None) -> object:
    return parse_expression(text).evaluate(FACTS if facts is None else facts)


# -- parsing: the tree ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tree"), [
    ("1", Num(Decimal(1))),
    ("12.50", Num(Decimal("12.50"))),
    ("true", BoolLit(True)),
    ("false", BoolLit(False)),
    ("amount", Name("amount")),
    ("1 + 2 * 3", Arith("+", Num(Decimal(1)), Arith("*", Num(Decimal(2)), Num(Decimal(3))))),
    ("(1 + 2) * 3", Arith("*", Arith("+", Num(Decimal(1)), Num(Decimal(2))), Num(Decimal(3)))),
    # left-associative: (10 - 4) - 3 and (8 / 4) / 2
    ("10 - 4 - 3", Arith("-", Arith("-", Num(Decimal(10)), Num(Decimal(4))), Num(Decimal(3)))),
    ("8 / 4 / 2", Arith("/", Arith("/", Num(Decimal(8)), Num(Decimal(4))), Num(Decimal(2)))),
    ("-2", Num(Decimal(-2))),
    ("-amount", Neg(Name("amount"))),
    ("--amount", Neg(Neg(Name("amount")))),
    ("-2 * 3", Arith("*", Num(Decimal(-2)), Num(Decimal(3)))),
    ("2 - -3", Arith("-", Num(Decimal(2)), Num(Decimal(-3)))),
    ("min(1, 2, 3)", Call("min", (Num(Decimal(1)), Num(Decimal(2)), Num(Decimal(3))))),
    ("amount <= 5", Compare("<=", Name("amount"), Num(Decimal(5)))),
    ("1 + 1 == 2", Compare("==", Arith("+", Num(Decimal(1)), Num(Decimal(1))), Num(Decimal(2)))),
    ("not true and false", Logic("and", (Not(BoolLit(True)), BoolLit(False)))),
    ("true or false and false",
     Logic("or", (BoolLit(True), Logic("and", (BoolLit(False), BoolLit(False)))))),
    ("true and true and false", Logic("and", (BoolLit(True), BoolLit(True), BoolLit(False)))),
    ("not amount > 1", Not(Compare(">", Name("amount"), Num(Decimal(1))))),
    ("  amount\t+\n1 ", Arith("+", Name("amount"), Num(Decimal(1)))),
])
def test_parse_tree(text: str, tree: object) -> None:
    assert parse_expression(text).tree == tree


@pytest.mark.parametrize(("text", "kind"), [
    ("1", "number"),
    ("amount * 2", "number"),
    ("floor(usage_fraction)", "number"),
    ("true", "bool"),
    ("is_renewal", "bool"),
    ("amount > 1", "bool"),
    ("is_renewal == first_purchase", "bool"),
    ("not consumer or amount < 10", "bool"),
])
def test_types(text: str, kind: str) -> None:
    assert parse_expression(text).type == kind


def test_names() -> None:
    expression = parse_expression("min(amount, refundable_amount) * (1 - usage_fraction) "
                                  "> 0 and not is_renewal")
    assert expression.names() == {"amount", "refundable_amount", "usage_fraction", "is_renewal"}
    assert names_in(Num(Decimal(1))) == set()


# -- evaluation ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", Decimal(7)),
    ("(1 + 2) * 3", Decimal(9)),
    ("10 - 4 - 3", Decimal(3)),
    ("8 / 4 / 2", Decimal(1)),
    ("2 * 3 - 4 / 2", Decimal(4)),
    ("-2 * 3", Decimal(-6)),
    ("-(2 + 3)", Decimal(-5)),
    ("2 - -3", Decimal(5)),
    ("--4", Decimal(4)),
    ("-amount + 1", Decimal(-8998)),
    ("amount - already_refunded", Decimal(8000)),
    ("amount * (1 - usage_fraction)", Decimal("6749.25")),
    ("refundable_amount * whole_months_unused / months_in_period", Decimal(6000)),
    ("min(3, 1, 2)", Decimal(1)),
    ("max(3, 1, 2, 7, 5)", Decimal(7)),
    ("min(amount, 5000)", Decimal(5000)),
    ("max(-1, -2)", Decimal(-1)),
    ("floor(2.7)", Decimal(2)),
    ("floor(-2.2)", Decimal(-3)),
    ("ceil(2.2)", Decimal(3)),
    ("ceil(-2.7)", Decimal(-2)),
    ("floor(5)", Decimal(5)),
    ("abs(-3.5)", Decimal("3.5")),
    ("abs(2)", Decimal(2)),
    ("floor(amount / 3)", Decimal(2999)),
    ("max(0, min(amount, 100 * days_since_purchase))", Decimal(1200)),
    ("1 / 4", Decimal("0.25")),
])
def test_arithmetic(text: str, expected: Decimal) -> None:
    result = value(text)
    assert isinstance(result, Decimal)
    assert result == expected


def test_decimal_is_exact() -> None:
    result = value("0.1 + 0.2")
    assert isinstance(result, Decimal)
    assert result == Decimal("0.3")
    assert value("0.1 + 0.2 == 0.3") is True
    # a float fact is read through its shortest repr, not its binary expansion
    assert value("usage_fraction * 4 == 1", {**FACTS, "usage_fraction": 0.25}) is True
    assert value("usage_fraction + 0.2 == 0.3", {**FACTS, "usage_fraction": 0.1}) is True


def test_whole_numbers_stay_exact() -> None:
    result = value("amount * 3 / 3")
    assert result == Decimal(8999)
    assert value("10 / 3 * 3") == Decimal("9.999999999999999999999999999")


@pytest.mark.parametrize(("text", "expected"), [
    ("1 < 2", True), ("2 < 2", False), ("2 <= 2", True), ("3 <= 2", False),
    ("3 > 2", True), ("2 > 2", False), ("2 >= 2", True), ("1 >= 2", False),
    ("2 == 2.0", True), ("2 == 3", False), ("2 != 3", True), ("2 != 2", False),
    ("days_since_purchase <= 60", True), ("days_since_purchase > 12", False),
    ("true == true", True), ("true != false", True), ("is_renewal == false", True),
    ("true and false", False), ("true and true", True), ("false or true", True),
    ("false or false", False), ("not false", True), ("not true", False),
    ("not not true", True),
    ("true or false and false", True),  # and binds tighter than or
    ("(true or false) and false", False),
    ("not true or true", True),  # not binds tighter than or
    ("not (true or true)", False),
    ("first_purchase and days_since_purchase < 30", True),
    ("is_renewal or amount > 10000", False),
    ("amount > 100 and amount < 10000 and not is_renewal", True),
])
def test_conditions(text: str, expected: bool) -> None:
    assert value(text) is expected


@pytest.mark.parametrize("text", [
    "uptime_percent",
    "uptime_percent + 1",
    "1 - uptime_percent",
    "uptime_percent * 0",
    "uptime_percent / 2",
    "-uptime_percent",
    "min(uptime_percent, 1)",
    "max(1, 2, uptime_percent)",
    "floor(uptime_percent)",
    "ceil(uptime_percent)",
    "abs(uptime_percent)",
    "days_until_period_end * 2",
    "renewal_notice_sent",
])
def test_null_propagates(text: str) -> None:
    assert value(text) is None


@pytest.mark.parametrize("text", [
    "1 / 0",
    "amount / 0",
    "amount / (days_since_purchase - 12)",
    "0 / 0",
    "floor(1 / 0) + 1",
    "min(1, 1 / 0)",
])
def test_division_by_zero_is_null(text: str) -> None:
    assert value(text) is None


@pytest.mark.parametrize("text", [
    "uptime_percent < 99.9",
    "uptime_percent >= 99.9",
    "uptime_percent == 1",
    "uptime_percent != 1",
    "uptime_percent == uptime_percent",
    "1 / 0 == 1 / 0",
    "amount / 0 > 0",
    "renewal_notice_sent == true",
    "renewal_notice_sent == false",
    "renewal_notice_sent != true",
    "uptime_percent < 99.9 and true",
    "uptime_percent < 99.9 or false",
    "renewal_notice_sent and true",
])
def test_comparisons_with_null_are_false(text: str) -> None:
    assert value(text) is False


def test_null_fact_in_or_does_not_hide_a_true_side() -> None:
    assert value("uptime_percent < 99.9 or amount > 1") is True


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fragment", "column"), [
    ("1 +", "ends too early", 4),
    ("amount $ 2", "'$'", 8),
    ("(1 + 2", "expected ')'", 7),
    ("1 + 2)", "unexpected ')'", 6),
    ("1 2", "unexpected '2'", 3),
    ("amount = 1", "'='", 8),
    ("1 < 2 < 3", "unexpected '<'", 7),
    ("and true", "unexpected 'and'", 1),
    ("foo(1)", "unknown function 'foo'", 1),
    ("min(1)", "min() takes at least 2", 1),
    ("floor(1, 2)", "floor() takes 1", 1),
    ("abs()", "unexpected ')'", 5),
    ("max(1,)", "unexpected ')'", 7),
    ("1.", "'.'", 2),
    ("'x'", "\"'\"", 1),
    ("__import__('os')", "\"'\"", 12),
    ("amount.__class__", "'.'", 7),
    ("amount[0]", "'['", 7),
    ("lambda: 1", "':'", 7),
    ("days_since_purchase ** 2", "unexpected '*'", 22),
    ("nope + 1", "unknown fact 'nope'", 1),
    ("amount + nope", "unknown fact 'nope'", 10),
])
def test_syntax_errors_have_a_column(text: str, fragment: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert fragment in caught.value.message
    assert caught.value.column == column
    assert f"(at character {column})" in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_expression(text: str) -> None:
    with pytest.raises(ExpressionError, match="empty expression"):
        parse_expression(text)


@pytest.mark.parametrize(("text", "fragment"), [
    ("amount + true", "arithmetic needs numbers"),
    ("-is_renewal", "arithmetic needs numbers"),
    ("is_renewal * 2", "arithmetic needs numbers"),
    ("min(is_renewal, 1)", "arithmetic needs numbers"),
    ("floor(amount > 1)", "arithmetic needs numbers"),
    ("amount and true", "'and', 'or' and 'not' need true/false values"),
    ("not amount", "'and', 'or' and 'not' need true/false values"),
    ("true or 1", "'and', 'or' and 'not' need true/false values"),
    ("amount == true", "cannot compare a number with a bool"),
    ("true < false", "< needs numbers"),
    ("plan_period == 1", "fact 'plan_period' is an enum"),
    ("purchased_at > 0", "fact 'purchased_at' is a datetime"),
    ("documents", "fact 'documents' is a list"),
])
def test_type_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert fragment in caught.value.message


@pytest.mark.parametrize(("text", "expect", "fragment"), [
    ("amount > 1", "number", "expected a number, but this expression gives a bool"),
    ("amount", "bool", "expected a true/false condition, but this expression gives a number"),
])
def test_expected_type(text: str, expect: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        parse_expression(text, expect=expect)  # type: ignore[arg-type]
    assert parse_expression(text).type != expect


def test_not_a_string() -> None:
    with pytest.raises(ExpressionError, match="expected an expression in a string"):
        parse_expression(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "__import__",
    "amount.__class__",
    "().__class__.__bases__",
    "open('/etc/passwd')",
    "exec('1')",
    "eval('1')",
    "print(1)",
    "amount if true else 0",
    "[1, 2]",
    "1; 2",
    "True",
    "None",
])
def test_python_is_not_evaluated(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> object:
        raise AssertionError("eval/exec must never be called")

    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr("builtins.exec", forbidden)
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_evaluation_uses_only_the_facts_named() -> None:
    expression = parse_expression("amount * 2")
    assert expression.evaluate({"amount": 5}) == Decimal(10)
    with pytest.raises(KeyError):
        expression.evaluate({})


# -- helpers used by policy documents --------------------------------------------------------------

def test_number_expression() -> None:
    expression = number_expression(50)
    assert expression.type == "number"
    assert expression.tree == Num(Decimal(50))
    assert expression.evaluate({}) == Decimal(50)
    assert number_expression(Decimal("12.5")).evaluate({}) == Decimal("12.5")


def test_combine_keeps_both_trees() -> None:
    left = parse_expression("amount")
    right = parse_expression("1 - usage_fraction")
    product = combine("*", left, right)
    assert product.tree == Arith("*", left.tree, right.tree)
    assert product.type == "number"
    assert product.text == "(amount) * (1 - usage_fraction)"
    assert product.evaluate(FACTS) == Decimal("6749.25")
    assert combine("/", left, number_expression(0)).evaluate(FACTS) is None
    assert combine("-", left, parse_expression("uptime_percent")).evaluate(FACTS) is None
