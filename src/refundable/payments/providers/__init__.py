"""Payment providers behind one interface (``base.Provider``), chosen per charge."""

from __future__ import annotations

from django.conf import settings

from .base import Provider, ProviderError


def provider_named(name: str) -> Provider:
    """The configured provider called ``name`` (sandbox, stripe, manual)."""
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider()
    if name == "manual":
        from .manual import ManualProvider

        return ManualProvider()
    if name == "stripe":
        from .stripe import StripeProvider

        if not settings.REFUNDABLE_STRIPE_API_KEY:
            raise ProviderError("Stripe is not configured: set REFUNDABLE_STRIPE_API_KEY and "
                                "REFUNDABLE_STRIPE_WEBHOOK_SECRET")
        return StripeProvider(api_key=settings.REFUNDABLE_STRIPE_API_KEY,
                              webhook_secret=settings.REFUNDABLE_STRIPE_WEBHOOK_SECRET)
    raise ProviderError(f"unknown payment provider {name!r} (sandbox, stripe or manual)")


def provider_for_charge(*, payment_method: str, provider: str) -> str:
    """Which provider refunds a charge: cards go back through the provider that captured
    them; PayPal and bank transfers are refunded by hand (``manual``)."""
    if payment_method in ("paypal", "bank"):
        return "manual"
    return provider
