"""The official support channels (``settings.REFUNDABLE_SUPPORT``): opening hours, whether
support is open at a given time, and whether a phone number, e-mail address or web address
someone found is one of ours (seed 003 repeats a known tech-support-scam number)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings

Interval = tuple[time, time]


def _config() -> dict[str, Any]:
    config: dict[str, Any] = settings.REFUNDABLE_SUPPORT
    return config


def support_timezone() -> ZoneInfo:
    return ZoneInfo(_config()["timezone"])


def official_phones(language: str) -> list[dict[str, str]]:
    """The official phone numbers with their label in ``language``."""
    return [{"number": phone["number"],
             "label": phone["label"].get(language, phone["label"]["en"])}
            for phone in _config().get("phones", [])]


def official_emails() -> list[str]:
    return list(_config().get("emails", []))


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def opening_hours() -> dict[int, list[Interval]]:
    """Weekday (0 = Monday) → opening intervals, local to the support time zone."""
    hours: dict[int, list[tuple[str, str]]] = _config()["hours"]
    return {day: [(_parse(a), _parse(b)) for a, b in hours.get(day, [])] for day in range(7)}


@dataclass(frozen=True)
class OpenState:
    open: bool
    local_now: datetime
    closes_at: datetime | None  # when open
    opens_at: datetime | None  # when closed: the next opening (None if never)


def support_open_state(now: datetime) -> OpenState:
    """Is support open at ``now`` (aware)? With the closing time or the next opening."""
    zone = support_timezone()
    local = now.astimezone(zone)
    hours = opening_hours()
    for start, end in hours[local.weekday()]:
        if start <= local.time() < end:
            return OpenState(True, local, datetime.combine(local.date(), end, zone), None)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for start, _end in hours[day.weekday()]:
            opens = datetime.combine(day, start, zone)
            if opens > local:
                return OpenState(False, local, None, opens)
    return OpenState(False, local, None, None)


def normalize_phone(raw: str, default_country_code: str | None = None) -> str | None:
    """``+33 (0)1 73 01 84 99``, ``0033 1 73 01 84 99`` and ``01 73 01 84 99`` → ``+33173018499``.

    ``+1-(888)-260-4942`` → ``+18882604942``. None when it does not look like a phone number.
    """
    text = raw.strip()
    if not text or re.search(r"[A-Za-z@]", text):
        return None
    text = text.replace("(0)", "")  # the trunk prefix written in international numbers
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        country = default_country_code or _config()["default_country_code"]
        number = country + digits[1:]
    else:
        number = digits
    if not 6 <= len(number) <= 15:
        return None
    return "+" + number


@dataclass(frozen=True)
class CheckResult:
    verdict: str  # "official", "scam", "unknown", "invalid"
    kind: str  # "phone", "email", "website"
    value: str  # what was checked, normalised


def _host(text: str) -> str | None:
    candidate = text if "://" in text else f"https://{text}"
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host or ("." not in host and host != "localhost"):
        return None
    return host.lower().rstrip(".")


def check_contact(raw: str) -> CheckResult:
    """Whether ``raw`` (a phone number, an e-mail address or a web address) is an official
    channel, a known scam, or unknown — which means: not ours, do not use it."""
    config = _config()
    text = raw.strip()
    if "@" in text and " " not in text:
        address = text.lower().removeprefix("mailto:")
        official = {e.lower() for e in config.get("emails", [])}
        return CheckResult("official" if address in official else "unknown", "email", address)
    phone = normalize_phone(text)
    if phone is not None:
        official = {normalize_phone(p["number"]) for p in config.get("phones", [])}
        scams = {normalize_phone(p) for p in config.get("known_scams", [])}
        verdict = "official" if phone in official else "scam" if phone in scams else "unknown"
        return CheckResult(verdict, "phone", phone)
    host = _host(text)
    if host is not None:
        official_hosts = {h.lower() for h in config.get("websites", [])}
        verdict = "official" if host in official_hosts else "unknown"
        return CheckResult(verdict, "website", host)
    return CheckResult("invalid", "unknown", text)
