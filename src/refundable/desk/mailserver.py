"""The inbound mail listener (``refundable mail-receive``): an SMTP or LMTP server (aiosmtpd)
that the MTA relays the inbound address's mail to, and the one-message way in for an MTA
``pipe`` transport. Both only hand the bytes to ``services.ticket_message_receive``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from ..audit.services import Actor
from .mail import inbound_address
from .services import InboundReceipt, ticket_message_receive

log = logging.getLogger(__name__)

Receive = Callable[[bytes, Sequence[str]], InboundReceipt]
MAIL_ACTOR = Actor.system("mail-receive")


def is_inbound_recipient(address: str) -> bool:
    """Mail for the inbound mailbox, or one of its +tagged forms, at the inbound domain."""
    local, at, domain = address.strip().strip("<>").lower().rpartition("@")
    box = inbound_address()
    return bool(at) and domain == box.domain and local.partition("+")[0] == box.mailbox


def receive_message(raw: bytes, recipients: Sequence[str] = ()) -> InboundReceipt:
    """Receive one message as the mail receiver (the actor of its audit events)."""
    return ticket_message_receive(actor=MAIL_ACTOR, raw_message=raw,
                                  recipients=tuple(recipients))


def _reply_text(receipt: InboundReceipt) -> str:
    # The receipt goes back in the SMTP reply line: printable ASCII only, short.
    return re.sub(r"[^\x20-\x7e]", "?", str(receipt))[:200]


class InboundHandler:
    """aiosmtpd handler: refuses recipients outside the inbound mailbox, receives each message
    in a worker thread (the database calls are blocking) and answers 250 once it is stored —
    also when it was left for an agent or rejected, which is recorded: bouncing it would send
    mail back to addresses anyone can forge. A database failure answers 451 so the MTA keeps
    the message and tries again."""

    def __init__(self, *, receive: Receive = receive_message, lmtp: bool = False) -> None:
        self.receive = receive
        self.lmtp = lmtp
        # One thread: messages are stored one after the other (SQLite allows one writer).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-receive")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not is_inbound_recipient(address):
            return f"550 5.1.1 <{address}>: not a mailbox of this server"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            receipt = await loop.run_in_executor(
                self.executor, self._receive, bytes(raw), tuple(envelope.rcpt_tos))
        except DatabaseError as exc:
            log.error("mail-receive: database error, message deferred: %s", exc)
            status = "451 4.3.0 Temporary failure of the database, try again later"
        except Exception:
            log.exception("mail-receive: unexpected error, message deferred")
            status = "451 4.3.0 Temporary failure, try again later"
        else:
            log.info("mail-receive: %s from %s: %s", envelope.mail_from,
                     session.peer, receipt)
            status = f"250 2.0.0 Received: {_reply_text(receipt)}"
        if self.lmtp:  # LMTP answers once per recipient
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status

    def _receive(self, raw: bytes, recipients: tuple[str, ...]) -> InboundReceipt:
        # The listener runs for days: a connection the database server dropped meanwhile, or
        # one past CONN_MAX_AGE, is replaced before and let go after each message.
        close_old_connections()
        try:
            return self.receive(raw, recipients)
        finally:
            close_old_connections()

    def close(self) -> None:
        """Finish the message under way and close the worker thread's database connection."""
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown(wait=True)


class InboundController(Controller):
    """The listener in a thread (aiosmtpd's Controller), SMTP or LMTP."""

    def __init__(self, handler: InboundHandler, *, host: str, port: int) -> None:
        super().__init__(handler, hostname=host, port=port,
                         data_size_limit=int(settings.REFUNDABLE_INBOUND_MAX_BYTES),
                         ident="Refundable mail-receive")
        self.lmtp = handler.lmtp

    def factory(self) -> Any:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
