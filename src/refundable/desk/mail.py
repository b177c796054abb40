"""How a ticket e-mail can be found again when the customer answers it.

Every ticket e-mail carries a signed reply address, ``support+t<ticket>-<signature>@<domain>``,
and a signed ``Message-ID``, ``<refundable.t<ticket>.m<message>.<signature>@<domain>>``. The
signatures are HMACs keyed with ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` still verify, so a key
rotation does not orphan the replies on their way): a customer, or anyone else, cannot make one
up for another ticket. The mailbox and domain come from ``REFUNDABLE_INBOUND_ADDRESS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_ADDRESS_SALT = "refundable.desk.mail.reply-address"
_MESSAGE_ID_SALT = "refundable.desk.mail.message-id"
_SIGNATURE_LENGTH = 20  # hex digits: 80 bits, short enough for a local part (64 characters)
_TOKEN = re.compile(r"^t(\d{1,18})-([0-9a-z]+)$")
_MESSAGE_ID = re.compile(r"^refundable\.t(\d{1,18})\.m(\d{1,18})\.([0-9a-z]+)@(.+)$")


class InboundAddressError(ValueError):
    """REFUNDABLE_INBOUND_ADDRESS is not a usable address."""


@dataclass(frozen=True)
class InboundAddress:
    mailbox: str
    domain: str

    def __str__(self) -> str:
        return f"{self.mailbox}@{self.domain}"


def inbound_address() -> InboundAddress:
    """The configured inbound mailbox and domain (lower case)."""
    value = str(settings.REFUNDABLE_INBOUND_ADDRESS).strip()
    mailbox, at, domain = value.rpartition("@")
    if not at or not mailbox or not domain or "+" in mailbox or " " in value:
        raise InboundAddressError(
            f"REFUNDABLE_INBOUND_ADDRESS must be a plain address such as "
            f"support@example.com, not {value!r}")
    return InboundAddress(mailbox.lower(), domain.lower())


def _signature(value: str, *, salt: str, secret: str | None = None) -> str:
    digest = salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()
    return digest[:_SIGNATURE_LENGTH]


def _signed(value: str, signature: str, *, salt: str) -> bool:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(_signature(value, salt=salt, secret=key), signature)
               for key in keys)


def reply_address(ticket_id: int) -> str:
    """The Reply-To address of the ticket's e-mails."""
    box = inbound_address()
    token = f"t{ticket_id}-{_signature(f'ticket:{ticket_id}', salt=_ADDRESS_SALT)}"
    return f"{box.mailbox}+{token}@{box.domain}"


@dataclass(frozen=True)
class TokenCheck:
    """What a recipient address says about the ticket: ``ticket_id`` when its token is
    genuine; ``forged`` when it carries a ticket token whose signature does not match."""

    ticket_id: int | None = None
    forged: bool = False


def ticket_from_address(address: str) -> TokenCheck:
    """Read the ticket token of one of our reply addresses (any other address: nothing).

    The comparison ignores case: some mail servers change the case of local parts."""
    local, at, domain = address.strip().lower().rpartition("@")
    box = inbound_address()
    if not at or domain != box.domain:
        return TokenCheck()
    mailbox, plus, tag = local.partition("+")
    if mailbox != box.mailbox or not plus:
        return TokenCheck()
    match = _TOKEN.match(tag)
    if match is None:
        # "support+t12-…" that does not parse is a damaged or made-up token.
        return TokenCheck(forged=tag.startswith("t"))
    ticket_id, signature = int(match[1]), match[2]
    if not _signed(f"ticket:{ticket_id}", signature, salt=_ADDRESS_SALT):
        return TokenCheck(forged=True)
    return TokenCheck(ticket_id=ticket_id)


def message_id_for(*, ticket_id: int, message_id: int) -> str:
    """The Message-ID of the e-mail carrying public message ``message_id`` of a ticket
    (the same on a retry of the job, so a resent e-mail is the same message)."""
    value = f"t{ticket_id}.m{message_id}"
    signature = _signature(value, salt=_MESSAGE_ID_SALT)
    return f"<refundable.{value}.{signature}@{inbound_address().domain}>"


def ticket_from_message_id(value: str) -> int | None:
    """The ticket of a Message-ID we sent (``<…>`` or bare); None for any other."""
    match = _MESSAGE_ID.match(value.strip().strip("<>").strip().lower())
    if match is None:
        return None
    ticket_id, message_id, signature = int(match[1]), int(match[2]), match[3]
    if not _signed(f"t{ticket_id}.m{message_id}", signature, salt=_MESSAGE_ID_SALT):
        return None
    return ticket_id


_SUBJECT_TAG = re.compile(r"\[\s*(?:#|ticket\s*#|ticket\s*n°)\s*(\d{1,18})\s*\]", re.IGNORECASE)


def ticket_from_subject(subject: str) -> int | None:
    """The ticket number in a subject: ``[#12]``, or the older ``[ticket #12]`` and
    ``[ticket n° 12]``. Anyone can type it: only trusted with the customer's own address."""
    match = _SUBJECT_TAG.search(subject)
    return int(match[1]) if match else None
