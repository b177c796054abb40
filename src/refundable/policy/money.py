"""Money in integer minor units, formatted for customers in French and English."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor-unit exponents that differ from 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0,
    "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0,
    "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
_SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF",
                            "CAD": "CA$"}


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (2 for EUR, 0 for JPY)."""
    return _EXPONENTS.get(currency.upper(), 2)


def round_minor(value: Decimal) -> int:
    """Round a Decimal amount in minor units to an integer, half to even (done once, at the end)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_money(amount: int, currency: str, language: str = "en") -> str:
    """``8999, "EUR"`` → ``€89.99`` (en) or ``89,99 €`` (fr)."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exp) if exp else (abs(amount), 0)
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    if language == "fr":
        whole = f"{units:,}".replace(",", "\u202f")
        number = f"{whole},{minor:0{exp}d}" if exp else whole
        return f"{sign}{number}\u00a0{symbol}"
    whole = f"{units:,}"
    number = f"{whole}.{minor:0{exp}d}" if exp else whole
    if len(symbol) == 1:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {symbol}"
