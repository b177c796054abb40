"""PayPal and bank transfers: refunds an agent makes by hand and then marks as sent.

``refund_create`` moves nothing: it answers ``pending`` and the refund waits in the desk until
an agent records the reference of the transfer (``payments.services.refund_mark_sent``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import ProviderEvent, ProviderRefund, WebhookSignatureError


class ManualProvider:
    name = "manual"

    def refund_create(self, *, refund_id: str, charge_reference: str, amount: int,
                      currency: str, metadata: Mapping[str, str]) -> ProviderRefund:
        return ProviderRefund(provider_refund_id=f"manual_{refund_id}",
                              charge_reference=charge_reference, amount=amount,
                              currency=currency, status="pending", refund_id=refund_id)

    def refund_find(self, *, refund_id: str, provider_refund_id: str,
                    charge_reference: str) -> ProviderRefund | None:
        return None  # only the agent knows; the reconciler leaves manual refunds alone

    def webhook_parse(self, *, payload: bytes, headers: Mapping[str, str]
                      ) -> list[ProviderEvent]:
        raise WebhookSignatureError("manual refunds have no webhooks")
