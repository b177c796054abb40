"""Errors of refund requests (messages for people)."""

from __future__ import annotations


class RefundRequestError(Exception):
    """A change that is not allowed now (message for people)."""


class AttachmentError(RefundRequestError):
    """A file refused: wrong type, too large, or the review has ended."""
