"""Context builders of the portal's e-mails (registered with ``notifications.emails``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from ..notifications.emails import context_builder


@context_builder("sign_in_link")
def sign_in_link_context(context: dict[str, Any]) -> dict[str, Any]:
    """The link is signed when the e-mail is rendered: the job queue never holds a token."""
    from .models import SignInLink
    from .services import sign_in_token

    link = SignInLink.objects.select_related("customer").get(pk=context["link_id"])
    path = reverse("portal:login_link_use", kwargs={"token": sign_in_token(link)})
    return {"customer": link.customer, "url": settings.REFUNDABLE_BASE_URL + path,
            "minutes": settings.REFUNDABLE_SIGN_IN_LINK_MAX_AGE // 60}
