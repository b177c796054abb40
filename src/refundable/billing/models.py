"""Orders, the charges that paid them, invoices and activation keys."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="orders")
    subscription = models.ForeignKey("subscriptions.Subscription", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="orders")
    order_number = models.CharField(max_length=40, unique=True)
    invoice_number = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.order_number


class Charge(models.Model):
    PAYMENT_METHODS = [("card", "card"), ("paypal", "PayPal"), ("bank", "bank transfer"),
                       ("store", "app store"), ("other", "other")]
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="charges")
    customer_id_copy = models.BigIntegerField(db_index=True)  # distribution key (see DESIGN)
    amount = models.PositiveIntegerField(help_text="captured, minor units")
    currency = models.CharField(max_length=3)
    refunded_amount = models.PositiveIntegerField(default=0)
    # Refunds approved and on their way (payments.Refund pending or unknown): reserved so that
    # refunded + pending never exceeds what was captured, whatever runs at the same time.
    pending_amount = models.PositiveIntegerField(default=0)
    payment_method = models.CharField(max_length=10, choices=PAYMENT_METHODS, default="card")
    provider = models.CharField(max_length=20, default="sandbox")
    provider_reference = models.CharField(max_length=100, blank=True)
    captured_at = models.DateTimeField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(null=True, blank=True)
    is_renewal = models.BooleanField(default=False)

    class Meta:
        ordering = ["-captured_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("amount")),
                name="charge_refunded_not_above_captured"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("amount")
                                   - models.F("pending_amount")),
                name="charge_refunded_and_pending_not_above_captured"),
        ]

    @property
    def refundable_amount(self) -> int:
        """Captured − refunded − pending (minor units). Read it under the charge's row lock
        before reserving."""
        return self.amount - self.refunded_amount - self.pending_amount

    @property
    def reference(self) -> str:
        """How the provider knows this charge."""
        return self.provider_reference or f"sb_ch_{self.pk}"


class ActivationKey(models.Model):
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE,
                                     related_name="activation_keys")
    holder_name = models.CharField(max_length=200)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
