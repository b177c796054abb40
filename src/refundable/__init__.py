"""Refundable: cancellations and refunds with a declarative policy engine and the law as a floor."""

__version__ = "0.1.0"
