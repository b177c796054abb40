"""What the portal itself records: sign-in links and the public forms' submissions.

Both are written only through ``portal.services``; each write has its audit event.
"""

from __future__ import annotations

from django.db import models


class SignInLink(models.Model):
    """A one-use e-mail sign-in link. The e-mailed token is signed and time-limited
    (``django.core.signing``); this row makes it one-use (``used_at``)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="sign_in_links")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class PublicRequest(models.Model):
    """A submission of a form that needs no account: "cancel my contract" (French L215-1-1,
    German §312k) or "re-send my activation key" (seed 001).

    Kept whether or not it matched anything: it is the durable record of the declaration
    (what was asked, when) that the acknowledgement page shows.
    """

    class Kind(models.TextChoices):
        CANCELLATION = "cancellation"
        ACTIVATION_KEY = "activation_key"

    class Result(models.TextChoices):
        CANCELED = "canceled"            # cancelled now
        SCHEDULED = "scheduled"          # cancelled at the term end
        SENT = "sent"                    # activation key e-mailed
        NO_MATCH = "no_match"            # nothing matched: nothing done, nothing revealed
        NOT_ALLOWED = "not_allowed"      # matched, but the state does not allow it

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    reference = models.CharField(max_length=60, blank=True)  # contract or invoice number
    desired = models.CharField(max_length=20, blank=True)  # "now" or "term_end"
    created_at = models.DateTimeField()
    result = models.CharField(max_length=20, choices=Result.choices)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
