"""The customer portal: thin views over the selectors (reads) and services (writes).

Pages showing or changing a customer's data take the signed-in customer (``customer_page``)
and read through selectors filtered by them, so another customer's ids answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..audit.services import Actor
from ..billing.invoices import InvoicePdfUnavailable, invoice_context, invoice_pdf
from ..customers.models import Customer
from ..customers.services import customer_locale_set
from ..policy import FactsError
from ..refunds.attachments import attachment_add
from ..refunds.errors import AttachmentError, RefundRequestError
from ..refunds.models import RefundRequest
from ..refunds.selectors import refund_expected_arrival, refund_preview
from ..refunds.services import refund_request_info_received
from ..subscriptions.models import Subscription
from ..subscriptions.services import (
    SubscriptionError,
    subscription_auto_renew_set,
    subscription_cancel,
    subscription_cancel_undo,
)
from . import selectors
from .contact import (
    check_contact,
    official_emails,
    official_phones,
    opening_hours,
    support_open_state,
)
from .forms import (
    ActivationKeyForm,
    CancelChoiceForm,
    ContactCheckForm,
    DocumentAddForm,
    PublicCancelForm,
    RefundReasonForm,
    RefundSubmitForm,
    SignInForm,
    SignInLinkForm,
    refund_submit_form_class,
)
from .labels import STORE_CHANNELS
from .models import PublicRequest
from .ratelimit import Limit, rate_limited
from .services import (
    DECIDED_STATUSES,
    SIGN_IN_SALT,
    SignInLinkError,
    acknowledgement_request,
    acknowledgement_token,
    activation_key_request_submit,
    public_cancellation_submit,
    refund_request_submit,
    sign_in_link_send,
    sign_in_link_use,
)

P = ParamSpec("P")
PUBLIC = Actor("public", "portal")
RETENTION_SESSION_KEY = "portal_retention_shown"


# -- plumbing ----------------------------------------------------------------------------------

def _activate_language(customer: Customer | None) -> None:
    """A signed-in customer reads the portal in their own language (else LocaleMiddleware's
    choice stands: the language cookie, then the browser's Accept-Language)."""
    if customer is not None and customer.locale in dict(settings.LANGUAGES):
        translation.activate(customer.locale)


def public_page(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """A page anyone may see; signed-in customers get it in their language."""
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        request = args[0]
        assert isinstance(request, HttpRequest)
        _activate_language(selectors.customer_of(request))
        return view(*args, **kwargs)

    return wrapper


def customer_page(view: Callable[Concatenate[HttpRequest, Customer, P], HttpResponse]
                  ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A page of the signed-in customer's own data: sign-in required, never cached."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        customer = selectors.customer_of(request)
        if customer is None:
            return render(request, "portal/not_customer.html", status=403)
        _activate_language(customer)
        response = view(request, customer, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


def _own(read: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a customer-filtered selector; another customer's (or no) object → 404."""
    try:
        return read(**kwargs)
    except ObjectDoesNotExist as error:
        raise Http404 from error


def _actor(request: HttpRequest, customer: Customer) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor("customer", str(customer.pk), user)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _too_many(request: HttpRequest, template: str, context: dict[str, Any],
              limit: Limit) -> HttpResponse:
    context["rate_limited"] = limit.retry_after_minutes
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(limit.retry_after)
    return response


def _day(value: datetime) -> str:
    return date_format(timezone.localtime(value), "DATE_FORMAT")


# -- home, sign-in, sign-out, language ---------------------------------------------------------

@public_page
def home(request: HttpRequest) -> HttpResponse:
    if selectors.customer_of(request) is not None:
        return redirect("portal:account")
    return render(request, "portal/home.html")


def _user_for_identifier(identifier: str) -> str | None:
    """The username behind an e-mail address or a username."""
    model = get_user_model()
    identifier = identifier.strip()
    if model.objects.filter(username=identifier).exists():
        return identifier
    customer = Customer.objects.filter(email__iexact=identifier, user__isnull=False).select_related(
        "user").first()
    if customer is not None and customer.user is not None:
        return customer.user.get_username()
    user = model.objects.filter(email__iexact=identifier).order_by("pk").first()
    return user.get_username() if user else None


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax",
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                        httponly=settings.LANGUAGE_COOKIE_HTTPONLY)


@public_page
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "next": _safe_next(request, "")}
    if request.method == "POST":
        limit = rate_limited(request, "sign_in", request.POST.get("identifier", ""))
        if limit.limited:
            return _too_many(request, "portal/sign_in.html", context, limit)
        if form.is_valid():
            username = _user_for_identifier(form.cleaned_data["identifier"])
            user = authenticate(request, username=username,
                                password=form.cleaned_data["password"]) if username else None
            if user is not None:
                login(request, user)
                customer = selectors.customer_of(request)
                response = redirect(_safe_next(request, reverse("portal:account")))
                if customer is not None:
                    _set_language_cookie(response, customer.locale)
                return response
            form.add_error(None, _("The e-mail address or the password is not right. Check "
                                   "them, or ask for a sign-in link by e-mail."))
    return render(request, "portal/sign_in.html", context, status=400 if form.errors else 200)


@public_page
@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    form = SignInLinkForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST":
        limit = rate_limited(request, "sign_in_link", request.POST.get("email", ""))
        if limit.limited:
            return _too_many(request, "portal/sign_in_link.html", context, limit)
        if form.is_valid():
            sign_in_link_send(actor=PUBLIC, email=form.cleaned_data["email"])
            context["sent_to"] = form.cleaned_data["email"]
            context["minutes"] = settings.REFUNDABLE_SIGN_IN_LINK_MAX_AGE // 60
            return render(request, "portal/sign_in_link_sent.html", context)
    return render(request, "portal/sign_in_link.html", context, status=400 if form.errors else 200)


@public_page
@require_http_methods(["GET", "POST"])
def sign_in_link_use_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a "Sign in" button (so that mail scanners opening the link do not spend it);
    POST spends the one-use link and signs in."""
    error = None
    if request.method == "GET":
        try:
            signing.loads(token, salt=SIGN_IN_SALT,
                          max_age=settings.REFUNDABLE_SIGN_IN_LINK_MAX_AGE)
        except signing.SignatureExpired:
            error = "expired"
        except signing.BadSignature:
            error = "invalid"
    else:
        try:
            user = sign_in_link_use(actor=PUBLIC, token=token)
        except SignInLinkError as failure:
            error = str(failure)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            customer = selectors.customer_of(request)
            response = redirect("portal:account")
            if customer is not None:
                _set_language_cookie(response, customer.locale)
            return response
    texts = {"expired": _("This sign-in link has expired."),
             "used": _("This sign-in link has already been used."),
             "invalid": _("This sign-in link is not valid.")}
    return render(request, "portal/sign_in_link_use.html",
                  {"error": texts.get(error or "", "")}, status=400 if error else 200)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("portal:home")


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("language", "")
    if code not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("unknown language")
    response = redirect(_safe_next(request, reverse("portal:home")))
    _set_language_cookie(response, code)
    customer = selectors.customer_of(request)
    if customer is not None:
        customer_locale_set(actor=_actor(request, customer), customer_id=customer.pk,
                            locale=code)
    return response


# -- the account ---------------------------------------------------------------------------------

@customer_page
def account(request: HttpRequest, customer: Customer) -> HttpResponse:
    now = timezone.now()
    rows = [selectors.subscription_row(s, now)
            for s in selectors.subscriptions_of(customer_id=customer.pk)]
    return render(request, "portal/account.html", {
        "customer": customer, "rows": rows,
        "orders": selectors.orders_of(customer_id=customer.pk),
        "requests": selectors.refund_requests_of(customer_id=customer.pk),
        "open_charges": selectors.charge_ids_with_open_requests(customer_id=customer.pk),
        "store_channels": STORE_CHANNELS,
    })


def _cancel_choices(subscription: Subscription, now: datetime) -> list[tuple[str, str]]:
    today = _day(now)
    now_label = _("Now — the service stops today, %(date)s") % {"date": today}
    end = subscription.current_period_end
    if subscription.status == Subscription.Status.ACTIVE and end is not None and end > now:
        return [("term_end", _("At the end of the current term — you keep the service until "
                               "%(date)s") % {"date": _day(end)}),
                ("now", now_label)]
    return [("now", now_label)]


@customer_page
@require_http_methods(["GET", "POST"])
def subscription_cancel_view(request: HttpRequest, customer: Customer,
                             pk: int) -> HttpResponse:
    subscription: Subscription = _own(selectors.subscription_of, customer_id=customer.pk,
                                      subscription_id=pk)
    now = timezone.now()
    row = selectors.subscription_row(subscription, now)
    if not row.can_cancel:
        return render(request, "portal/cancel_unavailable.html",
                      {"subscription": subscription}, status=409)
    choices = _cancel_choices(subscription, now)
    form = CancelChoiceForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_cancel(actor=_actor(request, customer), subscription_id=subscription.pk,
                                when=form.cleaned_data["when"])
        except SubscriptionError:
            messages.error(request, _("This subscription cannot be cancelled in its current "
                                      "state."))
            return redirect("portal:account")
        return redirect("portal:subscription_cancellation", pk=subscription.pk)
    shown: list[int] = request.session.get(RETENTION_SESSION_KEY, [])
    offer = (subscription.pk not in shown and subscription.status == Subscription.Status.ACTIVE
             and subscription.auto_renew and subscription.current_period_end is not None)
    if offer:
        request.session[RETENTION_SESSION_KEY] = [*shown, subscription.pk]
    return render(request, "portal/cancel.html", {
        "subscription": subscription, "row": row, "form": form, "retention_offer": offer,
        "store": subscription.channel in STORE_CHANNELS,
    }, status=400 if form.errors else 200)


@customer_page
def subscription_cancellation(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription: Subscription = _own(selectors.subscription_of, customer_id=customer.pk,
                                      subscription_id=pk)
    if subscription.status not in (Subscription.Status.CANCEL_SCHEDULED,
                                   Subscription.Status.CANCELED):
        return redirect("portal:account")
    return render(request, "portal/cancellation.html", {
        "subscription": subscription, "customer": customer,
        "row": selectors.subscription_row(subscription, timezone.now()),
        "store": subscription.channel in STORE_CHANNELS,
    })


@customer_page
@require_POST
def subscription_undo(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription: Subscription = _own(selectors.subscription_of, customer_id=customer.pk,
                                      subscription_id=pk)
    try:
        subscription_cancel_undo(actor=_actor(request, customer), subscription_id=subscription.pk)
    except SubscriptionError:
        messages.error(request, _("This cancellation can no longer be undone."))
    else:
        messages.success(request, _("Your cancellation is undone: the subscription continues. "
                                    "Auto-renewal stays off; you can turn it back on below."))
    return redirect("portal:account")


@customer_page
@require_POST
def subscription_auto_renew(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    subscription: Subscription = _own(selectors.subscription_of, customer_id=customer.pk,
                                      subscription_id=pk)
    enabled = request.POST.get("enabled")
    if enabled not in ("on", "off"):
        return HttpResponseBadRequest("enabled must be on or off")
    try:
        subscription_auto_renew_set(actor=_actor(request, customer),
                                    subscription_id=subscription.pk, enabled=enabled == "on")
    except SubscriptionError:
        messages.error(request, _("Auto-renewal can only change on an active subscription."))
    else:
        if enabled == "on":
            messages.success(request, _("Auto-renewal is on."))
        else:
            messages.success(request, _("Auto-renewal is off: you will not be charged again. "
                                        "The service continues until the end of the term."))
    return redirect(_safe_next(request, reverse("portal:account")))


@customer_page
def invoice(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    order = _own(selectors.order_of, customer_id=customer.pk, order_id=pk)
    return render(request, "portal/invoice.html", invoice_context(order))


@customer_page
def invoice_pdf_view(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    """The invoice as a PDF download in the customer's language; a 503 page saying why when
    this server cannot make PDFs (the HTML invoice still works)."""
    order = _own(selectors.order_of, customer_id=customer.pk, order_id=pk)
    try:
        pdf = invoice_pdf(order=order, language=customer.locale)
    except InvoicePdfUnavailable as error:
        return render(request, "portal/invoice_pdf_unavailable.html",
                      {"order": order, "reason": error.reason}, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{order.invoice_number}.pdf")
    return response


# -- refunds -------------------------------------------------------------------------------------

@customer_page
def refund_start(request: HttpRequest, customer: Customer) -> HttpResponse:
    busy = selectors.charge_ids_with_open_requests(customer_id=customer.pk)
    charges = [c for c in selectors.charges_of(customer_id=customer.pk)
               if c.refundable_amount > 0 and c.pk not in busy]
    return render(request, "portal/refund_start.html", {"charges": charges})


def _preview_context(charge: Any, reason: str, language: str) -> dict[str, Any]:
    try:
        decision = refund_preview(charge=charge, requested_at=timezone.now(), reason=reason)
    except FactsError:
        return {"preview_error": True}
    auto = (decision.outcome in ("refund", "credit")
            and (decision.amount or 0) <= settings.REFUNDABLE_AUTO_APPROVE_LIMIT)
    return {"decision": decision, "decision_message": decision.message(language),
            "auto_approve": auto}


@customer_page
@require_http_methods(["GET", "POST"])
def refund_new(request: HttpRequest, customer: Customer, charge_id: int) -> HttpResponse:
    charge = _own(selectors.charge_of, customer_id=customer.pk, charge_id=charge_id)
    language = translation.get_language() or "en"
    context: dict[str, Any] = {"charge": charge, "order": charge.order}
    existing = selectors.open_request_for_charge(customer_id=customer.pk, charge_id=charge.pk)
    if existing is not None or charge.refundable_amount <= 0:
        context["existing"] = existing
        return render(request, "portal/refund_unavailable.html", context, status=409)
    submit: RefundSubmitForm | None = None
    if request.method == "POST":
        submit = refund_submit_form_class(request.POST.get("reason", ""))(
            request.POST, request.FILES)
        if submit.is_valid():
            data = submit.cleaned_data
            try:
                created = refund_request_submit(
                    actor=_actor(request, customer), customer_id=customer.pk,
                    charge_id=charge.pk, reason=data["reason"],
                    description=data["description"], document=data.get("document"),
                    document_kind=data.get("document_kind") or "")
            except AttachmentError as error:
                submit.add_error("document", _document_problem(error))
            except (FactsError, RefundRequestError):
                messages.error(request, _("We could not record your request. Please contact "
                                          "us."))
                return redirect("portal:account")
            else:
                if data.get("document") and created.status in DECIDED_STATUSES:
                    messages.info(request, _("Your request was decided at once, so your "
                                             "document was not needed: we did not keep it."))
                return redirect("portal:refund_detail", pk=created.pk)
        reason_form = RefundReasonForm({"reason": request.POST.get("reason", "")})
    else:
        reason_form = RefundReasonForm(request.GET if "reason" in request.GET else None)
    context["reason_form"] = reason_form
    if reason_form.is_bound and reason_form.is_valid():
        reason = reason_form.cleaned_data["reason"]
        context.update(_preview_context(charge, reason, language[:2]))
        context["reason"] = reason
        context["submit_form"] = submit or refund_submit_form_class(reason)(
            initial={"reason": reason})
    bad = (reason_form.is_bound and not reason_form.is_valid()) or bool(submit and submit.errors)
    return render(request, "portal/refund_new.html", context, status=400 if bad else 200)


# Where the customer may add a document on the status page: while a person reviews the request,
# and to answer a request for information.
DOCUMENT_STATUSES = (RefundRequest.Status.IN_REVIEW, RefundRequest.Status.INFO_REQUESTED)


def _document_problem(error: AttachmentError, status: str | None = None) -> str:
    """What the customer reads when the service refused a file the form had accepted."""
    if status is not None and status not in DOCUMENT_STATUSES:
        return _("The review of this request has ended: documents can no longer be added.")
    return _("We could not store this document: %(problem)s.") % {"problem": error}


def _refund_detail(request: HttpRequest, customer: Customer, refund: RefundRequest,
                   document_form: DocumentAddForm | None = None) -> HttpResponse:
    language = (translation.get_language() or "en")[:2]
    engine = selectors.engine_decision(refund)
    message = ""
    if engine is not None:
        message = (engine.payload.get("messages") or {}).get(language) or engine.payload.get(
            "message", "")
    if document_form is None and refund.status in DOCUMENT_STATUSES:
        document_form = DocumentAddForm(reason=refund.reason)
    return render(request, "portal/refund_detail.html", {
        "refund": refund, "charge": refund.charge, "order": refund.charge.order,
        "timeline": selectors.refund_timeline(refund, language),
        "engine": engine, "engine_message": message,
        "arrival": refund_expected_arrival(request=refund),
        # The customer sees what they gave, never the content back (no download link).
        "attachments": selectors.attachments_of(customer_id=customer.pk,
                                                request_id=refund.pk),
        "document_form": document_form,
    }, status=400 if document_form is not None and document_form.errors else 200)


@customer_page
def refund_detail(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    refund = _own(selectors.refund_request_of, customer_id=customer.pk, request_id=pk)
    return _refund_detail(request, customer, refund)


@customer_page
@require_POST
def refund_document_add(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    """"Add a document" on the status page, while the request is in review or information was
    asked for."""
    refund = _own(selectors.refund_request_of, customer_id=customer.pk, request_id=pk)
    if refund.status not in DOCUMENT_STATUSES:
        messages.error(request, _("The review of this request has ended: documents can no "
                                  "longer be added."))
        return redirect("portal:refund_detail", pk=refund.pk)
    form = DocumentAddForm(request.POST, request.FILES, reason=refund.reason)
    if form.is_valid():
        upload = form.cleaned_data["document"]
        try:
            attachment_add(actor=_actor(request, customer), request_id=refund.pk,
                           kind=form.cleaned_data["kind"], uploaded_file=upload)
        except AttachmentError as error:
            refund.refresh_from_db(fields=["status"])
            form.add_error("document", _document_problem(error, refund.status))
        else:
            refund_request_info_received(actor=_actor(request, customer), request_id=refund.pk,
                                         note=f"document {upload.name}")
            messages.success(request, _("Thank you: we received your document “%(name)s”.")
                             % {"name": upload.name})
            return redirect("portal:refund_detail", pk=refund.pk)
    return _refund_detail(request, customer, refund, form)


# -- the forms that need no account ------------------------------------------------------------

@public_page
@require_http_methods(["GET", "POST"])
def public_cancel(request: HttpRequest) -> HttpResponse:
    """« Résilier mon contrat » / "Cancel my contract": identity, contract, desired date →
    a "Confirm cancellation" step → an acknowledgement with date and time."""
    if request.method == "GET":
        customer = selectors.customer_of(request)
        initial = {"name": customer.name, "email": customer.email} if customer else {}
        return render(request, "portal/public_cancel.html",
                      {"form": PublicCancelForm(initial=initial)})
    form = PublicCancelForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "portal/public_cancel.html", context, status=400)
    if request.POST.get("step") != "confirm" or "edit" in request.POST:
        template = "portal/public_cancel.html" if "edit" in request.POST else \
            "portal/public_cancel_confirm.html"
        return render(request, template, context)
    limit = rate_limited(request, "public_cancel", form.cleaned_data["email"])
    if limit.limited:
        return _too_many(request, "portal/public_cancel_confirm.html", context, limit)
    submission = public_cancellation_submit(
        actor=PUBLIC, name=form.cleaned_data["name"], email=form.cleaned_data["email"],
        reference=form.cleaned_data["reference"], when=form.cleaned_data["when"])
    return redirect("portal:public_cancel_done", token=acknowledgement_token(submission))


@public_page
def public_cancel_done(request: HttpRequest, token: str) -> HttpResponse:
    submission = acknowledgement_request(token)
    if submission is None or submission.kind != PublicRequest.Kind.CANCELLATION:
        raise Http404
    response = render(request, "portal/public_cancel_done.html", {"submission": submission})
    patch_cache_control(response, private=True, no_store=True)
    return response


@public_page
@require_http_methods(["GET", "POST"])
def activation_key(request: HttpRequest) -> HttpResponse:
    form = ActivationKeyForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST":
        limit = rate_limited(request, "activation_key", request.POST.get("invoice_number", ""))
        if limit.limited:
            return _too_many(request, "portal/activation_key.html", context, limit)
        if form.is_valid():
            activation_key_request_submit(actor=PUBLIC,
                                          holder_name=form.cleaned_data["holder_name"],
                                          invoice_number=form.cleaned_data["invoice_number"])
            return redirect("portal:activation_key_sent")
    return render(request, "portal/activation_key.html", context,
                  status=400 if form.errors else 200)


@public_page
def activation_key_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/activation_key_sent.html")


@public_page
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    """The official channels, their hours, open or closed now, and "is this number ours?"."""
    form = ContactCheckForm(request.POST or None)
    hours = opening_hours()
    context: dict[str, Any] = {
        "form": form, "state": support_open_state(timezone.now()),
        "phones": official_phones((translation.get_language() or "en")[:2]),
        "emails": official_emails(),
        "hours": [(WEEKDAYS[day], hours[day]) for day in range(7)],
    }
    status = 200
    if request.method == "POST":
        limit = rate_limited(request, "phone_check")
        if limit.limited:
            return _too_many(request, "portal/contact.html", context, limit)
        if form.is_valid():
            context["check"] = check_contact(form.cleaned_data["value"])
            context["checked"] = form.cleaned_data["value"]
        else:
            status = 400
    return render(request, "portal/contact.html", context, status=status)
