"""``/refund-requests``: ask for a refund of a charge; the policy decides at once.

Creating one returns the request and its frozen decision (outcome, amount, rule, policy,
explanation, message). Needs an ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router

from ...billing.models import Charge
from ...billing.selectors import charge_visible
from ...refunds.models import RefundRequest
from ...refunds.selectors import refund_request_read, refund_requests_visible
from ...refunds.services import refund_request_create
from ..auth import principal_of
from ..errors import not_found
from ..idempotency import idempotent
from ..pagination import PageParams, paginate
from ..rendering import JSON_CONTENT_TYPE, refund_request_json
from ..schemas import RefundRequestIn, RefundRequestList, RefundRequestOut, to_json
from .common import (
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    RefundRequestId,
    customer_scope,
)

router = Router(tags=["refund-requests"])


@router.get("", response={200: RefundRequestList, **LIST_ERRORS},
            summary="List refund requests", operation_id="refund_requests_list")
def refund_requests_list(request: HttpRequest, page: Query[PageParams],
                         customer: int | None = None,
                         status: RefundRequest.Status | None = None) -> dict[str, Any]:
    """Refund requests with their latest decision, newest first. Filters: ``customer`` (id),
    ``status``."""
    principal = principal_of(request)
    requests = refund_requests_visible(customer_id=customer_scope(principal, customer),
                                       status=status)
    return paginate(requests, page, RefundRequestOut.of)


@router.get("/{request_id}", response={200: RefundRequestOut, **READ_ERRORS},
            summary="Retrieve a refund request", operation_id="refund_requests_get")
def refund_requests_get(request: HttpRequest, request_id: RefundRequestId) -> HttpResponse:
    """One refund request, its status and its latest frozen decision with the explanation."""
    principal = principal_of(request)
    # The hottest read of the API: one statement and a cached decision, rendered to exactly
    # what RefundRequestOut renders to (rendering.py).
    read = refund_request_read(customer_id=principal.customer_id, request_id=request_id)
    if read is None:
        raise not_found("refund request")
    return HttpResponse(refund_request_json(read), content_type=JSON_CONTENT_TYPE)


@router.post("", response={201: RefundRequestOut, **WRITE_ERRORS},
             summary="Create a refund request", operation_id="refund_requests_create")
def refund_requests_create(request: HttpRequest, payload: RefundRequestIn,
                           idempotency_key: IdempotencyKey) -> JsonResponse:
    """Ask for a refund of ``charge`` (an id from an order's charges) with a ``reason``.

    The charge's plan policy, with the statutory floor, decides at once and the decision is
    frozen: 201 with the request and its ``decision``. Small refunds the policy grants are
    approved at once; anything else waits for an agent (``sla_due_at``). 404 if the charge is
    not visible to the caller."""
    principal = principal_of(request)

    def execute() -> tuple[int, dict[str, Any]]:
        try:
            charge = charge_visible(charge_id=payload.charge, customer_id=principal.customer_id)
        except Charge.DoesNotExist:
            raise not_found("charge", param="charge") from None
        created = refund_request_create(
            actor=principal.actor, customer_id=charge.order.customer_id, charge_id=charge.pk,
            reason=payload.reason, description=payload.description,
            channel=principal.refund_channel)
        fresh = refund_requests_visible(customer_id=None).get(pk=created.pk)
        return 201, to_json(RefundRequestOut.of(fresh))

    return idempotent(request, principal=principal, key=idempotency_key,
                      payload=payload.model_dump(mode="json"), execute=execute)
