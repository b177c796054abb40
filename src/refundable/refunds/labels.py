"""Words for customers: the refund reasons and request statuses in French and English
(gettext, catalogue in ``src/refundable/locale``)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..policy.facts import REASONS

REASON_LABELS: dict[str, Promise] = {
    "dissatisfied": _("I am not satisfied with the product"),
    "technical_issue": _("It does not work (technical problem)"),
    "wrongful_charge": _("I was charged without my consent"),
    "duplicate_charge": _("I was charged twice"),
    "special_circumstances": _("Special circumstances (death, illness…)"),
    "service_outage": _("The service was interrupted"),
    "withdrawal": _("I withdraw from the contract (14-day right)"),
    "not_renewal_intended": _("I did not mean to renew"),
    "weak_connection": _("My internet connection is weak or unstable"),
    "device_incompatible": _("My device is not compatible"),
    "isp_restriction": _("My internet provider blocks the service"),
    "scheduled_maintenance": _("The service was under maintenance"),
    "misconfiguration": _("I could not set the service up"),
    "temporary_interruption": _("Buffering, freezes or channels offline"),
    "other": _("Another reason"),
}
assert set(REASON_LABELS) == set(REASONS), "every reason of the policy facts needs a label"

STATUS_LABELS: dict[str, Promise] = {
    "submitted": _("Received"),
    "troubleshooting": _("Troubleshooting first"),
    "in_review": _("Being reviewed by our team"),
    "info_requested": _("Waiting for information from you"),
    "offered": _("Options offered"),
    "approved": _("Approved"),
    "denied": _("Declined"),
    "redirected": _("To be handled by the seller or store"),
    "closed": pgettext_lazy("refund request status", "Closed"),
}

OUTCOME_HEADINGS: dict[str, Promise] = {
    "refund": _("You are owed a refund"),
    "credit": _("You are owed an account credit"),
    "deny": _("Not refundable under the policy"),
    "review": _("A person on our team will decide"),
    "troubleshoot_first": _("Troubleshooting comes first"),
    "offer": _("You will be able to choose"),
    "redirect": _("Ask the seller or the store"),
    "fee": _("A person on our team will decide"),
}


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
