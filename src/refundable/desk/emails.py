"""E-mail context of the desk's messages (registered when the app is ready)."""

from __future__ import annotations

from typing import Any

from ..notifications.emails import context_builder
from .models import TicketMessage


@context_builder("ticket_reply")
def _ticket_reply_context(context: dict[str, Any]) -> dict[str, Any]:
    """The public reply to a ticket. Only a public message can be mailed: an internal note
    given by mistake is refused here too."""
    message = TicketMessage.objects.select_related("ticket__customer").get(
        pk=context["message_id"], ticket_id=context["ticket_id"], internal=False)
    ticket = message.ticket
    return {"ticket": ticket, "message": message, "customer": ticket.customer}
