"""Reads of the webhook pages: endpoints, the delivery log and one delivery's detail."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import WebhookDelivery, WebhookEndpoint


def endpoints_with_counts() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, newest first, with how many deliveries failed or were abandoned."""
    troubled = Q(deliveries__status__in=(WebhookDelivery.Status.FAILED,
                                         WebhookDelivery.Status.ABANDONED))
    return WebhookEndpoint.objects.annotate(
        troubled=Count("deliveries", filter=troubled)).order_by("-id")


def delivery_log(*, endpoint_id: int | None = None, status: str | None = None,
                 event_type: str | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries, newest first, filtered by what is given."""
    deliveries = WebhookDelivery.objects.select_related("event", "endpoint").order_by("-id")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event__type=event_type)
    return deliveries


def delivery_detail(delivery_id: int) -> WebhookDelivery:
    """One delivery with its event, endpoint and attempts (raises ``DoesNotExist``)."""
    return WebhookDelivery.objects.select_related("event", "endpoint").prefetch_related(
        "attempt_log").get(pk=delivery_id)
