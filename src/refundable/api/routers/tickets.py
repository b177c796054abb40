"""``/tickets``: support tickets and their public messages (never the internal notes)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from ...desk.models import Ticket
from ...desk.selectors import tickets_visible
from ..auth import principal_of
from ..pagination import PageParams, paginate
from ..schemas import TicketList, TicketOut
from .common import LIST_ERRORS, READ_ERRORS, TicketId, customer_scope

router = Router(tags=["tickets"])


@router.get("", response={200: TicketList, **LIST_ERRORS}, summary="List tickets",
            operation_id="tickets_list")
def tickets_list(request: HttpRequest, page: Query[PageParams], customer: int | None = None,
                 status: Ticket.Status | None = None,
                 category: Ticket.Category | None = None) -> dict[str, Any]:
    """Tickets, newest first, with their public messages. Filters: ``customer`` (id),
    ``status``, ``category``."""
    principal = principal_of(request)
    tickets = tickets_visible(customer_id=customer_scope(principal, customer),
                              status=status, category=category)
    return paginate(tickets, page, TicketOut.of)


@router.get("/{ticket_id}", response={200: TicketOut, **READ_ERRORS},
            summary="Retrieve a ticket", operation_id="tickets_get")
def tickets_get(request: HttpRequest, ticket_id: TicketId) -> TicketOut:
    """One ticket with its public messages, oldest first."""
    principal = principal_of(request)
    return TicketOut.of(tickets_visible(customer_id=principal.customer_id).get(pk=ticket_id))
