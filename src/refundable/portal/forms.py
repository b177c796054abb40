"""The portal's forms. Fields with errors get ``aria-invalid`` and ``aria-describedby``
pointing at their error list (see ``templates/portal/includes/field.html``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from ..refunds.attachments import (
    ATTACHMENT_MAX_BYTES,
    SPECIAL_CIRCUMSTANCES,
    sniff_content_type,
)
from ..refunds.labels import REASON_LABELS
from .labels import DOCUMENT_KIND_LABELS, document_kinds_for


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


# -- documents given with a refund request (seed 002) -----------------------------------------

# A hint for the browser's file picker only: the content is what is checked.
DOCUMENT_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


def check_document(upload: UploadedFile) -> None:
    """The customer's words for what ``refunds.services.attachment_add`` refuses (an empty
    file, over the size limit, not a PDF, PNG or JPEG by its first bytes), checked with the same
    limit and the same sniffing so that the form names the problem in the customer's language.
    The service checks again: it stays the authority."""
    size = upload.size or 0
    if size == 0:
        raise forms.ValidationError(_("The file is empty."), code="empty")
    if size > ATTACHMENT_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is too large (%(size)s): the limit is %(limit)s. Send a smaller scan or "
              "photo, or a PDF."),
            code="too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(ATTACHMENT_MAX_BYTES)})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if sniff_content_type(head if isinstance(head, bytes) else b"") is None:
        raise forms.ValidationError(
            _("This file is not a PDF, PNG or JPEG document (we check its content, not its "
              "name). Send the document as a PDF or as a PNG or JPEG picture."),
            code="file_type")


def _document_field(*, required: bool) -> forms.FileField:
    return forms.FileField(
        label=_("Document"), required=required,
        help_text=_("PDF, PNG or JPEG, up to %(limit)s.") % {
            "limit": filesizeformat(ATTACHMENT_MAX_BYTES)},
        widget=forms.FileInput(attrs={"accept": DOCUMENT_ACCEPT}))


def _kind_field(kinds: list[str], *, required: bool) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("What is the document?"), required=required,
        choices=[("", _("Choose…")), *((k, DOCUMENT_KIND_LABELS[k]) for k in kinds)])


class SpecialCircumstancesSubmitForm(RefundSubmitForm):
    """The refund form for special circumstances (seed 002): an optional supporting document
    (a death or medical certificate), confidential and deleted when the review ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_kind"] = _kind_field(document_kinds_for(SPECIAL_CIRCUMSTANCES),
                                                   required=False)
        self.fields["document"] = _document_field(required=False)
        self.fields["document"].help_text = _(
            "A death certificate or a medical certificate, as a PDF or a PNG or JPEG picture up "
            "to %(limit)s. It is confidential: only the team reviewing your request can see it, "
            "and it is deleted as soon as the review ends.") % {
            "limit": filesizeformat(ATTACHMENT_MAX_BYTES)}

    def clean_document(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("document")
        if upload:
            check_document(upload)
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("document") and not cleaned.get("document_kind"):
            self.add_error("document_kind", _("Say what the document is."))
        return cleaned


def refund_submit_form_class(reason: str) -> type[RefundSubmitForm]:
    """The submit step's form for ``reason``: with a document field for special
    circumstances."""
    return SpecialCircumstancesSubmitForm if reason == SPECIAL_CIRCUMSTANCES else RefundSubmitForm


class DocumentAddForm(AccessibleForm):
    """"Add a document" on a request's status page (e.g. to answer an information request)."""

    def __init__(self, *args: Any, reason: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"] = _kind_field(document_kinds_for(reason), required=True)
        self.fields["document"] = _document_field(required=True)

    def clean_document(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["document"]
        check_document(upload)
        return upload


class ActivationKeyForm(AccessibleForm):
    holder_name = forms.CharField(label=_("Holder name"), max_length=200,
                                  widget=forms.TextInput(attrs={"autocomplete": "name"}))
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=60,
                                     help_text=_("As printed on the invoice of the purchase, "
                                                 "e.g. INV-300001."))


class ContactCheckForm(AccessibleForm):
    value = forms.CharField(label=_("Phone number, e-mail address or web address to check"),
                            max_length=200)
