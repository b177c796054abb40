"""Money in integer minor units: exponents, half-even rounding and customer-facing formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refundable.policy.money import exponent, format_money, round_minor

NBSP = "\u00a0"  # between the number and the currency symbol in French
NNBSP = "\u202f"  # French thousands separator


@pytest.mark.parametrize(("currency", "digits"), [
    ("EUR", 2), ("USD", 2), ("GBP", 2), ("eur", 2), ("JPY", 0), ("jpy", 0), ("KRW", 0),
    ("KWD", 3), ("BHD", 3), ("XYZ", 2),
])
def test_exponent(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize(("value", "expected"), [
    ("2.5", 2), ("3.5", 4), ("0.5", 0), ("1.5", 2), ("-2.5", -2), ("-3.5", -4),
    ("2.4999", 2), ("2.5001", 3), ("8999", 8999), ("6749.25", 6749), ("6749.75", 6750),
    ("0", 0), ("-0.4", 0),
])
def test_round_minor_half_even(value: str, expected: int) -> None:
    result = round_minor(Decimal(value))
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (8999, "EUR", "€89.99"),
    (5, "EUR", "€0.05"),
    (0, "EUR", "€0.00"),
    (100, "USD", "$1.00"),
    (123456789, "USD", "$1,234,567.89"),
    (1999, "GBP", "£19.99"),
    (1000, "JPY", "¥1,000"),
    (7, "JPY", "¥7"),
    (1234, "KWD", "1.234 KWD"),
    (8999, "CHF", "89.99 CHF"),
    (8999, "SEK", "89.99 SEK"),
    (8999, "eur", "€89.99"),
    (-8999, "EUR", "-€89.99"),
    (-1000, "JPY", "-¥1,000"),
    (-5, "USD", "-$0.05"),
])
def test_format_money_english(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency, "en") == expected


def test_english_is_the_default() -> None:
    assert format_money(8999, "EUR") == format_money(8999, "EUR", "en") == "€89.99"


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (8999, "EUR", f"89,99{NBSP}€"),
    (5, "EUR", f"0,05{NBSP}€"),
    (123456789, "EUR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
    (1000, "JPY", f"1{NNBSP}000{NBSP}¥"),
    (7, "JPY", f"7{NBSP}¥"),
    (1234, "KWD", f"1,234{NBSP}KWD"),
    (8999, "CHF", f"89,99{NBSP}CHF"),
    (-8999, "EUR", f"-89,99{NBSP}€"),
    (-123456, "JPY", f"-123{NNBSP}456{NBSP}¥"),
])
def test_format_money_french(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency, "fr") == expected


def test_no_float_rounding_on_large_amounts() -> None:
    # 2**53 + 1 is not representable as a float; the formatted text must still be exact.
    amount = 2**53 + 1
    assert format_money(amount, "EUR", "en") == "€90,071,992,547,409.93"
    assert format_money(amount, "JPY", "en") == "¥9,007,199,254,740,993"
