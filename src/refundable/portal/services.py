"""State changes the portal makes: e-mail sign-in links, the two forms that need no account
("cancel my contract", "re-send my activation key"), and a refund request submitted with its
supporting document.

Each runs in one transaction with its audit event; e-mails are enqueued on commit. The public
forms never reveal whether something matched: the caller shows the same answer either way.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record
from ..billing.services import activation_key_resend
from ..customers.models import Customer
from ..notifications.services import email_enqueue
from ..refunds.attachments import attachment_add
from ..refunds.models import RefundRequest
from ..refunds.services import refund_request_create
from ..subscriptions.selectors import subscription_by_reference
from ..subscriptions.services import SubscriptionError, subscription_cancel
from .models import PublicRequest, SignInLink
from .selectors import activation_key_matching

SIGN_IN_SALT = "refundable.portal.sign-in-link"
ACKNOWLEDGEMENT_SALT = "refundable.portal.public-request"


class SignInLinkError(Exception):
    """The link is invalid, expired or already used (message for people)."""


# -- sign-in by e-mail link --------------------------------------------------------------------

def sign_in_token(link: SignInLink) -> str:
    """The signed, timestamped token of ``link`` (checked by ``sign_in_link_use``)."""
    return signing.dumps(link.nonce, salt=SIGN_IN_SALT)


def sign_in_link_send(*, actor: Actor, email: str,
                      now: datetime | None = None) -> SignInLink | None:
    """E-mail a one-use sign-in link to the customer with this address, if there is one.

    Returns None when no customer has it; the caller answers the same either way.
    """
    now = now or timezone.now()
    customer = Customer.objects.filter(email__iexact=email.strip()).first()
    if customer is None:
        return None
    with transaction.atomic():
        link = SignInLink.objects.create(customer=customer, nonce=secrets.token_urlsafe(32),
                                         created_at=now)
        audit_record(actor=actor, action="sign_in_link.send", obj=link,
                     customer_id=customer.pk)
        email_enqueue(template="sign_in_link", to=customer.email, language=customer.locale,
                      context={"link_id": link.pk})
    return link


def _user_for(customer: Customer) -> User:
    """The customer's sign-in user, created (without a usable password) on first link use."""
    if customer.user is not None:
        return customer.user
    model = get_user_model()
    username = customer.email if not model.objects.filter(username=customer.email).exists() \
        else f"customer-{customer.pk}"
    user = model(username=username, email=customer.email)
    user.set_unusable_password()
    user.save()
    customer.user = user
    customer.save(update_fields=["user"])
    return user


def sign_in_link_use(*, actor: Actor, token: str, now: datetime | None = None) -> User:
    """Check ``token`` (signature, age) and spend its link; the user to sign in.

    Raises ``SignInLinkError`` if the token is forged, expired or already used.
    """
    max_age = settings.REFUNDABLE_SIGN_IN_LINK_MAX_AGE
    try:
        nonce = signing.loads(token, salt=SIGN_IN_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise SignInLinkError("expired") from error
    except signing.BadSignature as error:
        raise SignInLinkError("invalid") from error
    now = now or timezone.now()
    with transaction.atomic():
        link = SignInLink.objects.select_for_update(of=("self",)).select_related(
            "customer__user").filter(nonce=nonce).first()
        if link is None:
            raise SignInLinkError("invalid")
        if link.used_at is not None:
            raise SignInLinkError("used")
        if link.created_at + timedelta(seconds=max_age) < now:
            raise SignInLinkError("expired")
        link.used_at = now
        link.save(update_fields=["used_at"])
        user = _user_for(link.customer)
        audit_record(actor=Actor("customer", str(link.customer_id), user),
                     action="sign_in_link.use", obj=link, customer_id=link.customer_id,
                     after={"used_at": now.isoformat()}, note=actor.label)
    return user


# -- the public forms --------------------------------------------------------------------------

def acknowledgement_token(request: PublicRequest) -> str:
    return signing.dumps(request.pk, salt=ACKNOWLEDGEMENT_SALT)


def acknowledgement_request(token: str, max_age: int = 90 * 24 * 3600) -> PublicRequest | None:
    """The submission behind an acknowledgement link, or None (forged, too old)."""
    try:
        pk = signing.loads(token, salt=ACKNOWLEDGEMENT_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return PublicRequest.objects.filter(pk=pk).first()


def public_cancellation_submit(*, actor: Actor, name: str, email: str, reference: str,
                               when: str, now: datetime | None = None) -> PublicRequest:
    """The "cancel my contract" form (no account needed).

    When the contract reference and the e-mail both match, the subscription is cancelled
    ``now`` or at the ``term_end`` through ``subscription_cancel`` (which e-mails the
    confirmation to the account's address). Otherwise nothing is cancelled. Either way the
    submission is kept and audited, and the caller shows the same acknowledgement.
    """
    if when not in ("now", "term_end"):
        raise ValueError(f"when must be 'now' or 'term_end', not {when!r}")
    now = now or timezone.now()
    with transaction.atomic():
        subscription = subscription_by_reference(reference=reference, email=email)
        result = PublicRequest.Result.NO_MATCH
        note = "no contract matches this reference and e-mail"
        if subscription is not None:
            try:
                cancelled = subscription_cancel(
                    actor=actor, subscription_id=subscription.pk, when=when, now=now,
                    reason="public cancellation form")
            except SubscriptionError as error:
                result, note = PublicRequest.Result.NOT_ALLOWED, str(error)
            else:
                result = (PublicRequest.Result.SCHEDULED if cancelled.status == "cancel_scheduled"
                          else PublicRequest.Result.CANCELED)
                note = f"subscription {cancelled.reference} {cancelled.status}"
        submission = PublicRequest.objects.create(
            kind=PublicRequest.Kind.CANCELLATION, name=name[:200], email=email[:254],
            reference=reference[:60], desired=when, created_at=now, result=result,
            customer_id=subscription.customer_id if subscription else None)
        audit_record(actor=actor, action="public_request.cancellation", obj=submission,
                     customer_id=submission.customer_id,
                     after={"result": result, "desired": when}, note=note)
    return submission


def activation_key_request_submit(*, actor: Actor, holder_name: str, invoice_number: str,
                                  now: datetime | None = None) -> PublicRequest:
    """Re-send the activation key when the holder name and the invoice number match an order
    of a subscription that has one (seed 001); the key goes to the account's e-mail address.
    Nothing is sent otherwise. Either way the submission is kept and audited."""
    now = now or timezone.now()
    with transaction.atomic():
        key = activation_key_matching(holder_name=holder_name, invoice_number=invoice_number)
        customer_id = key.subscription.customer_id if key else None
        submission = PublicRequest.objects.create(
            kind=PublicRequest.Kind.ACTIVATION_KEY, name=holder_name[:200],
            reference=invoice_number[:60], created_at=now, customer_id=customer_id,
            result=PublicRequest.Result.SENT if key else PublicRequest.Result.NO_MATCH)
        if key is not None:
            activation_key_resend(actor=actor, activation_key_id=key.pk,
                                  note=f"public request #{submission.pk}")
        audit_record(actor=actor, action="public_request.activation_key", obj=submission,
                     customer_id=customer_id, after={"result": submission.result},
                     note="sent" if key else "no order matches this holder name and invoice")
    return submission


# -- refund requests ---------------------------------------------------------------------------

# A request in one of these has its decision: a document given now would serve no review (and a
# confidential one would have to be deleted at once, seed 002), so it is not stored.
DECIDED_STATUSES = (RefundRequest.Status.APPROVED, RefundRequest.Status.DENIED,
                    RefundRequest.Status.CLOSED, RefundRequest.Status.REDIRECTED)


def refund_request_submit(*, actor: Actor, customer_id: int, charge_id: int, reason: str,
                          description: str = "", document: File[Any] | None = None,
                          document_kind: str = "") -> RefundRequest:
    """The portal's refund form: ``refunds.services.refund_request_create`` (channel ``web``),
    then the supporting ``document`` if one was given, in one transaction.

    The document's kind is given to the policy as a fact (seed 002: a special-circumstances
    request with a death or medical certificate goes to review without asking for one). When
    the policy has already decided for good (approved at once, denied, redirected), the document
    is not stored. An ``AttachmentError`` (type, size) undoes the whole submission, so the
    customer can correct the file and submit again; ``FactsError`` and ``RefundRequestError``
    as ``refund_request_create``.
    """
    if document is not None and not document_kind:
        raise ValueError("document_kind is required with a document")
    with transaction.atomic():
        request = refund_request_create(
            actor=actor, customer_id=customer_id, charge_id=charge_id, reason=reason,
            description=description, channel="web",
            documents=[document_kind] if document is not None else None)
        if document is not None and request.status not in DECIDED_STATUSES:
            attachment_add(actor=actor, request_id=request.pk, kind=document_kind,
                           uploaded_file=document)
    return request
