"""Documents given with a refund request (seed 002): stored outside the web root, PDF and
pictures only, confidential ones visible to the reviewing team alone and deleted when the
review ends — the record that they existed stays, with the deletion in the audit log.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import PurePath
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record
from .errors import AttachmentError
from .models import Attachment, RefundRequest

SPECIAL_CIRCUMSTANCES = "special_circumstances"
# Seed 002's documents: PDF or pictures, checked by their first bytes, never by their name.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
_MAGIC: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes: PDF, PNG or JPEG only."""
    for magic, content_type, extension in _MAGIC:
        if head.startswith(magic):
            return content_type, extension
    return None


def attachment_add(*, actor: Actor, request_id: int, kind: str,
                   uploaded_file: File[Any]) -> Attachment:
    """Store a document given with a request, under ``MEDIA_ROOT`` (outside the web root,
    served only by the desk's download view) with a random name.

    Accepts PDF, PNG and JPEG recognised by their first bytes (the name and the declared type
    are not trusted), up to 10 MB. A document of a special-circumstances request is
    confidential: only teams handling confidential documents can open it, and its content is
    deleted when the review ends. Raises ``AttachmentError``.
    """
    if not _KIND.match(kind):
        raise AttachmentError("the kind of document must be a short code such as "
                              "death_certificate or screenshot")
    size = uploaded_file.size
    if not size:
        raise AttachmentError("the file is empty")
    if size > ATTACHMENT_MAX_BYTES:
        raise AttachmentError("the file is larger than 10 MB")
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    sniffed = sniff_content_type(head if isinstance(head, bytes) else b"")
    if sniffed is None:
        raise AttachmentError("only PDF, PNG and JPEG files are accepted")
    content_type, extension = sniffed
    original = PurePath((uploaded_file.name or "document").replace("\\", "/")).name[:200]
    with transaction.atomic():
        request = RefundRequest.objects.select_for_update(of=("self",)).get(pk=request_id)
        if request.status in (RefundRequest.Status.APPROVED, RefundRequest.Status.DENIED,
                              RefundRequest.Status.CLOSED, RefundRequest.Status.REDIRECTED):
            raise AttachmentError(f"refund request #{request.pk} is {request.status}: its "
                                  "review has ended")
        attachment = Attachment(
            request=request, kind=kind, original_name=original or "document",
            content_type=content_type, size=size,
            confidential=request.reason == SPECIAL_CIRCUMSTANCES)
        attachment.file.save(f"{uuid.uuid4().hex}.{extension}", uploaded_file, save=False)
        stored = attachment.file.name or ""
        storage = attachment.file.storage
        try:
            attachment.save()
            audit_record(actor=actor, action="attachment.add", obj=attachment,
                         customer_id=request.customer_id, after=_attachment_state(attachment),
                         note=f"for refund request #{request.pk}")
        except BaseException:
            storage.delete(stored)
            raise
    return attachment


def _attachment_state(attachment: Attachment) -> dict[str, Any]:
    return {"request": attachment.request_id, "kind": attachment.kind,
            "original_name": attachment.original_name,
            "content_type": attachment.content_type, "size": attachment.size,
            "confidential": attachment.confidential, "stored": bool(attachment.file),
            "content_deleted_at": (attachment.content_deleted_at.isoformat()
                                   if attachment.content_deleted_at else None)}


def attachments_purge_for(*, actor: Actor, request_id: int,
                          now: datetime | None = None) -> int:
    """Delete the content of the request's confidential documents (seed 002: at the end of the
    review). The records stay — kind, name, type, size, when — with ``content_deleted_at`` set
    and an ``attachment.content_deleted`` audit event each; the files are removed from storage
    once the transaction commits. Returns how many were purged."""
    now = now or timezone.now()
    with transaction.atomic():
        attachments = list(Attachment.objects.select_for_update().select_related("request")
                           .filter(request_id=request_id, confidential=True,
                                   content_deleted_at__isnull=True).order_by("id"))
        stored: list[str] = []
        for attachment in attachments:
            before = _attachment_state(attachment)
            if attachment.file.name:
                stored.append(attachment.file.name)
            attachment.file = None
            attachment.content_deleted_at = now
            attachment.save(update_fields=["file", "content_deleted_at"])
            audit_record(actor=actor, action="attachment.content_deleted", obj=attachment,
                         customer_id=attachment.request.customer_id, before=before,
                         after=_attachment_state(attachment),
                         note="confidential document deleted at the end of the review")
        if stored:
            transaction.on_commit(lambda: _files_delete(stored))
    return len(attachments)


def _files_delete(names: list[str]) -> None:
    storage = Attachment.file.field.storage
    for name in names:
        storage.delete(name)
