"""The integrator API: the ``NinjaAPI`` instance, its authentication, error handling and the
routers of each resource. Mounted at /api/v1/ (``urls.py``); the OpenAPI document is
/api/v1/openapi.json and the interactive docs /api/v1/docs. See docs/api.md.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from .auth import ApiKeyAuth, CustomerSessionAuth
from .errors import handle_exception
from .routers import customers, orders, refund_requests, subscriptions, tickets

DESCRIPTION = """\
Cancellations and refunds for a subscription business: customers, subscriptions (cancel,
undo, auto-renewal), orders and their charges, refund requests decided by the refund policy,
and support tickets.

**Authentication**: an integrator API key, `Authorization: Bearer rk_<prefix>_<secret>`
(scope `read` for GET, `write` for POST), which sees every customer; or the customer portal's
session, which sees only the signed-in customer's data and needs the `X-CSRFToken` header on
POST.

**Conventions**: money is an integer in the currency's minor unit beside its ISO 4217 code
(`"amount": 8999, "currency": "EUR"` is €89.99); times are ISO 8601. Lists are newest first,
`{"object": "list", "data": [...], "has_more": ..., "next_cursor": ...}`, paged with `limit`
(1–200, default 50) and `starting_after=<id>` or `cursor`. Every POST needs an
`Idempotency-Key` header: the same key and body replay the first response, the same key with
another body is a 409. Errors are always
`{"error": {"type", "code", "message", "param"}}` with the HTTP status: 400 (the parameter is
named in `param`), 401, 403, 404 (also for another customer's objects), 409, 422 (the object's
state forbids the change), 500.
"""

api = NinjaAPI(
    title="Refundable API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api:v1",
    auth=[ApiKeyAuth(), CustomerSessionAuth()],
)



def _on_exception(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
    return handle_exception(request, exc if isinstance(exc, Exception) else exc())


# One handler for everything, so no failure leaves as ninja's default shapes, HTML or a
# traceback (ninja looks handlers up along the exception's MRO: override each default).
for _exception in (Exception, Http404, HttpError, ValidationError):
    api.add_exception_handler(_exception, _on_exception)

api.add_router("/customers", customers.router)
api.add_router("/subscriptions", subscriptions.router)
api.add_router("/orders", orders.router)
api.add_router("/refund-requests", refund_requests.router)
api.add_router("/tickets", tickets.router)
