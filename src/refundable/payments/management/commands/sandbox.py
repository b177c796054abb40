"""Drive the sandbox payment provider by hand (demos, trying the desk and the reconciler).

    refundable manage sandbox status
    refundable manage sandbox fault timeout_after [--count 3] [--charge REF] [--delay 600]
    refundable manage sandbox dispute-open CHARGE_ID [--reason fraudulent] [--days 7]
    refundable manage sandbox dispute-close PROVIDER_DISPUTE_ID --won|--lost
    refundable manage sandbox deliver      # settle what is due and send the sandbox's webhooks

The sandbox tells Refundable through its signed webhooks, as a real provider would; the
worker's money batch delivers them every minute (``deliver`` does it now).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Dispute, Refund, SandboxFault, SandboxRefund
from ...provider_events import sandbox_webhooks_deliver
from ...providers.sandbox import SandboxProvider, sandbox_fault_add


class Command(BaseCommand):
    help = "Drive the sandbox payment provider: faults, chargebacks, settlement."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="refunds and faults as the sandbox sees them")
        fault = actions.add_parser("fault", help="make the next calls misbehave")
        fault.add_argument("kind", choices=SandboxFault.KINDS)
        fault.add_argument("--count", type=int, default=1, help="for how many calls (1)")
        fault.add_argument("--charge", default="", help="only for this charge reference")
        fault.add_argument("--delay", type=int, default=0,
                           help="seconds late, for webhook_late (0)")
        opened = actions.add_parser("dispute-open", help="the customer's bank opens a "
                                                         "chargeback on one of our charges")
        opened.add_argument("charge_id", type=int)
        opened.add_argument("--reason", default="product_not_received")
        opened.add_argument("--days", type=int, default=7, help="days to send evidence (7)")
        closed = actions.add_parser("dispute-close", help="the bank decides a chargeback")
        closed.add_argument("provider_dispute_id")
        outcome = closed.add_mutually_exclusive_group(required=True)
        outcome.add_argument("--won", action="store_true")
        outcome.add_argument("--lost", action="store_true")
        actions.add_parser("deliver", help="settle what is due, deliver the sandbox's webhooks")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        sandbox = SandboxProvider()
        if action == "status":
            self.stdout.write(f"sandbox refunds: {SandboxRefund.objects.count()} "
                              f"({SandboxRefund.objects.filter(status='pending').count()} "
                              f"pending); settles after {sandbox.settle_seconds} s")
            for fault in SandboxFault.objects.filter(remaining__gt=0):
                where = f" on {fault.charge_reference}" if fault.charge_reference else ""
                self.stdout.write(f"fault {fault.kind} × {fault.remaining}{where}")
            open_refunds = Refund.objects.filter(status__in=Refund.OPEN).count()
            self.stdout.write(f"Refundable: {open_refunds} refunds open, "
                              f"{Dispute.objects.filter(status__in=Dispute.OPEN).count()} "
                              "disputes open")
        elif action == "fault":
            if options["count"] < 1 or options["delay"] < 0:
                raise CommandError("--count must be at least 1 and --delay 0 or more")
            sandbox_fault_add(kind=options["kind"], count=options["count"],
                              charge_reference=options["charge"],
                              delay_seconds=options["delay"])
            self.stdout.write(f"the next {options['count']} call(s) will {options['kind']}")
        elif action == "dispute-open":
            from ....billing.models import Charge

            charge = Charge.objects.filter(pk=options["charge_id"]).first()
            if charge is None:
                raise CommandError(f"no charge {options['charge_id']}")
            dispute_id = sandbox.dispute_open(
                charge_reference=charge.reference, amount=charge.amount,
                currency=charge.currency, reason=options["reason"],
                evidence_days=options["days"])
            delivered = sandbox_webhooks_deliver()
            self.stdout.write(f"dispute {dispute_id} opened on charge {charge.pk} "
                              f"({delivered} webhook(s) delivered)")
        elif action == "dispute-close":
            dispute = Dispute.objects.filter(
                provider="sandbox", provider_dispute_id=options["provider_dispute_id"]).first()
            if dispute is None:
                raise CommandError(f"no sandbox dispute {options['provider_dispute_id']}")
            sandbox.dispute_close(
                dispute_id=dispute.provider_dispute_id, charge_reference=dispute.charge.reference,
                amount=dispute.amount, currency=dispute.currency, reason=dispute.reason,
                won=bool(options["won"]))
            sandbox_webhooks_deliver()
            dispute.refresh_from_db()
            self.stdout.write(f"dispute {dispute.provider_dispute_id} is {dispute.status}")
        else:
            settled = sandbox.settle_due()
            self.stdout.write(f"{settled} refund(s) settled, "
                              f"{sandbox_webhooks_deliver()} webhook(s) delivered")
