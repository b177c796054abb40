"""Customers of the subscription business, and the staff profile of agents and operators."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="customer")
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    locale = models.CharField(max_length=5, choices=[("en", "English"), ("fr", "Français")],
                              default="en")
    country = models.CharField(max_length=2)  # ISO 3166-1 alpha-2
    consumer = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class StaffProfile(models.Model):
    """An agent or operator: the desk teams they belong to."""

    ROLES = [("agent", "Agent"), ("operator", "Operator")]
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff_profile")
    role = models.CharField(max_length=20, choices=ROLES, default="agent")
    teams = models.ManyToManyField("desk.Team", blank=True, related_name="members")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"
