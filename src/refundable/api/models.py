"""Integrator API keys and stored idempotent responses."""

from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=128)  # sha256 of the secret
    scopes = models.JSONField(default=list)  # e.g. ["read", "write"]
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class IdempotencyRecord(models.Model):
    """Same key + same body → the same response; same key + another body → 409."""

    key = models.CharField(max_length=200)
    principal = models.CharField(max_length=120)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"],
                                               name="idempotency_key_per_principal")]
