"""Documents in the portal (seed 002): a certificate given with a special-circumstances
request, "add a document" on the status page while the request is reviewed or information is
asked for, the list of what was given — never the content back — and the purge at the end of the
review. All through the real URLs, files stored under a temporary MEDIA_ROOT."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.refunds.models import Attachment, RefundRequest
from refundable.refunds.services import (
    refund_request_approve,
    refund_request_ask_info,
    refund_request_create,
)
from refundable.testing.factories import NOW

from .conftest import Account, make_account, membership_plan

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
AGENT = Actor("agent", "rita")
SOON = NOW + timedelta(days=1)


def upload(content: bytes = PDF, name: str = "acte-de-deces.pdf",
           content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def member(name: str = "Claire Petit", email: str = "claire@example.test",
           locale: str = "en") -> tuple[Account, Client]:
    account = make_account(name, email, locale, plan=membership_plan())
    client = Client()
    assert account.customer.user is not None
    client.force_login(account.customer.user)
    return account, client


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def special_request(account: Account, documents: list[str] | None = None) -> RefundRequest:
    return refund_request_create(
        actor=Actor("customer", str(account.customer.pk)), customer_id=account.customer.pk,
        charge_id=account.charge.pk, reason="special_circumstances", documents=documents,
        now=NOW)


# -- with the refund request --------------------------------------------------------------------

def test_a_certificate_given_with_a_special_circumstances_request(media: Path) -> None:
    account, client = member()
    url = reverse("portal:refund_new", args=[account.charge.pk])
    with time_machine.travel(SOON, tick=False):
        page = client.get(url, {"reason": "special_circumstances"}).content.decode()
        assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
        assert "Supporting document" in page and "Death certificate" in page
        assert "deleted as soon as the review ends" in page
        response = client.post(url, {"reason": "special_circumstances",
                                     "description": "My husband passed away in January.",
                                     "document_kind": "death_certificate",
                                     "document": upload()})
    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert response["Location"] == reverse("portal:refund_detail", args=[request.pk])
    assert request.status == "in_review" and request.channel == "web"
    # The policy knew a certificate was given: no request for one.
    decision = request.decisions.get()
    assert decision.facts["documents"] == ["death_certificate"]
    assert decision.rule == "special-circumstances-with-documents"
    attachment = Attachment.objects.get(request=request)
    assert attachment.confidential and attachment.kind == "death_certificate"
    assert attachment.original_name == "acte-de-deces.pdf"
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)
    assert Path(attachment.file.path).is_relative_to(media)
    assert Path(attachment.file.path).read_bytes() == PDF
    assert AuditEvent.objects.filter(action="attachment.add",
                                     actor=f"customer:{account.customer.pk}").count() == 1
    with time_machine.travel(SOON, tick=False):
        status = client.get(response["Location"]).content.decode()
    assert "Your documents" in status and "acte-de-deces.pdf" in status
    assert "Death certificate" in status
    assert "Confidential: only the team reviewing your request can see it." in status
    # Never the content back: no link to the file, not even its stored name.
    assert "/desk/attachments/" not in status and "/media/" not in status
    assert Path(attachment.file.name or "?").name not in status
    assert "Add a document" in status  # in review: more can be added


def test_other_reasons_offer_no_file_field(alice: Account, alice_client: Client) -> None:
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    page = alice_client.get(url, {"reason": "duplicate_charge"}).content.decode()
    assert 'type="file"' not in page
    assert "if we need any, we will ask you for them by e-mail" in page


def test_a_wrong_file_type_is_refused_on_the_form_and_nothing_is_recorded(media: Path) -> None:
    account, client = member()
    url = reverse("portal:refund_new", args=[account.charge.pk])
    with time_machine.travel(SOON, tick=False):
        response = client.post(url, {"reason": "special_circumstances", "description": "",
                                     "document_kind": "medical_certificate",
                                     "document": upload(GIF, "certificat.pdf")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This file is not a PDF, PNG or JPEG document" in page
    assert 'aria-invalid="true"' in page and "Please correct the following:" in page
    assert not RefundRequest.objects.exists() and not Attachment.objects.exists()
    assert stored_files(media) == []
    assert AuditEvent.objects.count() == 0


def test_a_document_needs_its_kind(media: Path) -> None:
    account, client = member()
    url = reverse("portal:refund_new", args=[account.charge.pk])
    with time_machine.travel(SOON, tick=False):
        response = client.post(url, {"reason": "special_circumstances",
                                     "document": upload()})
    assert response.status_code == 400
    assert "Say what the document is." in response.content.decode()
    assert not RefundRequest.objects.exists() and stored_files(media) == []


def test_without_a_document_the_request_still_goes_and_the_policy_asks_for_one(
        media: Path) -> None:
    account, client = member()
    url = reverse("portal:refund_new", args=[account.charge.pk])
    with time_machine.travel(SOON, tick=False):
        response = client.post(url, {"reason": "special_circumstances",
                                     "description": "Hospitalised since February."})
    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert request.decisions.get().rule == "special-circumstances-documents-needed"
    assert not Attachment.objects.exists()
    with time_machine.travel(SOON, tick=False):
        status = client.get(response["Location"]).content.decode()
    assert "You have not given any document with this request." in status
    assert "Add a document" in status


def test_a_document_is_not_kept_when_the_policy_decided_at_once(
        alice: Account, alice_client: Client, media: Path) -> None:
    """Special circumstances on a plan whose policy refunds at once: the review is already over,
    so a confidential document would have to be deleted straight away — it is not stored."""
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    with time_machine.travel(SOON, tick=False):
        response = alice_client.post(url, {"reason": "special_circumstances",
                                           "document_kind": "medical_certificate",
                                           "document": upload(PNG, "scan.png", "image/png")})
    assert response.status_code == 302
    assert RefundRequest.objects.get().status == "approved"
    assert not Attachment.objects.exists() and stored_files(media) == []
    with time_machine.travel(SOON, tick=False):
        status = alice_client.get(response["Location"]).content.decode()
    assert "your document was not needed: we did not keep it." in status


# -- on the status page -------------------------------------------------------------------------

def test_the_customer_answers_an_information_request_with_a_document(media: Path) -> None:
    account, client = member("Bruno Leroy", "bruno@example.test")
    request = special_request(account)
    refund_request_ask_info(actor=AGENT, request_id=request.pk,
                            question="Please send the medical certificate.")
    detail = reverse("portal:refund_detail", args=[request.pk])
    add = reverse("portal:refund_document_add", args=[request.pk])
    with time_machine.travel(SOON, tick=False):
        page = client.get(detail).content.decode()
        assert "or add a document below" in page
        form = re.search(f'<form method="post" action="{re.escape(add)}"[^>]*>', page)
        assert form is not None and 'enctype="multipart/form-data"' in form.group(0)
        response = client.post(add, {"kind": "medical_certificate",
                                     "document": upload(PNG, "certificat.png", "image/png")})
        assert response.status_code == 302 and response["Location"] == detail
        page = client.get(detail).content.decode()
    assert "we received your document “certificat.png”" in page
    attachment = Attachment.objects.get(request=request)
    assert attachment.kind == "medical_certificate" and attachment.confidential
    assert attachment.content_type == "image/png"
    assert "certificat.png" in page and "Medical certificate" in page
    assert [p.read_bytes() for p in stored_files(media)] == [PNG]
    request.refresh_from_db()
    assert request.status == "in_review"  # the answer sends it back to the reviewers


def test_an_oversize_document_is_refused_naming_the_size(media: Path) -> None:
    account, client = member()
    request = special_request(account, documents=["death_certificate"])
    add = reverse("portal:refund_document_add", args=[request.pk])
    big = PDF + b"\x00" * (10 * 1024 * 1024 + 1 - len(PDF))
    with time_machine.travel(SOON, tick=False):
        response = client.post(add, {"kind": "death_certificate", "document": upload(big)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file is too large (10.0\xa0MB): the limit is 10.0\xa0MB." in page
    assert "Please correct the following:" in page
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_a_wrong_type_on_the_status_page(media: Path) -> None:
    account, client = member()
    request = special_request(account, documents=["death_certificate"])
    add = reverse("portal:refund_document_add", args=[request.pk])
    with time_machine.travel(SOON, tick=False):
        response = client.post(add, {"kind": "other_document",
                                     "document": upload(b"<html><script>x</script>",
                                                        "certificate.pdf")})
        empty = client.post(add, {"kind": "other_document", "document": upload(b"", "e.pdf")})
        missing = client.post(add, {"kind": "other_document"})
    assert response.status_code == 400
    assert "This file is not a PDF, PNG or JPEG document" in response.content.decode()
    assert empty.status_code == 400 and "empty" in empty.content.decode()
    assert missing.status_code == 400 and "This field is required." in missing.content.decode()
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_the_errors_are_in_french_for_a_french_customer(media: Path) -> None:
    account, client = member(locale="fr")
    request = special_request(account, documents=["death_certificate"])
    with time_machine.travel(SOON, tick=False):
        page = client.get(reverse("portal:refund_detail", args=[request.pk])).content.decode()
        response = client.post(reverse("portal:refund_document_add", args=[request.pk]),
                               {"kind": "death_certificate", "document": upload(GIF)})
    assert "Ajouter un document" in page and "Certificat de décès" in page
    assert response.status_code == 400
    assert "Ce fichier" in response.content.decode()
    assert "PDF, PNG ou JPEG" in response.content.decode()


def test_another_customers_request_is_404_and_nothing_is_stored(
        alice_client: Client, media: Path) -> None:
    bob, _ = member("Bob Durand", "bob.member@example.test")
    request = special_request(bob)
    events = AuditEvent.objects.count()
    with time_machine.travel(SOON, tick=False):
        added = alice_client.post(reverse("portal:refund_document_add", args=[request.pk]),
                                  {"kind": "death_certificate", "document": upload()})
        shown = alice_client.get(reverse("portal:refund_detail", args=[request.pk]))
    assert added.status_code == 404 and shown.status_code == 404
    assert not Attachment.objects.exists() and stored_files(media) == []
    assert AuditEvent.objects.count() == events
    assert Client().post(reverse("portal:refund_document_add", args=[request.pk]),
                         {"kind": "death_certificate", "document": upload()}).status_code == 302


def test_the_upload_form_needs_the_csrf_token(media: Path) -> None:
    account, _ = member()
    request = special_request(account)
    client = Client(enforce_csrf_checks=True)
    assert account.customer.user is not None
    client.force_login(account.customer.user)
    add = reverse("portal:refund_document_add", args=[request.pk])
    with time_machine.travel(SOON, tick=False):
        assert client.post(add, {"kind": "death_certificate",
                                 "document": upload()}).status_code == 403
    assert not Attachment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_after_the_review_the_list_says_deleted_and_no_document_can_be_added(
        media: Path) -> None:
    account, client = member()
    request = special_request(account, documents=["death_certificate"])
    detail = reverse("portal:refund_detail", args=[request.pk])
    add = reverse("portal:refund_document_add", args=[request.pk])
    with time_machine.travel(SOON, tick=False):
        client.post(add, {"kind": "death_certificate", "document": upload()})
    assert len(stored_files(media)) == 1
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        refund_request_approve(actor=AGENT, request_id=request.pk, amount=19999,
                               reason="Certificate checked; full refund.")
    assert stored_files(media) == []  # deleted when the review ended (on commit)
    attachment = Attachment.objects.get(request=request)
    assert attachment.content_deleted_at is not None and not attachment.file
    with time_machine.travel(NOW + timedelta(days=6), tick=False):
        page = client.get(detail).content.decode()
        late = client.post(add, {"kind": "other_document", "document": upload()}, follow=True)
    assert "acte-de-deces.pdf" in page  # the record stays
    assert "Deleted after the review (March 6, 2026)." in page
    assert "Confidential: only the team" not in page
    assert "Add a document" not in page and add not in page
    assert "The review of this request has ended: documents can no longer be added." in (
        late.content.decode())
    assert Attachment.objects.filter(request=request).count() == 1
    assert stored_files(media) == []
