"""Forms of the webhook pages (server-rendered, usable without JavaScript)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from .events import EVENT_TYPES, pattern_choices
from .models import WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         validators=[URLValidator(schemes=["http", "https"])],
                         help_text=_("Where Refundable POSTs the events (http:// or https://)."))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"), widget=forms.CheckboxSelectMultiple,
        help_text=_("A family with .* receives every event of that family, * receives all."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_types"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = pattern_choices()


class RotateForm(forms.Form):
    retire_now = forms.BooleanField(
        label=_("Retire the old secret at once (it leaked)"), required=False,
        help_text=_("Otherwise the old secret keeps signing alongside the new one for 24 "
                    "hours, so the receiver can switch without rejecting deliveries."))


class DeliveryFilterForm(forms.Form):
    endpoint = forms.ModelChoiceField(queryset=WebhookEndpoint.objects.order_by("url"),
                                      required=False, label=_("Endpoint"),
                                      empty_label=_("All endpoints"))
    status = forms.ChoiceField(required=False, label=_("Status"),
                               choices=[("", _("Any status")), *WebhookDelivery.Status.choices])
    event_type = forms.ChoiceField(required=False, label=_("Event type"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any event type")), *((t, t) for t in EVENT_TYPES)]
