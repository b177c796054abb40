"""Labels of the codes the desk shows (statuses, categories, channels, outcomes), in French and
English through gettext."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LABELS: dict[str, Promise] = {
    # ticket statuses
    "new": _("New"), "open": _("Open"), "pending": _("Pending"), "on_hold": _("On hold"),
    "solved": _("Solved"), "closed": _("Closed"),
    # refund request statuses
    "submitted": _("Submitted"), "troubleshooting": _("Troubleshooting"),
    "in_review": _("In review"), "info_requested": _("Information requested"),
    "offered": _("Offer made"), "approved": _("Approved"), "denied": _("Denied"),
    "redirected": _("Redirected"),
    # categories
    "billing": _("Billing"), "refund": _("Refund"), "technical": _("Technical"),
    "cancellation": _("Cancellation"), "account": _("Account"), "other": _("Other"),
    # channels
    "web": _("Web form"), "email": _("E-mail"), "chat": _("Chat"), "phone": _("Phone"),
    "api": _("API"),
    # decision outcomes
    "deny": _("Denial"), "review": _("Review"), "troubleshoot_first": _("Troubleshoot first"),
    "offer": _("Offer"), "redirect": _("Redirect"), "credit": _("Credit"), "fee": _("Fee"),
    # subscription statuses
    "active": _("Active"), "cancel_scheduled": _("Cancellation scheduled"),
    "canceled": _("Cancelled"), "expired": _("Expired"),
    # queue
    "request": _("Refund request"), "ticket": _("Ticket"),
    "first_response": _("First response"), "resolution": _("Resolution"),
    # troubleshooting states
    "none": _("None"), "in_progress": _("In progress"), "resolved": _("Resolved"),
    "unresolved": _("Unresolved"), "refused": _("Refused"),
    # received e-mails: what became of them, and why
    "attached": _("On its ticket"), "unmatched": _("To review"), "rejected": _("Rejected"),
    "ignored": _("Ignored"),
    "no_ticket": _("No ticket found for it"),
    "not_customer": _("Not sent from the address of the ticket's customer"),
    "ticket_closed": _("The ticket is closed"),
    "forged_token": _("Forged reply address: its signature does not match"),
    "no_sender": _("No sender address"), "unreadable": _("Not a readable e-mail"),
    "too_large": _("Too large"), "automatic": _("Automatic reply or bounce"),
    # files attached to a received e-mail
    "file_kept": _("kept on the refund request"),
    "file_type_refused": _("not kept: only PDF, PNG and JPEG files are kept"),
    "file_too_large": _("not kept: larger than 10 MB"),
    "file_no_request": _("not kept: the ticket has no refund request"),
    "file_empty": _("not kept: empty"),
    "file_too_many": _("not kept: too many files in one e-mail"),
    "file_refused": _("not kept: the refund request refused it"),
}


def label(code: str | None) -> str:
    if not code:
        return ""
    found = LABELS.get(code)
    return str(found) if found is not None else code.replace("_", " ")
