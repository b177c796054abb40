"""The agent desk: the queue, request and ticket pages and their actions, attachment downloads.

Thin views: they check who is asking (a StaffProfile: agent or operator), validate forms and
call services; reads go through selectors. Every page works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..audit.services import Actor
from ..customers.models import Customer, StaffProfile
from ..payments.selectors import refunds_of_request
from ..policy.money import exponent
from ..portal.ratelimit import rate_limited
from ..refunds import services as refund_services
from ..refunds.models import Attachment, RefundRequest
from . import services
from .forms import (
    ApproveForm,
    AskInfoForm,
    AssignForm,
    DenyForm,
    InboundAttachForm,
    MacroForm,
    NoteForm,
    QueueFilterForm,
    ReplyForm,
    ResolveForm,
    StatusForm,
    TicketCreateForm,
)
from .models import InboundEmail, Macro, Ticket
from .selectors import (
    QUEUE_LIMIT,
    attachment_for_staff,
    audit_trail,
    can_view_confidential,
    customer_file,
    desk_queue,
    inbound_emails_recent,
    inbound_emails_to_review,
    refund_request_for_desk,
    staff_profile_of,
    ticket_conversation,
    ticket_due,
    ticket_for_desk,
)

P = ParamSpec("P")
StaffView = Callable[Concatenate[HttpRequest, StaffProfile, P], HttpResponseBase]
R = RefundRequest.Status


def staff_required(view: StaffView[P]
                   ) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Only agents and operators (a StaffProfile) reach the desk: others signed in get 403,
    anonymous visitors the desk's sign-in page."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("desk:login"))
        profile = staff_profile_of(request.user)
        if profile is None:
            raise PermissionDenied(_("The desk is for agents and operators."))
        return view(request, profile, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest, staff: StaffProfile) -> Actor:
    user = cast(User, request.user)
    return Actor(staff.role, user.get_username(), user)


class DeskLoginView(LoginView):
    """Django's sign-in, with the portal's rate limit on password attempts (per address and per
    user name), then the queue."""

    template_name = "desk/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = rate_limited(request, "sign_in", str(request.POST.get("username", "")))
        if limit.limited:
            return render(request, "desk/login.html", {
                "form": self.get_form(), "limited_minutes": limit.retry_after_minutes},
                status=429)
        return super().post(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("desk:queue")


# --- The queue ------------------------------------------------------------------------------

@require_GET
@staff_required
def queue(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"team_id": data["team"].pk if data["team"] else None,
                   "category": data["category"] or None, "status": data["status"] or None,
                   "kind": data["kind"] or None,
                   "assignee": (request.user.pk if data["assignee"] == "me"
                                else data["assignee"] or None)}
    now = timezone.now()
    items = desk_queue(now=now, **filters)
    return render(request, "desk/queue.html", {
        "form": form, "items": items, "now": now, "staff": staff,
        "overdue": sum(item.overdue for item in items),
        "truncated": len(items) >= QUEUE_LIMIT, "limit": QUEUE_LIMIT})


# --- Refund requests ------------------------------------------------------------------------

def _major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def _request_page(http_request: HttpRequest, staff: StaffProfile, request_id: int, *,
                  status: int = 200, error: str = "", **forms: Any) -> HttpResponse:
    """The request page; ``forms`` replace the blank ones (to show what was typed and its
    errors), ``error`` is a refusal of the service (shown at the top)."""
    try:
        refund = refund_request_for_desk(request_id=request_id)
    except RefundRequest.DoesNotExist as exc:
        raise Http404 from exc
    charge = refund.charge
    decisions = list(refund.decisions.all())
    engine = [d for d in decisions if d.decided_by == "engine"]
    latest = decisions[-1] if decisions else None
    suggested = (latest.amount if latest and latest.outcome == "refund" and latest.amount
                 else charge.refundable_amount)
    allowed = RefundRequest.TRANSITIONS[refund.status]
    attachments = list(refund.attachments.all())
    user_id = cast(int, http_request.user.pk)
    context = {
        "refund": refund, "charge": charge, "staff": staff, "error": error,
        "file": customer_file(customer_id=refund.customer_id),
        "decisions": decisions, "engine_decision": engine[-1] if engine else None,
        "attachments": attachments, "tickets": list(refund.tickets.all()),
        "money_refunds": list(refunds_of_request(request_id=refund.pk)),
        "can_retry_refund": refund.status == R.APPROVED and bool(refund.money_attention),
        "can_view_confidential": can_view_confidential(user_id=user_id),
        "can_approve": R.APPROVED in allowed and charge.refundable_amount > 0,
        "can_deny": R.DENIED in allowed, "can_ask": R.INFO_REQUESTED in allowed,
        "can_resolve": refund.status == R.TROUBLESHOOTING,
        "audit": audit_trail(obj=refund, related=attachments),
        "now": timezone.now(),
        "approve_form": forms.get("approve_form") or ApproveForm(
            currency=charge.currency, initial={"amount": _major(suggested, charge.currency)}),
        "deny_form": forms.get("deny_form") or DenyForm(),
        "ask_form": forms.get("ask_form") or AskInfoForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "assign_form": forms.get("assign_form") or AssignForm(initial={
            "team": refund.team_id, "assignee": refund.assignee_id}),
    }
    return render(http_request, "desk/request_detail.html", context, status=status)


@require_GET
@staff_required
def request_detail(request: HttpRequest, staff: StaffProfile, request_id: int) -> HttpResponse:
    return _request_page(request, staff, request_id)


def _back_to_request(request_id: int) -> HttpResponseRedirect:
    return redirect("desk:request", request_id=request_id)


def _request_currency(request_id: int) -> str:
    refund = RefundRequest.objects.select_related("charge").filter(pk=request_id).first()
    if refund is None:
        raise Http404
    return refund.charge.currency


@require_POST
@staff_required
def request_approve(request: HttpRequest, staff: StaffProfile, request_id: int) -> HttpResponse:
    form = ApproveForm(request.POST, currency=_request_currency(request_id))
    if form.is_valid():
        try:
            refund_services.refund_request_approve(
                actor=_actor(request, staff), request_id=request_id,
                amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"])
        except refund_services.RefundRequestError as exc:
            return _request_page(request, staff, request_id, status=409, error=str(exc),
                                 approve_form=form)
        messages.success(request, _("Refund approved."))
        return _back_to_request(request_id)
    return _request_page(request, staff, request_id, status=400, approve_form=form)


@require_POST
@staff_required
def request_deny(request: HttpRequest, staff: StaffProfile, request_id: int) -> HttpResponse:
    _request_currency(request_id)
    form = DenyForm(request.POST)
    if form.is_valid():
        try:
            refund_services.refund_request_deny(
                actor=_actor(request, staff), request_id=request_id,
                reason=form.cleaned_data["reason"])
        except refund_services.RefundRequestError as exc:
            return _request_page(request, staff, request_id, status=409, error=str(exc),
                                 deny_form=form)
        messages.success(request, _("Refund denied."))
        return _back_to_request(request_id)
    return _request_page(request, staff, request_id, status=400, deny_form=form)


@require_POST
@staff_required
def request_ask_info(request: HttpRequest, staff: StaffProfile, request_id: int
                     ) -> HttpResponse:
    _request_currency(request_id)
    form = AskInfoForm(request.POST)
    if form.is_valid():
        try:
            refund_services.refund_request_ask_info(
                actor=_actor(request, staff), request_id=request_id,
                question=form.cleaned_data["question"])
        except refund_services.RefundRequestError as exc:
            return _request_page(request, staff, request_id, status=409, error=str(exc),
                                 ask_form=form)
        messages.success(request, _("Question sent to the customer."))
        return _back_to_request(request_id)
    return _request_page(request, staff, request_id, status=400, ask_form=form)


@require_POST
@staff_required
def request_troubleshooting_resolve(request: HttpRequest, staff: StaffProfile,
                                    request_id: int) -> HttpResponse:
    _request_currency(request_id)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            refund_services.refund_request_troubleshooting_resolve(
                actor=_actor(request, staff), request_id=request_id,
                note=form.cleaned_data["note"])
        except refund_services.RefundRequestError as exc:
            return _request_page(request, staff, request_id, status=409, error=str(exc),
                                 resolve_form=form)
        messages.success(request, _("Problem marked resolved; the request is closed."))
        return _back_to_request(request_id)
    return _request_page(request, staff, request_id, status=400, resolve_form=form)


@require_POST
@staff_required
def request_assign(request: HttpRequest, staff: StaffProfile, request_id: int) -> HttpResponse:
    _request_currency(request_id)
    form = AssignForm(request.POST)
    if form.is_valid():
        team, assignee = form.cleaned_data["team"], form.cleaned_data["assignee"]
        try:
            refund_services.refund_request_assign(
                actor=_actor(request, staff), request_id=request_id,
                team_id=team.pk if team else None, assignee_id=assignee.pk if assignee else None)
        except refund_services.RefundRequestError as exc:
            return _request_page(request, staff, request_id, status=409, error=str(exc),
                                 assign_form=form)
        messages.success(request, _("Assignment saved."))
        return _back_to_request(request_id)
    return _request_page(request, staff, request_id, status=400, assign_form=form)


@require_GET
@staff_required
def attachment_download(request: HttpRequest, staff: StaffProfile, attachment_id: int
                        ) -> HttpResponseBase:
    """The file, to staff only; a confidential one only to a team handling confidential
    documents. Anyone else — and everyone once the content is deleted — gets 404."""
    try:
        attachment = attachment_for_staff(attachment_id=attachment_id,
                                          user_id=cast(int, request.user.pk))
        handle = attachment.file.open("rb")
    except (Attachment.DoesNotExist, FileNotFoundError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response


# --- Tickets ----------------------------------------------------------------------------------

def _ticket_page(http_request: HttpRequest, staff: StaffProfile, ticket_id: int, *,
                 status: int = 200, error: str = "", **forms: Any) -> HttpResponse:
    try:
        ticket = ticket_for_desk(ticket_id=ticket_id)
    except Ticket.DoesNotExist as exc:
        raise Http404 from exc
    reply_form = forms.get("reply_form")
    macro_form = MacroForm(initial={"macro": http_request.GET.get("macro")})
    if reply_form is None:
        reply_form = ReplyForm()
        macro_id = http_request.GET.get("macro", "")
        if macro_id.isdigit() and Macro.objects.filter(pk=int(macro_id)).exists():
            reply_form = ReplyForm(initial={"body": services.macro_apply(
                actor=_actor(http_request, staff), ticket_id=ticket.pk,
                macro_id=int(macro_id))})
    due, due_label = ticket_due(ticket)
    now = timezone.now()
    context = {
        "ticket": ticket, "staff": staff, "error": error,
        "conversation": ticket_conversation(ticket_id=ticket.pk),
        "emails_to_review": inbound_emails_to_review().filter(ticket_id=ticket.pk).count(),
        "file": customer_file(customer_id=ticket.customer_id) if ticket.customer_id else None,
        "refund": ticket.refund_request, "due": due, "due_label": due_label, "now": now,
        "overdue": due is not None and due < now and ticket.status in ("new", "open"),
        "audit": audit_trail(obj=ticket),
        "reply_form": reply_form, "macro_form": macro_form,
        "has_macros": Macro.objects.exists(),
        "note_form": forms.get("note_form") or NoteForm(),
        "assign_form": forms.get("assign_form") or AssignForm(initial={
            "team": ticket.team_id, "assignee": ticket.assignee_id}),
        "status_form": forms.get("status_form") or StatusForm(current=ticket.status),
        "solves_request": (ticket.category == "technical" and ticket.refund_request is not None
                           and ticket.refund_request.status == R.TROUBLESHOOTING),
    }
    return render(http_request, "desk/ticket_detail.html", context, status=status)


def _ticket_exists(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404
    return ticket


def _back_to_ticket(ticket_id: int) -> HttpResponseRedirect:
    return redirect("desk:ticket", ticket_id=ticket_id)


@require_GET
@staff_required
def ticket_detail(request: HttpRequest, staff: StaffProfile, ticket_id: int) -> HttpResponse:
    return _ticket_page(request, staff, ticket_id)


def _ticket_action(request: HttpRequest, staff: StaffProfile, ticket_id: int, form: Any,
                   form_name: str, run: Callable[[dict[str, Any]], object],
                   done: str) -> HttpResponse:
    """The shape every ticket form shares: a valid form runs the service, a refused change
    shows the page again with the error (409), an invalid form with its errors (400)."""
    if not form.is_valid():
        return _ticket_page(request, staff, ticket_id, status=400, **{form_name: form})
    try:
        run(form.cleaned_data)
    except (services.DeskError, refund_services.RefundRequestError) as exc:
        return _ticket_page(request, staff, ticket_id, status=409, error=str(exc),
                            **{form_name: form})
    messages.success(request, done)
    return _back_to_ticket(ticket_id)


@require_POST
@staff_required
def ticket_reply(request: HttpRequest, staff: StaffProfile, ticket_id: int) -> HttpResponse:
    _ticket_exists(ticket_id)
    actor = _actor(request, staff)
    return _ticket_action(
        request, staff, ticket_id, ReplyForm(request.POST), "reply_form",
        lambda data: services.ticket_reply(actor=actor, ticket_id=ticket_id, body=data["body"]),
        _("Reply sent to the customer."))


@require_POST
@staff_required
def ticket_note(request: HttpRequest, staff: StaffProfile, ticket_id: int) -> HttpResponse:
    _ticket_exists(ticket_id)
    actor = _actor(request, staff)
    return _ticket_action(
        request, staff, ticket_id, NoteForm(request.POST), "note_form",
        lambda data: services.ticket_note_add(actor=actor, ticket_id=ticket_id,
                                              body=data["body"]),
        _("Internal note added."))


@require_POST
@staff_required
def ticket_assign(request: HttpRequest, staff: StaffProfile, ticket_id: int) -> HttpResponse:
    _ticket_exists(ticket_id)
    actor = _actor(request, staff)
    return _ticket_action(
        request, staff, ticket_id, AssignForm(request.POST), "assign_form",
        lambda data: services.ticket_assign(
            actor=actor, ticket_id=ticket_id,
            team_id=data["team"].pk if data["team"] else None,
            assignee_id=data["assignee"].pk if data["assignee"] else None),
        _("Assignment saved."))


@require_POST
@staff_required
def ticket_status(request: HttpRequest, staff: StaffProfile, ticket_id: int) -> HttpResponse:
    ticket = _ticket_exists(ticket_id)
    actor = _actor(request, staff)
    return _ticket_action(
        request, staff, ticket_id, StatusForm(request.POST, current=ticket.status),
        "status_form",
        lambda data: services.ticket_status_set(actor=actor, ticket_id=ticket_id,
                                                status=data["status"]),
        _("Status changed."))


@require_http_methods(["GET", "POST"])
@staff_required
def ticket_new(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    """Log a ticket from a phone call, a chat or an e-mail."""
    form = TicketCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = None
        if data["customer_email"]:
            customer = Customer.objects.filter(email__iexact=data["customer_email"]).first()
            if customer is None:
                form.add_error("customer_email", _("No customer has this e-mail address."))
        if not form.errors:
            try:
                ticket = services.ticket_create(
                    actor=_actor(request, staff), category=data["category"],
                    subject=data["subject"], body=data["body"], channel=data["channel"],
                    customer_id=customer.pk if customer else None, priority=data["priority"],
                    team_id=data["team"].pk if data["team"] else None)
            except services.DeskError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Ticket created."))
                return _back_to_ticket(ticket.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "desk/ticket_new.html", {"form": form, "staff": staff},
                  status=status)


# --- E-mails received for the desk to review ---------------------------------------------------

INBOUND_SHOWN = 100


def _inbound_page(request: HttpRequest, staff: StaffProfile, *, status: int = 200,
                  error: str = "", failed: tuple[int, InboundAttachForm] | None = None
                  ) -> HttpResponse:
    show = "all" if request.GET.get("show") == "all" else "review"
    emails = list((inbound_emails_recent() if show == "all" else inbound_emails_to_review())
                  [:INBOUND_SHOWN])
    rows = []
    for inbound in emails:
        form = failed[1] if failed and failed[0] == inbound.pk else InboundAttachForm(
            auto_id=f"attach-{inbound.pk}-%s", initial={"ticket": inbound.ticket_id})
        rows.append({"email": inbound, "form": form,
                     "open": inbound.status in (InboundEmail.Status.UNMATCHED,
                                                InboundEmail.Status.REJECTED)
                     and inbound.reviewed_at is None})
    return render(request, "desk/inbound.html", {
        "rows": rows, "show": show, "staff": staff, "error": error,
        "limit": INBOUND_SHOWN}, status=status)


@require_GET
@staff_required
def inbound_list(request: HttpRequest, staff: StaffProfile) -> HttpResponse:
    """Received e-mails that did not reach a ticket by themselves, for an agent."""
    return _inbound_page(request, staff)


@require_POST
@staff_required
def inbound_attach(request: HttpRequest, staff: StaffProfile, inbound_id: int
                   ) -> HttpResponse:
    if not InboundEmail.objects.filter(pk=inbound_id).exists():
        raise Http404
    form = InboundAttachForm(request.POST, auto_id=f"attach-{inbound_id}-%s")
    if not form.is_valid():
        return _inbound_page(request, staff, status=400, failed=(inbound_id, form))
    ticket_id = form.cleaned_data["ticket"]
    try:
        services.inbound_email_attach(actor=_actor(request, staff), inbound_id=inbound_id,
                                      ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        form.add_error("ticket", _("There is no ticket #%(id)s.") % {"id": ticket_id})
        return _inbound_page(request, staff, status=400, failed=(inbound_id, form))
    except services.DeskError as exc:
        return _inbound_page(request, staff, status=409, error=str(exc))
    messages.success(request, _("The e-mail was added to the ticket."))
    return _back_to_ticket(ticket_id)


@require_POST
@staff_required
def inbound_dismiss(request: HttpRequest, staff: StaffProfile, inbound_id: int
                    ) -> HttpResponse:
    try:
        services.inbound_email_dismiss(actor=_actor(request, staff), inbound_id=inbound_id)
    except InboundEmail.DoesNotExist as exc:
        raise Http404 from exc
    except services.DeskError as exc:
        return _inbound_page(request, staff, status=409, error=str(exc))
    messages.success(request, _("The e-mail was dismissed."))
    return redirect("desk:inbound")
