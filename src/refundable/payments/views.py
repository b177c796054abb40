"""Provider webhooks in, and the desk's money pages: refunds to send by hand or to look at,
open disputes with their evidence pack. Thin: services do the work."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..audit.services import Actor
from ..customers.models import StaffProfile
from ..desk.views import staff_required
from . import disputes, services
from .models import Dispute, Refund
from .provider_events import provider_event_receive
from .providers.base import ProviderError, WebhookSignatureError

WEBHOOK_MAX_BYTES = 1024 * 1024


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's webhook (``/webhooks/stripe/``, ``/webhooks/sandbox/``): 200 with what
    happened to each event; 400 when the signature does not verify; 404 for no such
    provider. Delivering the same event again is answered 200 and changes nothing."""
    if provider not in ("stripe", "sandbox"):
        return JsonResponse({"error": {"message": f"no webhooks for provider {provider!r}"}},
                            status=404)
    if len(request.body) > WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": {"message": "payload too large"}}, status=413)
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        outcomes = provider_event_receive(provider_name=provider,
                                                   payload=request.body, headers=headers)
    except WebhookSignatureError as exc:
        return JsonResponse({"error": {"message": str(exc)}}, status=400)
    except ProviderError as exc:
        return JsonResponse({"error": {"message": str(exc)}}, status=503)
    return JsonResponse({"received": outcomes})


def _actor(profile: StaffProfile) -> Actor:
    return Actor(profile.role, profile.user.get_username(), profile.user)


@require_GET
@staff_required
def money_overview(request: HttpRequest, profile: StaffProfile) -> HttpResponse:
    open_refunds = (Refund.objects.filter(status__in=Refund.OPEN)
                    .select_related("charge__order__customer", "request")
                    .order_by("created_at")[:300])
    recent_problems = (Refund.objects.filter(status__in=[Refund.S.FAILED, Refund.S.CANCELED])
                       .select_related("charge__order__customer", "request")
                       .order_by("-settled_at")[:50])
    open_disputes = (Dispute.objects.filter(status__in=Dispute.OPEN)
                     .select_related("charge__order__customer").order_by("evidence_due_by"))
    return render(request, "payments/overview.html", {
        "open_refunds": open_refunds, "recent_problems": recent_problems,
        "open_disputes": open_disputes})


def _refund_or_404(refund_id: str) -> Refund:
    try:
        return Refund.objects.select_related("charge__order__customer", "request").get(
            pk=refund_id)
    except Refund.DoesNotExist:
        raise Http404(_("No such refund.")) from None


@require_GET
@staff_required
def refund_detail(request: HttpRequest, profile: StaffProfile, refund_id: str) -> HttpResponse:
    from ..desk.selectors import audit_trail

    refund = _refund_or_404(refund_id)
    return render(request, "payments/refund_detail.html", {
        "refund": refund, "events": audit_trail(obj=refund)})


def _refund_action(request: HttpRequest, refund_id: str, change: Callable[[Refund], object],
                   done: str) -> HttpResponseBase:
    """Run one change on a refund; the page shows the service's refusal or ``done``."""
    refund = _refund_or_404(refund_id)
    try:
        change(refund)
    except services.RefundError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("payments:refund_detail", refund_id=refund.id)


@require_POST
@staff_required
def refund_mark_sent_view(request: HttpRequest, profile: StaffProfile,
                          refund_id: str) -> HttpResponseBase:
    return _refund_action(request, refund_id, lambda refund: services.refund_mark_sent(
        actor=_actor(profile), refund_id=refund.id,
        reference=request.POST.get("reference", "")), _("Refund recorded as sent."))


@require_POST
@staff_required
def refund_cancel_view(request: HttpRequest, profile: StaffProfile,
                       refund_id: str) -> HttpResponseBase:
    return _refund_action(request, refund_id, lambda refund: services.refund_cancel(
        actor=_actor(profile), refund_id=refund.id, reason=request.POST.get("reason", "")),
        _("Refund canceled; the amount is free again."))


@require_POST
@staff_required
def refund_retry_view(request: HttpRequest, profile: StaffProfile,
                      request_id: int) -> HttpResponseBase:
    try:
        refund = services.refund_retry(actor=_actor(profile), request_id=request_id)
    except services.RefundError as exc:
        messages.error(request, str(exc))
        return redirect("desk:request", request_id=request_id)
    messages.success(request, _("A new refund was created and will be sent."))
    return redirect("payments:refund_detail", refund_id=refund.id)


@require_GET
@staff_required
def dispute_detail(request: HttpRequest, profile: StaffProfile, dispute_id: int) -> HttpResponse:
    try:
        pack = disputes.dispute_evidence_pack(dispute_id=dispute_id)
    except Dispute.DoesNotExist:
        raise Http404(_("No such dispute.")) from None
    if request.GET.get("format") == "json":
        body = {
            "dispute": disputes.dispute_data(pack.dispute),
            "refund_requests": [
                {"id": r.pk, "reason": r.reason, "status": r.status,
                 "created_at": r.created_at.isoformat(), "description": r.description,
                 "decisions": [{"policy": d.policy, "outcome": d.outcome, "amount": d.amount,
                                "decided_by": d.decided_by, "at": d.created_at.isoformat(),
                                "explanation": d.payload.get("explanation")}
                               for d in r.decisions.all()]}
                for r in pack.requests],
            "refunds": [services.refund_data(r) for r in pack.refunds],
            "communications": [{**c, "at": c["at"].isoformat()} for c in pack.communications],
            "cancellation": [{**c, "at": c["at"].isoformat()} for c in pack.cancellation],
        }
        response = HttpResponse(json.dumps(body, indent=2, ensure_ascii=False),
                                content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="evidence-{pack.dispute.provider_dispute_id}.json"')
        return response
    return render(request, "payments/dispute_detail.html", {"pack": pack})


@require_POST
@staff_required
def dispute_evidence_sent_view(request: HttpRequest, profile: StaffProfile,
                               dispute_id: int) -> HttpResponseBase:
    try:
        disputes.dispute_evidence_mark_sent(actor=_actor(profile), dispute_id=dispute_id)
    except Dispute.DoesNotExist:
        raise Http404(_("No such dispute.")) from None
    except disputes.DisputeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Evidence recorded as sent."))
    return redirect("payments:dispute_detail", dispute_id=dispute_id)
