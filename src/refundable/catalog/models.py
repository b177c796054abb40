"""What the business sells: products and their plans, each governed by a refund policy."""

from __future__ import annotations

from django.db import models

PERIODS = [("week", "week"), ("month", "month"), ("quarter", "quarter"), ("year", "year"),
           ("lifetime", "lifetime")]


class Product(models.Model):
    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    # Expected arrival of card refunds, business days (seed 003: 5–7; seed 004: 20–31, up to 90).
    refund_days_min = models.PositiveSmallIntegerField(default=5)
    refund_days_max = models.PositiveSmallIntegerField(default=7)

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    period = models.CharField(max_length=10, choices=PERIODS)
    price = models.PositiveIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3, default="EUR")
    policy_file = models.CharField(max_length=200, help_text="file under the policy directory")

    def __str__(self) -> str:
        return self.name
