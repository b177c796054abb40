"""Customers' replies by e-mail come back into their tickets.

    refundable mail-receive [--host 127.0.0.1] [--port 2525] [--lmtp]
    refundable mail-receive --stdin [--recipient ADDRESS]

The first form is an SMTP (or LMTP) server for the MTA to relay the inbound address's mail to;
it accepts only recipients of ``REFUNDABLE_INBOUND_ADDRESS`` (the mailbox and its +tags at
its domain) and runs until stopped. The second reads one message from standard input, for an
MTA ``pipe`` transport; its exit code is 0 when the message was received (attached, left for
an agent or rejected: it is recorded either way) and 75 (EX_TEMPFAIL, "try again later") when
the database failed. See docs/operations.md.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ...mail import InboundAddressError, inbound_address
from ...mailserver import InboundController, InboundHandler, receive_message
from ...models import InboundEmail

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again


class Command(BaseCommand):
    help = ("Receive customers' e-mail replies: an SMTP/LMTP server for the MTA, or one "
            "message on standard input (--stdin).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=2525, help="port to listen on")
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
        parser.add_argument("--stdin", action="store_true",
                            help="read one message from standard input, then exit")
        parser.add_argument("--recipient", action="append", default=[],
                            help="with --stdin: the envelope recipient given by the MTA "
                                 "(repeat for several)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            box = inbound_address()
        except InboundAddressError as exc:
            raise CommandError(str(exc)) from None
        try:
            InboundEmail.objects.exists()
        except DatabaseError as exc:
            raise CommandError(f"the database is not ready ({str(exc).strip()}); run "
                               "`refundable manage migrate` first",
                               returncode=EX_TEMPFAIL) from None
        if options["stdin"]:
            self._one_from_stdin(options["recipient"])
        else:
            self._serve(host=options["host"], port=options["port"], lmtp=options["lmtp"],
                        address=str(box))

    def _one_from_stdin(self, recipients: list[str]) -> None:
        raw = sys.stdin.buffer.read()
        try:
            receipt = receive_message(raw, recipients)
        except DatabaseError as exc:
            raise CommandError(f"database error, the message was not stored: "
                               f"{str(exc).strip()}", returncode=EX_TEMPFAIL) from None
        self.stdout.write(f"received: {receipt}")

    def _serve(self, *, host: str, port: int, lmtp: bool, address: str) -> None:
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}")
        handler = InboundHandler(lmtp=lmtp)
        controller = InboundController(handler, host=host, port=port)
        try:
            controller.start()
        except Exception as exc:  # aiosmtpd re-raises whatever stopped the bind
            handler.close()
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        self.stdout.write(f"Receiving mail for {address} (and its +tags) by "
                          f"{'LMTP' if lmtp else 'SMTP'} on {host}:{port}; Ctrl-C to stop.")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
            handler.close()
