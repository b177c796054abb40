"""Builders for the webhook tests."""

from __future__ import annotations

import socket

from refundable.audit.services import Actor
from refundable.webhooks.models import WebhookEndpoint
from refundable.webhooks.services import webhook_endpoint_create

from .receiver import Receiver

OPERATOR = Actor("operator", "olga")


def endpoint_for(receiver: Receiver, *types: str) -> WebhookEndpoint:
    """An active endpoint at the receiver's URL; the receiver learns the secret."""
    created = webhook_endpoint_create(actor=OPERATOR, url=receiver.url,
                                      event_types=list(types) or ["*"],
                                      description="ERP integration")
    receiver.secret = created.secret
    return created.endpoint


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"
