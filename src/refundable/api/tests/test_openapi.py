"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

import pytest
from django.test import Client

from .support import API

EXPECTED = {
    "/api/v1/customers": {"get"},
    "/api/v1/customers/{customer_id}": {"get"},
    "/api/v1/subscriptions": {"get"},
    "/api/v1/subscriptions/{subscription_id}": {"get"},
    "/api/v1/subscriptions/{subscription_id}/cancel": {"post"},
    "/api/v1/subscriptions/{subscription_id}/undo-cancel": {"post"},
    "/api/v1/subscriptions/{subscription_id}/auto-renewal": {"post"},
    "/api/v1/orders": {"get"},
    "/api/v1/orders/{order_id}": {"get"},
    "/api/v1/orders/{order_id}/invoice.pdf": {"get"},
    "/api/v1/refund-requests": {"get", "post"},
    "/api/v1/refund-requests/{request_id}": {"get"},
    "/api/v1/tickets": {"get"},
    "/api/v1/tickets/{ticket_id}": {"get"},
}


def test_the_document_lists_every_path_with_its_conventions() -> None:
    response = Client().get(f"{API}/openapi.json")  # public: no key needed
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Refundable API"
    assert "Idempotency-Key" in document["info"]["description"]
    assert {path: set(item) for path, item in document["paths"].items()} == EXPECTED
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and operation["description"], (method, path)
            assert operation["security"] == [{"ApiKeyAuth": []}, {"CustomerSessionAuth": []}]
            assert "401" in operation["responses"]
            if "{" in path:
                assert "404" in operation["responses"]
            if method == "post":
                headers = {p["name"]: p for p in operation["parameters"]
                           if p["in"] == "header"}
                assert headers["Idempotency-Key"]["required"] is True
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"]["scheme"] == "bearer"
    assert schemes["CustomerSessionAuth"]["in"] == "cookie"
    error = document["components"]["schemas"]["ErrorDetail"]["properties"]
    assert set(error) == {"type", "code", "message", "param"}
    create = document["paths"]["/api/v1/refund-requests"]["post"]["responses"]
    assert "201" in create and "409" in create and "422" in create


@pytest.mark.django_db
def test_the_docs_page_serves_swagger_from_the_app() -> None:
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger" in page.lower() and f"{API}/openapi.json" in page
    assert "cdn." not in page  # self-hosted: the bundled assets, no CDN
