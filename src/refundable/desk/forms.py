"""Forms of the desk (server-rendered, usable without JavaScript)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from ..policy.money import exponent
from .models import Macro, Team, Ticket

User = get_user_model()


def to_minor(value: Decimal, currency: str) -> int | None:
    """``Decimal("89.99"), "EUR"`` → 8999; None when the value has more decimals than the
    currency's minor unit."""
    scaled = value * (10 ** exponent(currency))
    try:
        whole = scaled.to_integral_exact()
    except InvalidOperation:
        return None
    return int(whole) if whole == scaled else None


class _StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


def _staff_field() -> _StaffChoice:
    return _StaffChoice(queryset=User.objects.filter(staff_profile__isnull=False)
                        .order_by("username"), required=False, label=_("Agent"),
                        empty_label=_("Nobody"))


def _team_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                  label=_("Team"), empty_label=_("No team"))


class _Form(forms.Form):
    """Several forms share a page: each names its fields' ids after itself."""

    id_prefix = "f"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label=_("Show"), choices=[
        ("", _("Requests and tickets")), ("request", _("Refund requests")),
        ("ticket", _("Tickets"))])
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                  label=_("Team"), empty_label=_("All teams"))
    category = forms.ChoiceField(required=False, label=_("Category"), choices=[
        ("", _("All categories")), ("billing", _("Billing")), ("refund", _("Refund")),
        ("technical", _("Technical")), ("cancellation", _("Cancellation")),
        ("account", _("Account")), ("other", _("Other"))])
    status = forms.ChoiceField(required=False, label=_("Status"), choices=[
        ("", _("All open")), ("new", _("New")), ("open", _("Open")),
        ("pending", _("Pending")), ("on_hold", _("On hold")),
        ("in_review", _("In review")), ("info_requested", _("Information requested")),
        ("troubleshooting", _("Troubleshooting")), ("submitted", _("Submitted"))])
    assignee = forms.ChoiceField(required=False, label=_("Assigned to"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agents = User.objects.filter(staff_profile__isnull=False).order_by("username")
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in agents]]


class ApproveForm(_Form):
    id_prefix = "approve"

    amount = forms.DecimalField(label=_("Amount to refund"), min_value=Decimal("0.01"),
                                max_digits=14, decimal_places=3)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=2000)

    def __init__(self, *args: Any, currency: str = "EUR", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        step = str(Decimal(1).scaleb(-exponent(currency)))  # 0.01 for EUR, 1 for JPY
        self.fields["amount"].widget.attrs.update({"step": step, "min": step})
        self.fields["amount"].label = _("Amount to refund (%(currency)s)") % {
            "currency": currency}

    def clean_amount(self) -> int:
        minor = to_minor(self.cleaned_data["amount"], self.currency)
        if minor is None or minor <= 0:
            raise forms.ValidationError(_("Give the amount in %(currency)s with at most "
                                          "%(places)s decimals.") % {
                "currency": self.currency, "places": exponent(self.currency)})
        return minor


class DenyForm(_Form):
    id_prefix = "deny"

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=2000)


class AskInfoForm(_Form):
    id_prefix = "ask"

    question = forms.CharField(label=_("Question for the customer"),
                               widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class ResolveForm(_Form):
    id_prefix = "resolve"

    note = forms.CharField(label=_("What fixed it"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AssignForm(_Form):
    id_prefix = "assign"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = _team_field()
        self.fields["assignee"] = _staff_field()


class ReplyForm(_Form):
    id_prefix = "reply"

    body = forms.CharField(label=_("Reply to the customer (sent by e-mail)"),
                           widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)


class NoteForm(_Form):
    id_prefix = "note"

    body = forms.CharField(label=_("Internal note (never shown to the customer)"),
                           widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)


class MacroForm(_Form):
    id_prefix = "macro"

    macro = forms.ModelChoiceField(queryset=Macro.objects.order_by("name"), label=_("Macro"),
                                   empty_label=None)


class StatusForm(_Form):
    id_prefix = "status"

    status = forms.ChoiceField(label=_("New status"))

    def __init__(self, *args: Any, current: str = "new", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(TICKET_STATUS_LABELS)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            (status, labels[status]) for status, _label in TICKET_STATUS_LABELS
            if status in Ticket.TRANSITIONS.get(current, set())]


TICKET_STATUS_LABELS = [
    ("new", _("New")), ("open", _("Open")), ("pending", _("Pending")),
    ("on_hold", _("On hold")), ("solved", _("Solved")), ("closed", _("Closed"))]


class TicketCreateForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=[
        ("billing", _("Billing")), ("refund", _("Refund")), ("technical", _("Technical")),
        ("cancellation", _("Cancellation")), ("account", _("Account")), ("other", _("Other"))])
    channel = forms.ChoiceField(label=_("Channel"), initial="phone", choices=[
        ("phone", _("Phone")), ("email", _("E-mail")), ("chat", _("Chat")),
        ("web", _("Web form"))])
    customer_email = forms.EmailField(label=_("Customer's e-mail"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("What the customer said"), required=False,
                           widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, initial=2, choices=[
        (1, _("1 — urgent")), (2, _("2 — normal")), (3, _("3 — low")), (4, _("4 — lowest"))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = forms.ModelChoiceField(
            queryset=Team.objects.order_by("name"), required=False, label=_("Team"),
            empty_label=_("Route by category"))


class InboundAttachForm(forms.Form):
    """Put a received e-mail on a ticket (one form per e-mail of the review list)."""

    ticket = forms.IntegerField(label=_("Ticket number"), min_value=1)
