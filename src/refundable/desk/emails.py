"""E-mail context and headers of the desk's messages (registered when the app is ready)."""

from __future__ import annotations

from typing import Any

from ..notifications.emails import context_builder, headers_builder
from .mail import message_id_for, reply_address
from .models import InboundEmail, TicketMessage


@context_builder("ticket_reply")
def _ticket_reply_context(context: dict[str, Any]) -> dict[str, Any]:
    """The public reply to a ticket. Only a public message can be mailed: an internal note
    given by mistake is refused here too."""
    message = TicketMessage.objects.select_related("ticket__customer").get(
        pk=context["message_id"], ticket_id=context["ticket_id"], internal=False)
    ticket = message.ticket
    return {"ticket": ticket, "message": message, "customer": ticket.customer}


@headers_builder("ticket_reply")
def _ticket_reply_headers(context: dict[str, Any]) -> dict[str, str]:
    """The way back (see ``desk.mail``): the signed reply address and Message-ID; and, when
    the customer wrote by e-mail before this reply, In-Reply-To/References to their last
    e-mail so their mail program shows one conversation."""
    message: TicketMessage = context["message"]
    headers = {"Reply-To": reply_address(message.ticket_id),
               "Message-ID": message_id_for(ticket_id=message.ticket_id,
                                            message_id=message.pk)}
    previous = (InboundEmail.objects.filter(
        ticket_id=message.ticket_id, status=InboundEmail.Status.ATTACHED,
        ticket_message_id__lt=message.pk, message_id__startswith="<")
        .order_by("-ticket_message_id").values_list("message_id", flat=True).first())
    if previous:
        headers["In-Reply-To"] = previous
        headers["References"] = previous
    return headers
