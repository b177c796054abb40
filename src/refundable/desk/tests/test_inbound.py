"""Replies by e-mail: ticket e-mails carry a signed reply address and Message-ID; a customer's
answer, sent with a real SMTP client to the real inbound server (aiosmtpd, SMTP and LMTP) or
given on standard input, lands on its ticket — quoted history and signature removed, the
ticket open again, PDF files on the refund request — and everything else is recorded for an
agent with the reason, once per Message-ID, without a traceback."""

from __future__ import annotations

import io
import smtplib
import sys
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.cli import main
from refundable.desk.inbound import UnreadableEmail, html_to_text, parse_email, strip_reply
from refundable.desk.mail import (
    message_id_for,
    reply_address,
    ticket_from_address,
    ticket_from_message_id,
)
from refundable.desk.mailserver import InboundController, InboundHandler
from refundable.desk.models import InboundEmail, Ticket, TicketMessage
from refundable.desk.services import (
    ticket_create,
    ticket_message_receive,
    ticket_reply,
    ticket_status_set,
)
from refundable.notifications.emails import email_message
from refundable.refunds.models import Attachment
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import free_port, text_of

from .helpers import PDF, actor_of, agent, customer, membership_charge, request_for, team

MAIL = Actor.system("mail-receive")
DOMAIN = "refundable.localhost"


# --- Builders ---------------------------------------------------------------------------------

def new_ticket(owner_id: int | None, **kwargs: Any) -> Ticket:
    values: dict[str, Any] = {"category": "billing", "subject": "Charged twice",
                              "body": "I was charged twice this month.", "now": NOW,
                              "customer_id": owner_id}
    values.update(kwargs)
    return ticket_create(actor=Actor.system("test"), **values)


def answered_ticket(email: str = "claire@example.test", *, locale: str = "fr",
                    status: str = "pending", **kwargs: Any) -> Ticket:
    """A ticket the desk answered, now waiting on the customer (``status``)."""
    owner = customer(email, locale=locale)
    ticket = new_ticket(owner.pk, **kwargs)
    ticket_reply(actor=actor_of(agent("ana")), ticket_id=ticket.pk,
                 body="Could you send us your bank statement?")
    if status != "open":
        ticket_status_set(actor=Actor.system("test"), ticket_id=ticket.pk, status=status)
    return ticket


def reply(*, sender: str, to: str, body: str = "", subject: str = "Re: Charged twice",
          message_id: str | None = None, in_reply_to: str | None = None,
          html: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Claire Martin <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = "Mon, 02 Mar 2026 11:00:00 +0100"
    mail["Message-ID"] = message_id or make_msgid(domain="mail.example.test")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    if body:
        mail.set_content(body)
    if html is not None:
        if body:
            mail.add_alternative(html, subtype="html")
        else:
            mail.set_content(html, subtype="html")
    return mail


def receive(mail: EmailMessage | bytes, **kwargs: Any) -> Any:
    raw = mail if isinstance(mail, bytes) else mail.as_bytes()
    return ticket_message_receive(actor=MAIL, raw_message=raw, **kwargs)


QUOTED_REPLY = """Thanks, here it is: the second charge is still on my statement.

Claire

Le lun. 2 mars 2026 à 10:00, Support <support@refundable.localhost> a écrit :
> Could you send us your bank statement?
>
> — Ana, service client
"""


@pytest.fixture
def inbound() -> Iterator[tuple[str, int]]:
    """The real inbound SMTP server on 127.0.0.1, storing through the real service."""
    handler = InboundHandler()
    controller = InboundController(handler, host="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port
    finally:
        controller.stop()
        handler.close()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    settings.MEDIA_ROOT = root
    return root


# --- Outgoing: the way back -------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "subject"), [("fr", "Re : Charged twice"),
                                                 ("en", "Re: Charged twice")])
def test_ticket_e_mails_in_french_and_english_carry_the_signed_reply_address(
        smtp: Any, locale: str, subject: str) -> None:
    ticket = answered_ticket(f"{locale}@example.test", locale=locale, status="open")
    run_queued_jobs()
    mail = next(m for m in smtp.messages if m["To"] == f"{locale}@example.test")
    assert mail["Subject"] == f"{subject} [#{ticket.pk}]"
    address = str(mail["Reply-To"])
    assert address == reply_address(ticket.pk)
    assert address.startswith(f"support+t{ticket.pk}-") and address.endswith(f"@{DOMAIN}")
    assert ticket_from_address(address).ticket_id == ticket.pk
    message = ticket.messages.filter(internal=False).last()
    assert message is not None
    assert mail["Message-ID"] == message_id_for(ticket_id=ticket.pk, message_id=message.pk)
    assert ticket_from_message_id(str(mail["Message-ID"])) == ticket.pk
    assert "répondez simplement à cet e-mail" in text_of(mail) if locale == "fr" else (
        "simply reply to this e-mail" in text_of(mail))


def test_tokens_cannot_be_made_up_for_another_ticket(settings: Any) -> None:
    genuine = reply_address(41)
    signature = genuine.split("-")[1].split("@")[0]
    for forged in (f"support+t42-{signature}@{DOMAIN}", f"support+t41-{'0' * 20}@{DOMAIN}",
                   f"support+t41@{DOMAIN}", f"support+t41-zz@{DOMAIN}"):
        check = ticket_from_address(forged)
        assert check.ticket_id is None and check.forged, forged
    assert ticket_from_address(genuine.upper()).ticket_id == 41  # servers may change case
    assert ticket_from_address(f"support@{DOMAIN}") == ticket_from_address("x@elsewhere.test")
    assert ticket_from_message_id(message_id_for(ticket_id=41, message_id=3)
                                  .replace("t41", "t42")) is None
    # After a key rotation the old key, kept in SECRET_KEY_FALLBACKS, still verifies.
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-test"
    assert ticket_from_address(genuine).ticket_id == 41
    settings.SECRET_KEY_FALLBACKS = []
    assert ticket_from_address(genuine).forged


# --- The reply through the real inbound SMTP server -------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_customer_reply_sent_by_smtp_lands_on_its_ticket_and_reopens_it(
        smtp: Any, inbound: tuple[str, int], client: Client) -> None:
    ticket = answered_ticket(status="pending")
    run_queued_jobs()
    sent = next(m for m in smtp.messages if m["To"] == "claire@example.test")
    answer = reply(sender="claire@example.test", to=str(sent["Reply-To"]), body=QUOTED_REPLY,
                   subject=f"Re: {sent['Subject']}", in_reply_to=str(sent["Message-ID"]))
    with smtplib.SMTP(*inbound, timeout=10) as client_smtp:
        refused = client_smtp.send_message(answer)
    assert refused == {}

    ticket.refresh_from_db()
    assert ticket.status == "open"  # pending → open, by the transition table
    message = ticket.messages.last()
    assert message is not None
    assert message.body == ("Thanks, here it is: the second charge is still on my statement."
                            "\n\nClaire")
    assert (message.internal, message.author) == (False, "Claire")
    assert message.author_user is not None
    assert message.author_user.email == "claire@example.test"
    inbound_email = InboundEmail.objects.get()
    assert (inbound_email.status, inbound_email.ticket_message_id) == ("attached", message.pk)
    assert inbound_email.message_id == answer["Message-ID"] and inbound_email.raw is None
    event = AuditEvent.objects.get(action="ticket.email_receive")
    assert event.object_id == str(ticket.pk) and event.customer_id == ticket.customer_id
    assert event.actor == "system:mail-receive"
    assert (event.before or {})["status"] == "pending"
    assert (event.after or {})["status"] == "open"

    # The desk shows it as an e-mail; the next answer continues the customer's thread.
    client.force_login(agent("bob"))
    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "by e-mail" in page and "&lt;claire@example.test&gt;" in page
    assert f'data-email="{escape(inbound_email.message_id)}"' in page
    ticket_reply(actor=Actor.system("test"), ticket_id=ticket.pk, body="Refunded.")
    smtp.messages.clear()
    run_queued_jobs()
    (follow_up,) = smtp.messages
    assert follow_up["In-Reply-To"] == answer["Message-ID"]


@pytest.mark.django_db(transaction=True)
def test_the_same_message_delivered_twice_is_stored_once(inbound: tuple[str, int]) -> None:
    ticket = answered_ticket(status="solved")
    answer = reply(sender="claire@example.test", to=reply_address(ticket.pk),
                   body="It happened again.")
    with smtplib.SMTP(*inbound, timeout=10) as client_smtp:
        client_smtp.send_message(answer)
        client_smtp.send_message(answer)  # an MTA retrying after a lost acknowledgement
    assert receive(answer).outcome == "duplicate"
    assert InboundEmail.objects.count() == 1
    assert ticket.messages.filter(body="It happened again.").count() == 1
    assert AuditEvent.objects.filter(action="ticket.email_receive").count() == 1
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.solved_at is None  # solved → open


@pytest.mark.django_db(transaction=True)
def test_the_server_refuses_other_recipients_and_speaks_lmtp(inbound: tuple[str, int]) -> None:
    ticket = answered_ticket()
    stranger = reply(sender="claire@example.test", to="someone@elsewhere.test", body="Hi")
    with smtplib.SMTP(*inbound, timeout=10) as client_smtp, pytest.raises(
            smtplib.SMTPRecipientsRefused) as refused:
        client_smtp.send_message(stranger)
    assert refused.value.recipients["someone@elsewhere.test"][0] == 550
    with smtplib.SMTP(*inbound, timeout=10) as client_smtp, pytest.raises(
            smtplib.SMTPRecipientsRefused):
        client_smtp.send_message(stranger, to_addrs=[f"billing@{DOMAIN}"])
    assert not InboundEmail.objects.exists()

    handler = InboundHandler(lmtp=True)
    controller = InboundController(handler, host="127.0.0.1", port=free_port())
    controller.start()
    try:
        with smtplib.LMTP("127.0.0.1", controller.port) as lmtp:
            lmtp.send_message(reply(sender="claire@example.test", to=reply_address(ticket.pk),
                                    body="By LMTP."))
    finally:
        controller.stop()
        handler.close()
    assert ticket.messages.filter(body="By LMTP.").exists()


# --- Finding the ticket, and who may write to it ----------------------------------------------

@pytest.mark.django_db
def test_a_forged_reply_address_is_rejected_not_attached() -> None:
    ticket = answered_ticket()
    before = ticket.messages.count()
    forged = f"support+t{ticket.pk}-{'ab' * 10}@{DOMAIN}"
    receipt = receive(reply(sender="claire@example.test", to=forged, body="Refund me now",
                            subject=f"Re: [#{ticket.pk}]"))
    assert (receipt.outcome, receipt.reason) == ("rejected", "forged_token")
    assert ticket.messages.count() == before
    recorded = InboundEmail.objects.get()
    assert recorded.detail == forged and recorded.ticket is None
    assert recorded.raw is not None  # kept, so an agent can still put it on a ticket
    assert AuditEvent.objects.filter(action="inbound_email.rejected",
                                     object_id=str(recorded.pk)).exists()


@pytest.mark.django_db
def test_a_strangers_reply_is_left_for_an_agent_who_can_attach_it(client: Client) -> None:
    ticket = answered_ticket()
    receipt = receive(reply(sender="mallory@example.test", to=reply_address(ticket.pk),
                            body="Please refund to my card instead."))
    assert (receipt.outcome, receipt.reason) == ("unmatched", "not_customer")
    assert not ticket.messages.filter(body__contains="my card").exists()
    recorded = InboundEmail.objects.get()
    assert recorded.ticket_id == ticket.pk and recorded.ticket_message is None
    assert AuditEvent.objects.filter(action="inbound_email.unmatched").exists()

    zoe = agent("zoe", teams=(team("billing"),))
    client.force_login(zoe)
    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "1 e-mail about this ticket waits for review" in page
    listing = client.get("/desk/inbound/").content.decode()
    assert "mallory@example.test" in listing and "Please refund to my card" in listing
    assert "Not sent from the address of the ticket&#x27;s customer" in listing
    assert "E-mails to review <span class=\"badge\">1</span>" in listing  # the menu

    bad = client.post(f"/desk/inbound/{recorded.pk}/attach/", {"ticket": 99999})
    assert bad.status_code == 400 and "There is no ticket #99999" in bad.content.decode()
    done = client.post(f"/desk/inbound/{recorded.pk}/attach/", {"ticket": ticket.pk})
    assert done.status_code == 302 and done["Location"] == f"/desk/tickets/{ticket.pk}/"
    message = ticket.messages.get(body="Please refund to my card instead.")
    assert message.author == "Claire Martin"  # the sender's name: not the customer
    recorded.refresh_from_db()
    assert (recorded.status, recorded.reviewed_by) == ("attached", zoe)
    event = AuditEvent.objects.get(action="ticket.email_receive")
    assert event.actor == "agent:zoe" and "an agent" in event.note
    again = client.post(f"/desk/inbound/{recorded.pk}/attach/", {"ticket": ticket.pk})
    assert again.status_code == 409 and "already on ticket" in again.content.decode()
    assert client.get("/desk/inbound/").content.decode().count('class="panel inbound"') == 0


@pytest.mark.django_db
def test_dismissing_an_e_mail_takes_it_off_the_list(client: Client) -> None:
    receive(reply(sender="nobody@example.test", to=f"support@{DOMAIN}", body="Spam, spam."))
    recorded = InboundEmail.objects.get()
    assert (recorded.status, recorded.reason) == ("unmatched", "no_ticket")
    client.force_login(agent("ana"))
    assert client.post(f"/desk/inbound/{recorded.pk}/dismiss/").status_code == 302
    recorded.refresh_from_db()
    assert recorded.reviewed_at is not None and recorded.raw is None
    assert "Spam, spam." not in client.get("/desk/inbound/").content.decode()
    assert "Spam, spam." in client.get("/desk/inbound/", {"show": "all"}).content.decode()
    assert AuditEvent.objects.filter(action="inbound_email.dismiss").exists()
    assert client.post("/desk/inbound/999999/dismiss/").status_code == 404


@pytest.mark.django_db
def test_threading_headers_find_the_ticket_and_the_subject_only_from_the_customer() -> None:
    ticket = answered_ticket()
    sent = ticket.messages.filter(internal=False).last()
    assert sent is not None
    our_id = message_id_for(ticket_id=ticket.pk, message_id=sent.pk)
    # Replied to the From address: no token, but In-Reply-To names an e-mail we sent.
    by_thread = receive(reply(sender="claire@example.test", to=f"support@{DOMAIN}",
                              body="By thread.", in_reply_to=our_id))
    assert (by_thread.outcome, by_thread.ticket_id) == ("attached", ticket.pk)
    # A Message-ID that only looks like ours does not count.
    fake = our_id.replace(our_id.split(".")[3].split("@")[0], "0" * 20)
    assert receive(reply(sender="claire@example.test", to=f"support@{DOMAIN}",
                         body="Fake thread.", in_reply_to=fake)).reason == "no_ticket"
    # A new e-mail with [#id] in the subject: only from the ticket customer's address.
    mine = receive(reply(sender="CLAIRE@example.test", to=f"support@{DOMAIN}",
                         body="By subject.", subject=f"About [#{ticket.pk}]"))
    assert mine.outcome == "attached"
    theirs = receive(reply(sender="mallory@example.test", to=f"support@{DOMAIN}",
                           body="By subject too.", subject=f"About [#{ticket.pk}]"))
    assert (theirs.outcome, theirs.reason) == ("unmatched", "no_ticket")
    assert list(ticket.messages.filter(body__startswith="By").values_list(
        "body", flat=True)) == ["By thread.", "By subject."]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "after"), [("pending", "open"), ("solved", "open"),
                                               ("open", "open"), ("on_hold", "on_hold")])
def test_a_reply_reopens_only_a_ticket_waiting_on_the_customer_or_solved(
        status: str, after: str) -> None:
    ticket = answered_ticket(status=status)
    receive(reply(sender="claire@example.test", to=reply_address(ticket.pk), body="Hello?"))
    ticket.refresh_from_db()
    assert ticket.status == after


@pytest.mark.django_db
def test_a_reply_to_a_closed_ticket_is_left_for_an_agent() -> None:
    ticket = answered_ticket(status="solved")
    ticket_status_set(actor=Actor.system("test"), ticket_id=ticket.pk, status="closed")
    receipt = receive(reply(sender="claire@example.test", to=reply_address(ticket.pk),
                            body="One more thing."))
    assert (receipt.outcome, receipt.reason) == ("unmatched", "ticket_closed")
    ticket.refresh_from_db()
    assert ticket.status == "closed"


@pytest.mark.django_db
def test_automatic_replies_are_ignored_and_reopen_nothing() -> None:
    ticket = answered_ticket(status="pending")
    out_of_office = reply(sender="claire@example.test", to=reply_address(ticket.pk),
                          body="I am away until Monday.")
    out_of_office["Auto-Submitted"] = "auto-replied"
    receipt = receive(out_of_office)
    assert (receipt.outcome, receipt.reason) == ("ignored", "automatic")
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    assert InboundEmail.objects.get().raw is None


# --- What is kept of the message --------------------------------------------------------------

@pytest.mark.django_db
def test_an_html_only_reply_is_converted_to_text_without_the_quote() -> None:
    ticket = answered_ticket()
    html = ("<html><head><style>p { color: red }</style></head><body>"
            "<div dir='ltr'><p>Hello,</p><p>It <b>still</b> fails &amp; I&#39;m tired."
            "<br>Claire</p></div><div class='gmail_quote'><div>On Mon, Ana wrote:</div>"
            "<blockquote><p>Could you send us<p>your bank statement?</blockquote></div>"
            "<script>alert(1)</script></body></html>")
    receipt = receive(reply(sender="claire@example.test", to=reply_address(ticket.pk),
                            html=html))
    assert receipt.outcome == "attached"
    message = TicketMessage.objects.get(pk=receipt.ticket_message_id)
    assert message.body == "Hello,\n\nIt still fails & I'm tired.\nClaire"


@pytest.mark.django_db
def test_a_pdf_attachment_lands_on_the_refund_request(media: Path) -> None:
    team("special", confidential=True)
    request = request_for(membership_charge(owner=customer("claire@example.test")),
                          "special_circumstances", documents=["death_certificate"])
    ticket = new_ticket(request.customer_id, category="refund", refund_request_id=request.pk)
    answer = reply(sender="claire@example.test", to=reply_address(ticket.pk),
                   body="Here is the certificate.\n\n-- \nClaire Martin\n06 00 00 00 00")
    answer.add_attachment(PDF, maintype="application", subtype="pdf",
                          filename="certificate.pdf")
    answer.add_attachment(b"PK\x03\x04 not a pdf", maintype="application",
                          subtype="octet-stream", filename="notes.docx")
    receipt = receive(answer)
    assert receipt.outcome == "attached"
    attachment = Attachment.objects.get(request=request)
    assert (attachment.kind, attachment.original_name, attachment.content_type) == (
        "email_attachment", "certificate.pdf", "application/pdf")
    assert attachment.confidential  # a special-circumstances document stays confidential
    with attachment.file.open("rb") as stored:
        assert stored.read() == PDF
    message = TicketMessage.objects.get(pk=receipt.ticket_message_id)
    # The signature is gone; the refused file is listed, in the customer's language.
    assert message.body == ("Here is the certificate.\n\nFichiers joints à l'e-mail, non "
                            "conservés :\n- notes.docx (application/octet-stream, 14\xa0octets)")
    files = InboundEmail.objects.get().attachments
    assert [(f["name"], f["kept"], f["why"]) for f in files] == [
        ("certificate.pdf", True, "kept"), ("notes.docx", False, "type_refused")]
    assert AuditEvent.objects.filter(action="attachment.add",
                                     object_id=str(attachment.pk)).exists()


@pytest.mark.django_db
def test_files_of_a_ticket_without_a_request_are_listed_not_kept(
        media: Path, client: Client) -> None:
    ticket = answered_ticket("sam@example.test", locale="en")
    answer = reply(sender="sam@example.test", to=reply_address(ticket.pk), body="Receipt.")
    answer.add_attachment(PDF, maintype="application", subtype="pdf", filename="receipt.pdf")
    receipt = receive(answer)
    message = TicketMessage.objects.get(pk=receipt.ticket_message_id)
    assert message.body == ("Receipt.\n\nFiles attached to the e-mail, not kept:\n"
                            f"- receipt.pdf (application/pdf, {len(PDF)}\xa0bytes)")
    assert not Attachment.objects.exists()
    client.force_login(agent("bob"))
    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "receipt.pdf" in page and "not kept: the ticket has no refund request" in page


# --- Junk never raises ------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe garbage \x00", b"just some words\n\nand more",
    b"From: \x00\xff<<<@@>>>\r\nSubject: =?utf-8?q?broken\r\nContent-Type: multipart/mixed; "
    b"boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
    b"\xff\xfe\x00text\r\n--x",
    b"From: claire@example.test\r\nTo: support+t1-zz@refundable.localhost\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n<p><b><i>unclosed",
])
def test_junk_is_recorded_with_a_reason_never_a_traceback(raw: bytes) -> None:
    receipt = ticket_message_receive(actor=MAIL, raw_message=raw)
    assert receipt.outcome in ("rejected", "unmatched") and receipt.inbound_id is not None
    recorded = InboundEmail.objects.get(pk=receipt.inbound_id)
    assert recorded.reason and recorded.status == receipt.outcome
    assert ticket_message_receive(actor=MAIL, raw_message=raw).outcome == "duplicate"


@pytest.mark.django_db
def test_a_message_too_large_is_refused(settings: Any) -> None:
    settings.REFUNDABLE_INBOUND_MAX_BYTES = 1000
    ticket = answered_ticket()
    receipt = receive(reply(sender="claire@example.test", to=reply_address(ticket.pk),
                            body="x" * 2000))
    assert (receipt.outcome, receipt.reason) == ("rejected", "too_large")
    assert receipt.detail.endswith(" > 1000 bytes")
    assert InboundEmail.objects.get().raw is None


# --- The command line (MTA pipe transport) ----------------------------------------------------

@pytest.mark.django_db
def test_mail_receive_stdin_takes_one_message(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ticket = answered_ticket()
    answer = reply(sender="claire@example.test", to=f"support@{DOMAIN}", body="From a pipe.")

    class Stdin:
        buffer = io.BytesIO(answer.as_bytes())

    monkeypatch.setattr(sys, "stdin", Stdin())
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        code = main(["mail-receive", "--stdin", "--recipient", reply_address(ticket.pk)])
    assert code == 0
    assert f"received: attached to ticket #{ticket.pk}" in capsys.readouterr().out
    assert ticket.messages.filter(body="From a pipe.").exists()
    assert InboundEmail.objects.get().received_at == NOW + timedelta(days=1)


def test_mail_receive_refuses_a_bad_inbound_address(settings: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    settings.REFUNDABLE_INBOUND_ADDRESS = "not an address"
    assert main(["mail-receive", "--stdin"]) == 1
    assert "REFUNDABLE_INBOUND_ADDRESS must be a plain address" in capsys.readouterr().err


# --- Pure text handling -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "new"), [
    ("Thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, Support <s@x.test> wrote:\n> Hi", "Thanks!"),
    ("Merci.\n\nLe lun. 2 mars 2026 à 10:00, Support <s@x.test> a\nécrit :\n> Bonjour",
     "Merci."),
    ("Still broken.\n\n________________________________\nFrom: Support\nSent: Monday\n"
     "To: Claire\nSubject: Re: x\n\nold", "Still broken."),
    ("OK\n\n-----Original Message-----\nFrom: Support", "OK"),
    ("Yes.\n\nSent from my iPhone", "Yes."),
    ("Oui.\n-- \nClaire\n06 00 00 00 00", "Oui."),
    ("> Did it work?\nNo.\n> And now?\nYes.\n\n> old\n> older", "> Did it work?\nNo.\n"
     "> And now?\nYes."),
    ("Claire <c@x.test> wrote:\n> quoted only", ""),
])
def test_strip_reply_keeps_the_new_words(text: str, new: str) -> None:
    assert strip_reply(text) == new


_SAMPLE = reply(sender="claire@example.test", to=f"support+t1-{'0' * 20}@{DOMAIN}",
               body=QUOTED_REPLY, html="<p>Thanks<blockquote>old</blockquote></p>",
               in_reply_to="<refundable.t1.m2.x@refundable.localhost>")
_SAMPLE.add_attachment(PDF, maintype="application", subtype="pdf", filename="é.pdf")
_SAMPLE_BYTES = _SAMPLE.as_bytes()


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_SAMPLE_BYTES)), st.integers(0, 40),
                          st.binary(max_size=12) | st.sampled_from(
                              [b"\r\n", b"=?utf-8?q?", b"?=", b"<", b'"', b"--", b"\x00",
                               b"Content-Type: multipart/mixed; boundary=z\r\n", b"@"])),
                max_size=12))
def test_reading_a_damaged_e_mail_never_fails_with_anything_but_unreadable(
        damage: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(_SAMPLE_BYTES)
    for position, cut, insert in damage:
        raw[position:position + cut] = insert
    try:
        data = parse_email(bytes(raw))
    except UnreadableEmail:
        return
    assert "\x00" not in data.text + data.subject + data.sender + data.message_id


def test_html_to_text_survives_unclosed_tags_inside_quotes() -> None:
    html = "<p>Before<blockquote><p>quoted<li>item</blockquote><p>After &lt;3</p>"
    assert html_to_text(html) == "Before\nAfter <3"


@pytest.mark.django_db
def test_the_reply_headers_are_built_for_the_job() -> None:
    ticket = answered_ticket("sam@example.test", locale="en", status="open")
    message = ticket.messages.filter(internal=False).last()
    assert message is not None
    built = email_message(template="ticket_reply", to="sam@example.test", language="en",
                          context={"ticket_id": ticket.pk, "message_id": message.pk})
    mime = built.message()
    assert mime.get_all("Reply-To") == [reply_address(ticket.pk)]
    assert mime.get_all("Message-ID") == [message_id_for(ticket_id=ticket.pk,
                                                         message_id=message.pk)]
    assert mime["In-Reply-To"] is None  # the customer never wrote by e-mail yet
