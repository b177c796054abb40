"""The desk's webhook pages: endpoints (list, create, edit, enable/disable, rotate the secret)
and the delivery log with "retry now".

Thin views: the desk's ``staff_required`` lets agents and operators in; changing endpoints is
for operators only (they hold the secrets), while every staff member can read the log and retry
a delivery. A new secret is rendered in the POST's answer, never stored for later display, and
that answer is not cached.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..audit.services import Actor
from ..customers.models import StaffProfile
from ..desk.views import staff_required
from . import services
from .events import EVENT_TYPES
from .forms import DeliveryFilterForm, EndpointForm, RotateForm
from .models import WebhookDelivery, WebhookEndpoint
from .selectors import delivery_detail, delivery_log, endpoints_with_counts
from .signing import webhook_body

LOG_PAGE_SIZE = 50


def _actor(request: HttpRequest, staff: StaffProfile) -> Actor:
    user = cast(User, request.user)
    return Actor(staff.role, user.get_username(), user)


def _operator_only(staff: StaffProfile) -> None:
    if staff.role != "operator":
        raise PermissionDenied(_("Only operators can change webhook endpoints."))


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404(_("No such webhook endpoint.")) from None


def _field_of(message: str) -> str | None:
    """The form field a service error names ("url: …" → "url")."""
    name = message.split(":", 1)[0]
    return name if name in ("url", "description", "event_types") else None


def _secret_page(request: HttpRequest, staff: StaffProfile, endpoint: WebhookEndpoint,
                 secret: str, *, created: bool) -> HttpResponse:
    return render(request, "webhooks/secret.html", {
        "staff": staff, "endpoint": endpoint, "secret": secret, "created": created})


# --- Endpoints ---------------------------------------------------------------------------------

@require_GET
@staff_required
def endpoints(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    return render(request, "webhooks/endpoints.html", {
        "staff": staff, "endpoints": endpoints_with_counts(),
        "can_manage": staff.role == "operator"})


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def endpoint_new(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    _operator_only(staff)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.webhook_endpoint_create(
                actor=_actor(request, staff), url=data["url"], event_types=data["event_types"],
                description=data["description"])
        except services.WebhookError as exc:
            form.add_error(_field_of(str(exc)), str(exc))
        else:
            return _secret_page(request, staff, created.endpoint, created.secret, created=True)
    status = 400 if form.is_bound else 200
    return render(request, "webhooks/endpoint_form.html", {"staff": staff, "form": form},
                  status=status)


def _endpoint_page(request: HttpRequest, staff: StaffProfile, endpoint: WebhookEndpoint, *,
                   form: EndpointForm | None = None, status: int = 200) -> HttpResponse:
    if form is None:
        form = EndpointForm(initial={"url": endpoint.url, "description": endpoint.description,
                                     "event_types": endpoint.event_types})
    recent = delivery_log(endpoint_id=endpoint.pk)[:10]
    return render(request, "webhooks/endpoint_detail.html", {
        "staff": staff, "endpoint": endpoint, "form": form, "rotate_form": RotateForm(),
        "can_manage": staff.role == "operator", "recent": recent,
        "previous_secret_valid": bool(endpoint.previous_secret_expires_at
                                      and endpoint.previous_secret_expires_at > timezone.now()),
    }, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def endpoint_detail(request: HttpRequest, staff: StaffProfile, endpoint_id: int
                    ) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    if request.method == "GET":
        return _endpoint_page(request, staff, endpoint)
    _operator_only(staff)
    form = EndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.webhook_endpoint_update(
                actor=_actor(request, staff), endpoint_id=endpoint.pk, url=data["url"],
                event_types=data["event_types"], description=data["description"])
        except services.WebhookError as exc:
            form.add_error(_field_of(str(exc)), str(exc))
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhooks:endpoint", endpoint_id=endpoint.pk)
    return _endpoint_page(request, staff, endpoint, form=form, status=400)


@require_POST
@staff_required
def endpoint_active(request: HttpRequest, staff: StaffProfile, endpoint_id: int
                    ) -> HttpResponse:
    _operator_only(staff)
    endpoint = _endpoint(endpoint_id)
    active = request.POST.get("active")
    if active not in ("0", "1"):
        return _endpoint_page(request, staff, endpoint, status=400)
    services.webhook_endpoint_update(actor=_actor(request, staff), endpoint_id=endpoint.pk,
                                     active=active == "1")
    messages.success(request, _("Endpoint enabled.") if active == "1"
                     else _("Endpoint disabled: it receives no new events."))
    return redirect("webhooks:endpoint", endpoint_id=endpoint.pk)


@never_cache
@require_POST
@staff_required
def endpoint_rotate(request: HttpRequest, staff: StaffProfile, endpoint_id: int
                    ) -> HttpResponse:
    _operator_only(staff)
    endpoint = _endpoint(endpoint_id)
    form = RotateForm(request.POST)
    form.is_valid()  # a lone optional checkbox: always valid
    rotated = services.webhook_endpoint_secret_rotate(
        actor=_actor(request, staff), endpoint_id=endpoint.pk,
        keep_previous_hours=0 if form.cleaned_data.get("retire_now")
        else services.ROTATION_GRACE_HOURS)
    return _secret_page(request, staff, rotated.endpoint, rotated.secret, created=False)


# --- The delivery log --------------------------------------------------------------------------

@require_GET
@staff_required
def deliveries(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    form = DeliveryFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            filters = {"endpoint_id": data["endpoint"].pk if data["endpoint"] else None,
                       "status": data["status"] or None,
                       "event_type": data["event_type"] or None}
        else:
            status = 400
    page = Paginator(delivery_log(**filters), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "webhooks/deliveries.html", {
        "staff": staff, "form": form, "page": page, "query": query.urlencode()},
        status=status)


def _delivery_page(request: HttpRequest, staff: StaffProfile, delivery_id: int, *,
                   error: str = "", status: int = 200) -> HttpResponse:
    try:
        delivery = delivery_detail(delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404(_("No such webhook delivery.")) from None
    return render(request, "webhooks/delivery_detail.html", {
        "staff": staff, "delivery": delivery, "attempts": list(delivery.attempt_log.all()),
        "body": webhook_body(delivery.event).decode(), "error": error,
        "event_description": EVENT_TYPES.get(delivery.event.type, ""),
        "max_attempts": services.MAX_ATTEMPTS}, status=status)


@require_GET
@staff_required
def delivery(request: HttpRequest, staff: StaffProfile, delivery_id: int) -> HttpResponse:
    return _delivery_page(request, staff, delivery_id)


@require_POST
@staff_required
def delivery_retry(request: HttpRequest, staff: StaffProfile, delivery_id: int
                   ) -> HttpResponse:
    try:
        services.webhook_delivery_retry(actor=_actor(request, staff), delivery_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404(_("No such webhook delivery.")) from None
    except services.WebhookError as exc:
        return _delivery_page(request, staff, delivery_id, error=str(exc), status=409)
    messages.success(request, _("Delivery queued: the worker sends it now."))
    return redirect("webhooks:delivery", delivery_id=delivery_id)
