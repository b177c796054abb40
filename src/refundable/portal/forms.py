"""The portal's forms. Fields with errors get ``aria-invalid`` and ``aria-describedby``
pointing at their error list (see ``templates/portal/includes/field.html``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..refunds.labels import REASON_LABELS


class AccessibleForm(forms.Form):
    """Marks invalid fields for assistive technologies once validated."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            described = [f"{bound.auto_id}_errors"]
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(described)


class SignInForm(AccessibleForm):
    identifier = forms.CharField(label=_("E-mail address"), max_length=254,
                                 widget=forms.TextInput(attrs={"autocomplete": "username",
                                                               "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(
                                   attrs={"autocomplete": "current-password"}))


class SignInLinkForm(AccessibleForm):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


WHEN_CHOICES = [("term_end", _("At the end of the current term")), ("now", _("Now"))]


class CancelChoiceForm(AccessibleForm):
    when = forms.ChoiceField(label=_("When should the cancellation take effect?"),
                             widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["when"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        if not self.is_bound:
            self.initial.setdefault("when", choices[0][0])


class PublicCancelForm(AccessibleForm):
    name = forms.CharField(label=_("Your name"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             help_text=_("The address of the account the contract belongs to; "
                                         "the confirmation is sent there."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    reference = forms.CharField(label=_("Contract reference"), max_length=60,
                                help_text=_("Shown on your order confirmation and invoices, "
                                            "e.g. CT-100001."))
    when = forms.ChoiceField(label=_("Desired date"), choices=WHEN_CHOICES,
                             initial="term_end", widget=forms.RadioSelect)


class RefundReasonForm(AccessibleForm):
    reason = forms.ChoiceField(label=_("Why are you asking for a refund?"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Choose a reason…")), *REASON_LABELS.items()]


class RefundSubmitForm(RefundReasonForm):
    description = forms.CharField(
        label=_("Describe the problem"), max_length=5000, required=False,
        help_text=_("What happened, and anything that helps us decide (dates, amounts)."),
        widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget = forms.HiddenInput()


class ActivationKeyForm(AccessibleForm):
    holder_name = forms.CharField(label=_("Holder name"), max_length=200,
                                  widget=forms.TextInput(attrs={"autocomplete": "name"}))
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=60,
                                     help_text=_("As printed on the invoice of the purchase, "
                                                 "e.g. INV-300001."))


class ContactCheckForm(AccessibleForm):
    value = forms.CharField(label=_("Phone number, e-mail address or web address to check"),
                            max_length=200)
