"""State changes around orders: re-sending an activation key (seed 001).

Each function runs in one transaction, writes its audit event and enqueues e-mail on commit.
"""

from __future__ import annotations

from django.db import transaction

from ..audit.services import Actor, audit_record
from ..notifications.services import email_enqueue
from .models import ActivationKey


def activation_key_resend(*, actor: Actor, activation_key_id: int, note: str = "") -> ActivationKey:
    """E-mail the activation key to the subscription's customer, in their language.

    The e-mail (« Votre clé d'activation … ») goes to the address of the account, never to an
    address given in a form; the job reloads the key so the queue never stores it.
    """
    with transaction.atomic():
        key = ActivationKey.objects.select_related("subscription__customer").get(
            pk=activation_key_id)
        customer = key.subscription.customer
        audit_record(actor=actor, action="activation_key.resend", obj=key,
                     customer_id=customer.pk, note=note)
        email_enqueue(template="activation_key", to=customer.email, language=customer.locale,
                      context={"activation_key_id": key.pk})
    return key
