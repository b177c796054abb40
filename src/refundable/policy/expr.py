"""A small arithmetic language for amounts and conditions, parsed here and never by ``eval``.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | "true" | "false" | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Functions: ``min``, ``max`` (two or more arguments), ``floor``, ``ceil``, ``abs``. Names are
facts (DESIGN.md) or derived facts. Numbers compute in ``Decimal``; a null fact or a division by
zero makes the result null, and a comparison with null is false. The same tree compiles to
Polars expressions in ``vector.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from .errors import ExpressionError
from .facts import ALL_FACTS

Type = Literal["number", "bool"]
Value = Decimal | bool | None
Scalar = Callable[[Mapping[str, object]], Value]

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op><=|>=|==|!=|[-+*/<>(),]))")
FUNCTIONS = {"min": (2, 99), "max": (2, 99), "floor": (1, 1), "ceil": (1, 1), "abs": (1, 1)}
_NUMERIC_KINDS = ("int", "number")


@dataclass(frozen=True, slots=True)
class Num:
    value: Decimal


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and / or
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Num | BoolLit | Name | Neg | Arith | Compare | Logic | Not | Call


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed, type-checked expression: its text, tree, type and scalar evaluator."""

    text: str
    tree: Node
    type: Type
    evaluate: Scalar

    def names(self) -> set[str]:
        return names_in(self.tree)


def names_in(node: Node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Neg | Not):
        return names_in(node.operand)
    if isinstance(node, Arith | Compare):
        return names_in(node.left) | names_in(node.right)
    if isinstance(node, Logic | Call):
        found: set[str] = set()
        for item in (node.items if isinstance(node, Logic) else node.args):
            found |= names_in(item)
        return found
    return set()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None:
                column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
                raise ExpressionError(f"unexpected character {text[column - 1]!r}", column)
            kind = match.lastgroup or "op"
            self.tokens.append((kind, match.group(kind), match.start(kind) + 1))
            pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, *values: str) -> str | None:
        token = self.peek()
        if token is not None and token[1] in values and (token[0] != "name" or values):
            self.index += 1
            return token[1]
        return None

    def expect(self, value: str) -> None:
        if self.take(value) is None:
            token = self.peek()
            where = token[2] if token else len(self.text) + 1
            found = repr(token[1]) if token else "the end"
            raise ExpressionError(f"expected {value!r}, found {found}", where)

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise ExpressionError(f"unexpected {token[1]!r}", token[2])
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.take("or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Logic("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.take("and"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else Logic("and", tuple(items))

    def parse_not(self) -> Node:
        if self.take("not"):
            return Not(self.parse_not())
        return self.parse_compare()

    def parse_compare(self) -> Node:
        left = self.parse_sum()
        op = self.take("<", "<=", ">", ">=", "==", "!=")
        if op is None:
            return left
        return Compare(op, left, self.parse_sum())

    def parse_sum(self) -> Node:
        node = self.parse_product()
        while (op := self.take("+", "-")) is not None:
            node = Arith(op, node, self.parse_product())
        return node

    def parse_product(self) -> Node:
        node = self.parse_unary()
        while (op := self.take("*", "/")) is not None:
            node = Arith(op, node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.take("-"):
            operand = self.parse_unary()
            if isinstance(operand, Num):
                return Num(-operand.value)
            return Neg(operand)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early", len(self.text) + 1)
        kind, value, column = token
        self.index += 1
        if kind == "num":
            return Num(Decimal(value))
        if kind == "name":
            if value in ("true", "false"):
                return BoolLit(value == "true")
            if value in ("and", "or", "not"):
                raise ExpressionError(f"unexpected {value!r}", column)
            if self.take("("):
                if value not in FUNCTIONS:
                    raise ExpressionError(
                        f"unknown function {value!r}; use one of {', '.join(FUNCTIONS)}", column)
                args = [self.parse_or()]
                while self.take(","):
                    args.append(self.parse_or())
                self.expect(")")
                low, high = FUNCTIONS[value]
                if not low <= len(args) <= high:
                    want = str(low) if low == high else f"at least {low}"
                    raise ExpressionError(f"{value}() takes {want} argument(s), got {len(args)}",
                                          column)
                return Call(value, tuple(args))
            if value not in ALL_FACTS:
                raise ExpressionError(f"unknown fact {value!r}", column)
            return Name(value)
        if value == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        raise ExpressionError(f"unexpected {value!r}", column)


def _type_of(node: Node) -> Type:
    """Check the tree; return its type. Facts must exist and be numbers or booleans."""
    if isinstance(node, Num):
        return "number"
    if isinstance(node, BoolLit):
        return "bool"
    if isinstance(node, Name):
        spec = ALL_FACTS.get(node.name)
        if spec is None:
            raise ExpressionError(f"unknown fact {node.name!r}")
        if spec.kind in _NUMERIC_KINDS:
            return "number"
        if spec.kind == "bool":
            return "bool"
        article = "an" if spec.kind[0] in "aeiou" else "a"
        raise ExpressionError(f"fact {node.name!r} is {article} {spec.kind}, not a number or a "
                              "boolean; "
                              "compare it in a 'when' table instead")
    if isinstance(node, Neg | Arith | Call):
        operands = (node.operand,) if isinstance(node, Neg) else (
            (node.left, node.right) if isinstance(node, Arith) else node.args)
        for operand in operands:
            if _type_of(operand) != "number":
                raise ExpressionError("arithmetic needs numbers, not a true/false value")
        return "number"
    if isinstance(node, Compare):
        left, right = _type_of(node.left), _type_of(node.right)
        if left != right:
            raise ExpressionError(f"cannot compare a {left} with a {right}")
        if left == "bool" and node.op not in ("==", "!="):
            raise ExpressionError(f"{node.op} needs numbers")
        return "bool"
    for item in (node.items if isinstance(node, Logic) else (node.operand,)):
        if _type_of(item) != "bool":
            raise ExpressionError("'and', 'or' and 'not' need true/false values")
    return "bool"


def _to_decimal(value: object) -> Decimal | bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"not a number: {value!r}")


def _compile(node: Node) -> Scalar:
    if isinstance(node, Num | BoolLit):
        constant = node.value
        return lambda facts: constant
    if isinstance(node, Name):
        name = node.name

        def fact(facts: Mapping[str, object]) -> Value:
            return _to_decimal(facts[name])

        return fact
    if isinstance(node, Neg):
        inner = _compile(node.operand)

        def negate(facts: Mapping[str, object]) -> Value:
            value = inner(facts)
            return -value if isinstance(value, Decimal) else None

        return negate
    if isinstance(node, Arith):
        return _compile_arith(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, Compare):
        return _compile_compare(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, Logic):
        items = tuple(_compile(item) for item in node.items)
        if node.op == "and":
            return lambda facts: all(item(facts) is True for item in items)
        return lambda facts: any(item(facts) is True for item in items)
    if isinstance(node, Not):
        inner_bool = _compile(node.operand)
        return lambda facts: inner_bool(facts) is not True
    args = tuple(_compile(arg) for arg in node.args)
    return _compile_call(node.function, args)


def _compile_arith(op: str, left: Scalar, right: Scalar) -> Scalar:
    def arith(facts: Mapping[str, object]) -> Value:
        a, b = left(facts), right(facts)
        if not isinstance(a, Decimal) or not isinstance(b, Decimal):
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b

    return arith


def _compile_compare(op: str, left: Scalar, right: Scalar) -> Scalar:
    def compare(facts: Mapping[str, object]) -> bool:
        a, b = left(facts), right(facts)
        if a is None or b is None:
            return False
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        assert isinstance(a, Decimal) and isinstance(b, Decimal)
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b

    return compare


def _compile_call(function: str, args: tuple[Scalar, ...]) -> Scalar:
    def call(facts: Mapping[str, object]) -> Value:
        values = [arg(facts) for arg in args]
        numbers = [v for v in values if isinstance(v, Decimal)]
        if len(numbers) != len(values):
            return None
        if function == "min":
            return min(numbers)
        if function == "max":
            return max(numbers)
        if function == "floor":
            return numbers[0].to_integral_value(rounding=ROUND_FLOOR)
        if function == "ceil":
            return numbers[0].to_integral_value(rounding=ROUND_CEILING)
        return abs(numbers[0])

    return call


def parse_expression(text: str, *, expect: Type | None = None) -> Expression:
    """Parse and type-check ``text``; raise ``ExpressionError`` naming what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression in a string, got {text!r}")
    tree = _Parser(text).parse()
    kind = _type_of(tree)
    if expect is not None and kind != expect:
        wanted = "a number" if expect == "number" else "a true/false condition"
        raise ExpressionError(f"expected {wanted}, but this expression gives a {kind}")
    return Expression(text, tree, kind, _compile(tree))


def number_expression(value: Decimal | int) -> Expression:
    """A constant expression (used when sugar like ``percent = 50`` is expanded)."""
    node = Num(Decimal(value))
    return Expression(str(value), node, "number", _compile(node))


def combine(op: str, left: Expression, right: Expression) -> Expression:
    """``left op right`` for arithmetic ops, keeping both trees (no re-parsing)."""
    node = Arith(op, left.tree, right.tree)
    return Expression(f"({left.text}) {op} ({right.text})", node, "number", _compile(node))
