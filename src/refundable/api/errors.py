"""The one error shape of the API: ``{"error": {"type", "code", "message", "param"}}``.

Every failure — validation, authentication, a missing object, a state that forbids the change,
an unexpected exception — leaves the API as this JSON object with the right HTTP status; never
as an HTML page or a traceback. ``error_of`` maps an exception to (status, body) and is shared
by the exception handlers and the idempotency layer (which stores 4xx answers for replay).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from ..billing.models import Charge, Order
from ..customers.models import Customer
from ..desk.models import Ticket
from ..policy.errors import FactsError
from ..refunds.models import RefundRequest
from ..refunds.services import RefundRequestError
from ..subscriptions.models import Subscription
from ..subscriptions.services import SubscriptionError

logger = logging.getLogger(__name__)

# type of error per HTTP status when nothing more precise is known (Stripe's vocabulary).
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "invalid_request_error", 405: "invalid_request_error",
          409: "invalid_request_error", 422: "invalid_request_error",
          429: "rate_limit_error"}
_CODES = {400: "parameter_invalid", 401: "unauthenticated", 403: "forbidden",
          404: "resource_missing", 405: "method_not_allowed", 409: "conflict",
          422: "invalid_state", 429: "rate_limited"}

# What a missing object is called in the message.
_NOUNS: dict[type[Exception], str] = {
    Customer.DoesNotExist: "customer", Subscription.DoesNotExist: "subscription",
    Order.DoesNotExist: "order", Charge.DoesNotExist: "charge",
    RefundRequest.DoesNotExist: "refund request", Ticket.DoesNotExist: "ticket",
}


class ApiError(Exception):
    """An error to send as the error object. Raise it from handlers, auth and helpers."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 type: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.type = type or _TYPES.get(status, "api_error")
        self.param = param

    def body(self) -> dict[str, Any]:
        return error_body(type=self.type, code=self.code, message=self.message,
                          param=self.param)


def error_body(*, type: str, code: str, message: str, param: str | None = None
               ) -> dict[str, Any]:
    return {"error": {"type": type, "code": code, "message": message, "param": param}}


def not_found(noun: str, param: str | None = None) -> ApiError:
    """404 for a missing object — and for another customer's object, which is not told apart."""
    return ApiError(404, f"No such {noun}.", code="resource_missing", param=param)


def _param_of(loc: tuple[Any, ...]) -> str | None:
    """``("body", "payload", "when")`` → ``when``; ``("query", "limit")`` → ``limit``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "payload":
            parts.pop(0)
    return ".".join(parts) or None


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """The first problem of a validation failure, naming its parameter."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    param = _param_of(tuple(first.get("loc", ())))
    kind = str(first.get("type", ""))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if param == "Idempotency-Key" and kind == "missing":
        return ApiError(400, "An Idempotency-Key header is required on this request: send a "
                        "unique value (a UUID) and reuse it only to retry the same request.",
                        code="idempotency_key_missing", param=param)
    if param == "Idempotency-Key":
        return ApiError(400, "The Idempotency-Key header must be 1 to 200 printable ASCII "
                        "characters (a UUID is a good choice).",
                        code="idempotency_key_invalid", param=param)
    if param is None:
        return ApiError(400, "The request body must be a JSON object with the parameters "
                        "of this endpoint.", code="body_invalid")
    if kind == "missing":
        return ApiError(400, f"Missing required parameter: {param}.",
                        code="parameter_missing", param=param)
    if kind == "extra_forbidden":
        return ApiError(400, f"Received unknown parameter: {param}.",
                        code="parameter_unknown", param=param)
    return ApiError(400, f"Invalid {param}: {message}.".replace("..", "."),
                    code="parameter_invalid", param=param)


def _sentence(text: str) -> str:
    """A service's message ("only a cancellation … can be undone") as a sentence."""
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else text


def error_of(exc: Exception) -> ApiError | None:
    """The API error an exception stands for; None for an unexpected exception (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return validation_error(list(exc.errors))
    if isinstance(exc, AuthenticationError):
        return ApiError(401, "Authentication required: send 'Authorization: Bearer "
                        "rk_<prefix>_<secret>' with an API key, or sign in to the portal.",
                        code="unauthenticated")
    if isinstance(exc, Throttled):
        return ApiError(429, "Too many requests; retry later.", code="rate_limited")
    if isinstance(exc, HttpError):
        if exc.status_code == 400:  # ninja: "Cannot parse request body"
            return ApiError(400, "The request body is not valid JSON.", code="body_invalid")
        return ApiError(exc.status_code, str(exc))
    for cls, noun in _NOUNS.items():
        if isinstance(exc, cls):
            return not_found(noun)
    if isinstance(exc, Http404):
        return not_found("object")
    if isinstance(exc, SubscriptionError | RefundRequestError):
        return ApiError(422, _sentence(str(exc)), code="invalid_state")
    if isinstance(exc, FactsError):
        return ApiError(422, f"The policy cannot decide on this charge: {exc}",
                        code="facts_invalid")
    return None


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="refundable"'
    return response


def handle_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The API's exception handler for everything: the error object, never a traceback."""
    error = error_of(exc)
    if error is None:
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        error = ApiError(500, "Something went wrong on our side; the request was not "
                         "completed. Retry with the same Idempotency-Key.",
                         type="api_error", code="internal_error")
    return error_response(error)
