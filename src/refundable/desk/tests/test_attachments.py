"""Seed 002, special circumstances: documents checked by their content and size, stored outside
the web root, confidential (only a team handling confidential documents opens them), and their
content deleted when the review ends — the deletion recorded, the record kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.refunds.attachments import attachment_add, attachments_purge_for
from refundable.refunds.errors import AttachmentError
from refundable.refunds.models import Attachment, RefundRequest
from refundable.refunds.services import refund_request_approve, refund_request_deny

from .helpers import (
    JPEG,
    PDF,
    PNG,
    actor_of,
    agent,
    customer,
    membership_charge,
    request_for,
    team,
    upload,
)

pytestmark = pytest.mark.django_db(transaction=True)


def special_request() -> RefundRequest:
    team("billing")
    team("special", confidential=True)
    owner = customer("claire@example.test")
    request = request_for(membership_charge(owner=owner), "special_circumstances",
                          documents=["death_certificate"])
    assert request.status == "in_review"
    return request


def add(request: RefundRequest, content: bytes = PDF, name: str = "acte-de-deces.pdf",
        kind: str = "death_certificate") -> Attachment:
    from refundable.audit.services import Actor

    return attachment_add(actor=Actor("customer", str(request.customer_id)),
                          request_id=request.pk, kind=kind,
                          uploaded_file=upload(content, name))


def test_documents_are_sniffed_stored_under_media_root_and_confidential(media: Path) -> None:
    request = special_request()
    pdf = add(request)
    png = add(request, PNG, "scan.png", "medical_certificate")
    jpeg = add(request, JPEG, "photo.jpeg", "other_document")
    assert [a.content_type for a in (pdf, png, jpeg)] == [
        "application/pdf", "image/png", "image/jpeg"]
    assert all(a.confidential for a in (pdf, png, jpeg))
    assert pdf.original_name == "acte-de-deces.pdf" and pdf.size == len(PDF)
    stored = Path(pdf.file.path)
    assert stored.is_relative_to(media) and stored.read_bytes() == PDF
    assert "acte" not in stored.name and stored.suffix == ".pdf"  # a random name
    event = AuditEvent.objects.filter(action="attachment.add").first()
    assert event is not None and event.after is not None and event.after["confidential"]


def test_a_document_of_an_ordinary_request_is_not_confidential(media: Path) -> None:
    team("billing")
    request = request_for(membership_charge(), "wrongful_charge")
    assert add(request, PNG, "statement.png", "bank_statement").confidential is False


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"<html><script>alert(1)</script></html>", "certificate.pdf", "PDF, PNG and JPEG"),
    (b"MZ\x90\x00\x03executable", "certificate.jpg", "PDF, PNG and JPEG"),
    (b"GIF89a....", "picture.gif", "PDF, PNG and JPEG"),
    (b"", "empty.pdf", "empty"),
    (PDF + b"\x00" * (10 * 1024 * 1024), "big.pdf", "larger than 10 MB"),
])
def test_refused_files(media: Path, content: bytes, name: str, message: str) -> None:
    request = special_request()
    with pytest.raises(AttachmentError, match=message):
        add(request, content, name)
    assert not Attachment.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_exactly_10_mb_is_accepted_and_bad_kinds_are_refused(media: Path) -> None:
    request = special_request()
    assert add(request, PDF + b"\x00" * (10 * 1024 * 1024 - len(PDF))).size == 10 * 1024 * 1024
    with pytest.raises(AttachmentError, match="kind"):
        add(request, kind="../../etc")


def test_the_content_is_deleted_when_the_review_ends_and_the_deletion_recorded(
        media: Path) -> None:
    request = special_request()
    first, second = add(request), add(request, PNG, "hospital.png", "medical_certificate")
    paths = [Path(first.file.path), Path(second.file.path)]
    assert all(path.exists() for path in paths)
    reviewer = agent("rita", teams=(team("special", confidential=True),))
    refund_request_approve(actor=actor_of(reviewer), request_id=request.pk, amount=19999,
                           reason="Death certificate checked; full refund.")
    assert not any(path.exists() for path in paths)
    for attachment in Attachment.objects.filter(request=request):
        assert not attachment.file and attachment.content_deleted_at is not None
        assert attachment.original_name and attachment.size  # the record stays
    deletions = AuditEvent.objects.filter(action="attachment.content_deleted").order_by("id")
    assert [e.object_id for e in deletions] == [str(first.pk), str(second.pk)]
    event = deletions[0]
    assert event.actor == "agent:rita" and event.before is not None and event.after is not None
    assert (event.before["stored"], event.after["stored"]) == (True, False)
    assert event.after["original_name"] == "acte-de-deces.pdf"
    with pytest.raises(AttachmentError, match="review has ended"):
        add(request)
    assert attachments_purge_for(actor=actor_of(reviewer), request_id=request.pk) == 0


def test_a_denial_ends_the_review_too(media: Path) -> None:
    request = special_request()
    path = Path(add(request).file.path)
    refund_request_deny(actor=actor_of(agent("rita")), request_id=request.pk,
                        reason="The document does not concern the account holder.")
    assert not path.exists()
    assert Attachment.objects.get(request=request).content_deleted_at is not None


def test_only_a_team_handling_confidential_documents_can_open_them(
        media: Path, client: Client) -> None:
    request = special_request()
    document = add(request)
    url = f"/desk/attachments/{document.pk}/"
    billing_agent = agent("bob", teams=(team("billing"),))
    reviewer = agent("rita", teams=(team("special", confidential=True),))

    client.force_login(billing_agent)
    assert client.get(url).status_code == 404
    page = client.get(f"/desk/requests/{request.pk}/")
    assert page.status_code == 200
    assert url not in page.content.decode()
    assert "acte-de-deces.pdf" in page.content.decode()  # the record is visible, not the file

    client.force_login(reviewer)
    response: Any = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"
    assert url in client.get(f"/desk/requests/{request.pk}/").content.decode()

    # The review ends: nobody can open it any more, and the page says it was deleted.
    client.post(f"/desk/requests/{request.pk}/approve/",
                {"amount": "199.99", "reason": "Certificate checked."})
    assert client.get(url).status_code == 404
    page = client.get(f"/desk/requests/{request.pk}/")
    assert "content deleted on" in page.content.decode()
    assert "attachment.content_deleted" in page.content.decode()  # in the audit trail


def test_ordinary_documents_are_for_any_agent_and_nobody_else(media: Path,
                                                              client: Client) -> None:
    team("billing")
    request = request_for(membership_charge(), "wrongful_charge")
    document = add(request, PNG, "statement.png", "bank_statement")
    url = f"/desk/attachments/{document.pk}/"
    client.force_login(agent("bob"))
    response: Any = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    owner = request.customer.user
    assert owner is not None
    client.force_login(owner)  # a customer, even the owner, does not use the desk
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302
