"""Reading a received e-mail (RFC 5322, the standard library's ``email`` package): who sent it,
what it answers, the customer's new words without the quoted history or the signature, and its
attached files. Pure functions, no database: ``services.ticket_message_receive`` decides.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser

MESSAGE_ID_MAX = 255  # longer Message-IDs are kept as their SHA-256
ATTACHMENTS_MAX = 10  # files looked at in one message; more are listed as not kept


class UnreadableEmail(ValueError):
    """The bytes are not an e-mail we can read (the message says why, for people)."""


@dataclass(frozen=True)
class InboundFile:
    filename: str
    declared_type: str
    data: bytes


@dataclass
class InboundEmailData:
    message_id: str  # the key that makes receiving idempotent
    sender: str  # the From address, lower case ("" when missing)
    sender_name: str
    subject: str
    recipients: list[str]  # To, Cc and the delivery headers, plus the envelope's
    answers: list[str]  # In-Reply-To then References, newest first
    text: str  # the new words (quotes and signature removed)
    automatic: str = ""  # why it looks like an automatic message (auto-reply, bounce)
    files: list[InboundFile] = field(default_factory=list)


def clean(text: str, limit: int | None = None) -> str:
    """Text safe for every database: no NUL (PostgreSQL refuses it), no lone surrogates (what
    undecodable header bytes become), optionally cut to ``limit`` characters."""
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit is not None else text


def _header(message: Message, name: str) -> str:
    """A header as text; a header the parser chokes on is taken raw rather than failing."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # malformed headers make the policy's parser raise various errors
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                return str(raw)
        return ""


def _all_headers(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name) or []]
    except Exception:  # see _header
        return [str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()]


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    try:
        pairs = getaddresses(values)
    except Exception:  # a hopeless address list: none usable
        return []
    return [(clean(name, 200), clean(address).strip().lower()) for name, address in pairs
            if "@" in address]


_ID = re.compile(r"<([^<>\s]+)>")


def _message_ids(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        found.extend(_ID.findall(value))
    return found


def message_key(raw: bytes, message_id: str) -> str:
    """The Message-ID as stored (``<…>``); without one, the SHA-256 of the bytes, so the same
    delivery twice is still recognised."""
    found = _message_ids([message_id])
    key = f"<{found[0]}>" if found else message_id.strip()
    if not key:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    key = clean(key)
    if len(key) > MESSAGE_ID_MAX:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


def _automatic(message: Message, sender: str) -> str:
    """Why this is an automatic message (an empty string when a person wrote it): answering
    or reopening on out-of-office replies and bounces would loop or mislead."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(message, name):
            return f"{name} header"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return f"sent by {sender}"
    return ""


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # an unknown charset or a broken transfer encoding: decode by hand
        pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def parse_email(raw: bytes, *, envelope_recipients: tuple[str, ...] = ()) -> InboundEmailData:
    """Read one message. Raises ``UnreadableEmail`` for bytes that are not an e-mail."""
    if not raw.strip():
        raise UnreadableEmail("the message is empty")
    try:
        return _parse(raw, envelope_recipients)
    except UnreadableEmail:
        raise
    except Exception as exc:
        # The input is anyone's bytes and the email package has corner cases that raise on
        # hostile structures; such a message is unreadable, never a crash of the receiver.
        raise UnreadableEmail(f"the message could not be read ({exc.__class__.__name__}: "
                              f"{clean(str(exc), 150)})") from None


def _parse(raw: bytes, envelope_recipients: tuple[str, ...]) -> InboundEmailData:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {key.lower() for key in message}
    if not headers & {"from", "to", "subject", "message-id", "date"}:
        raise UnreadableEmail("not an e-mail message: no From, To, Subject or Date header")
    senders = _addresses(_all_headers(message, "From"))
    sender_name, sender = senders[0] if senders else ("", "")
    recipients = [address for _, address in _addresses(
        [value for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
         for value in _all_headers(message, name)])]
    recipients = [r.strip().lower() for r in envelope_recipients] + recipients
    answers = _message_ids([_header(message, "In-Reply-To")])
    answers += list(reversed(_message_ids([_header(message, "References")])))
    body_parts, text = _body(message)
    return InboundEmailData(
        message_id=message_key(raw, _header(message, "Message-ID")),
        sender=sender, sender_name=sender_name,
        subject=clean(" ".join(_header(message, "Subject").split()), 300),
        recipients=list(dict.fromkeys(recipients)), answers=list(dict.fromkeys(answers)),
        text=clean(text), automatic=clean(_automatic(message, sender), 200),
        files=_files(message, body_parts))


def _body(message: Message) -> tuple[list[object], str]:
    """(the parts used as the body, the new text): the text/plain part, else the HTML one
    converted to text; quoted history and signature removed."""
    if not isinstance(message, EmailMessage):
        return [], ""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    used: list[object] = [part for part in (plain, html) if part is not None]
    if plain is not None:
        text = strip_reply(_decoded(plain))
        if text:
            return used, text
    if html is not None:
        return used, strip_reply(html_to_text(_decoded(html)))
    return used, ""


def _files(message: Message, body_parts: list[object]) -> list[InboundFile]:
    files: list[InboundFile] = []
    for part in message.walk():
        if part.is_multipart() or any(part is used for used in body_parts):
            continue
        filename = ""
        try:
            filename = part.get_filename() or ""
            disposition = part.get_content_disposition() or ""
        except Exception:  # a malformed Content-Disposition: treat the part as a file
            disposition = "attachment"
        maintype = part.get_content_maintype()
        if not (filename or disposition == "attachment" or maintype in (
                "image", "application", "audio", "video")):
            continue  # another text part (an alternative body): not a file
        payload = part.get_payload(decode=True)
        files.append(InboundFile(
            filename=clean(filename.replace("\\", "/").rsplit("/", 1)[-1], 200) or "attachment",
            declared_type=clean(part.get_content_type(), 100),
            data=payload if isinstance(payload, bytes) else b""))
    return files


# --- The customer's new words -----------------------------------------------------------------

_SEPARATORS = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"^\s*-{2,}\s*(original message|message d'origine|forwarded message|message transféré)"
    r"\s*-{2,}\s*$",
    r"^\s*_{20,}\s*$",  # Outlook's line above the previous message
    r"^\s*(on|le)\s.*(wrote|a écrit)\s*:\s*$",  # On Mon, 2 Mar 2026, Ana wrote:
    r"^\s*-- ?$",  # the signature separator
    r"^\s*(sent from my|envoyé de mon|envoyé depuis mon|get outlook for|"
    r"téléchargez outlook pour)\b",
)]
_ATTRIBUTION_END = re.compile(r"(wrote|écrit)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(on|le)\s", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(from|de)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(sent|date|envoyé|to|à|subject|objet)\s*:", re.IGNORECASE)


def _cut_at(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if any(pattern.match(line) for pattern in _SEPARATORS):
            return index
        following = lines[index + 1:index + 5]
        # "On Mon, 2 Mar 2026 at 10:00, Ana <…>" / "wrote:" on the next line (wrapped).
        if (_ATTRIBUTION_START.match(line) and following
                and _ATTRIBUTION_END.search(following[0])):
            return index
        # "Ana <…> wrote:" followed by quoted lines.
        if _ATTRIBUTION_END.search(line) and any(
                rest.startswith(">") for rest in following[:2] if rest.strip()):
            return index
        # Outlook's header block: "From: …" then "Sent: …", "To: …", "Subject: …".
        if _HEADER_FROM.match(line) and sum(
                bool(_HEADER_NEXT.match(rest)) for rest in following) >= 2:
            return index
    return len(lines)


def strip_reply(text: str) -> str:
    """The new part of a reply: everything before the quoted history (``On … wrote:``,
    ``Le … a écrit :``, ``-----Original Message-----``, Outlook's ``From:/Sent:`` block), the
    signature (``-- ``) or a mobile footer, without the trailing ``>`` quoted lines. Quoted
    lines between the customer's own lines (an answer written inline) are kept."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = lines[:_cut_at(lines)]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- HTML to text -----------------------------------------------------------------------------

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
           "ol", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "address"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "embed", "source",
         "track", "wbr", "param"}
_SKIPPED = {"script", "style", "head", "title", "blockquote"}
# Quoted history and signatures that mail programs mark in their HTML.
_SKIPPED_CLASSES = {"gmail_quote", "gmail_signature", "gmail_extra", "moz-cite-prefix",
                    "moz-signature", "yahoo_quoted", "protonmail_quote"}
_SKIPPED_IDS = {"divrplyfwdmsg", "appendonsend", "signature"}


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        # Inside a skipped element: its tag and how deep in nested same-name elements (only
        # those are counted, so an unclosed <p> inside a quote does not swallow the rest).
        self.skip_tag = ""
        self.skipping = 0
        self.pre = 0

    def _skipped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        return (tag in _SKIPPED or bool(classes & _SKIPPED_CLASSES)
                or (values.get("id") or "").lower() in _SKIPPED_IDS)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if not self.skipping and tag in ("br", "hr"):
                self.chunks.append("\n")
            return
        if self.skipping:
            self.skipping += tag == self.skip_tag
            return
        if self._skipped(tag, attrs):
            self.skip_tag, self.skipping = tag, 1
            return
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCKS:
            self.chunks.append("\n")
        if tag == "li":
            self.chunks.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.skipping:
            self.skipping -= tag == self.skip_tag
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.chunks.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML e-mail: paragraphs and line breaks kept, markup, styles,
    scripts and the quoted history (``blockquote``, Gmail's and Outlook's markers) left out."""
    parser = _TextOf()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; keep what was read before anything odd
        pass
    lines = [line.strip() for line in "".join(parser.chunks).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
