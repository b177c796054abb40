"""Official contact channels (seed 001): hours, open or closed now, and "is this number ours?"
(seed 003 repeats a known tech-support-scam number)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from refundable.portal.contact import check_contact, normalize_phone, support_open_state

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("utc", "is_open", "next_change"), [
    (datetime(2026, 3, 2, 8, 30, tzinfo=UTC), True, "20:00"),    # Monday 09:30 Paris
    (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), False, "09:00"),   # Monday 08:30 Paris
    (datetime(2026, 3, 6, 8, 15, tzinfo=UTC), False, "09:30"),   # Friday 09:15 Paris
    (datetime(2026, 3, 6, 8, 45, tzinfo=UTC), True, "20:00"),    # Friday 09:45 Paris
    (datetime(2026, 3, 5, 19, 30, tzinfo=UTC), False, "09:30"),  # Thursday 20:30 → Friday
    (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), False, "09:00"),   # Saturday → Monday
    (datetime(2026, 7, 2, 17, 30, tzinfo=UTC), True, "20:00"),   # Thursday 19:30 summer time
    (datetime(2026, 7, 2, 18, 30, tzinfo=UTC), False, "09:30"),  # Thursday 20:30 summer time
])
def test_open_state_follows_paris_hours(utc: datetime, is_open: bool, next_change: str) -> None:
    state = support_open_state(utc)
    assert state.open is is_open
    moment = state.closes_at if is_open else state.opens_at
    assert moment is not None and moment.strftime("%H:%M") == next_change


def test_contact_page_says_open_now() -> None:
    with time_machine.travel(datetime(2026, 3, 2, 8, 30, tzinfo=UTC), tick=False):
        html = Client().get(reverse("portal:contact")).content.decode()
    assert "Open now" in html and "until 20:00 (Paris time)" in html
    assert "+33 (0)1 73 01 84 99" in html and 'href="tel:+33173018499"' in html
    assert "09:30–20:00" in html and "09:00–20:00" in html  # Friday, Monday–Thursday


def test_contact_page_says_closed_now_and_when_it_opens_in_french() -> None:
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), tick=False):
        html = Client(headers={"accept-language": "fr"}).get(
            reverse("portal:contact")).content.decode()
    assert "Fermé en ce moment" in html and "ouvre lundi à 09:00" in html
    assert "Vendredi" in html or "vendredi" in html


@pytest.mark.parametrize(("raw", "normalized"), [
    ("+33 (0)1 73 01 84 99", "+33173018499"),
    ("01 73 01 84 99", "+33173018499"),
    ("0033 1 73 01 84 99", "+33173018499"),
    ("+1-(888)-260-4942", "+18882604942"),
    ("1 888 260 4942", "+18882604942"),
    ("call me", None),
    ("12", None),
])
def test_phone_numbers_are_normalized(raw: str, normalized: str | None) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize(("raw", "verdict"), [
    ("+33 (0)1 73 01 84 99", "official"),
    ("01.73.01.84.99", "official"),
    ("+1-(888)-260-4942", "scam"),
    ("+1 888 260 4942", "scam"),
    ("+33 1 23 45 67 89", "unknown"),
    ("support@refundable.localhost", "official"),
    ("help@norton-support.example", "unknown"),
    ("https://refundable.localhost/cancel/", "official"),
    ("support-norton-help.example", "unknown"),
    ("hello", "invalid"),
])
def test_check_contact(raw: str, verdict: str) -> None:
    assert check_contact(raw).verdict == verdict


def test_the_scam_number_of_seed_003_is_flagged_on_the_page() -> None:
    response = Client().post(reverse("portal:contact"), {"value": "+1-(888)-260-4942"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Warning: known scam." in html and "is NOT one of our channels" in html
    official = Client().post(reverse("portal:contact"), {"value": "01 73 01 84 99"})
    assert "is one of our official channels" in official.content.decode()
    other = Client().post(reverse("portal:contact"), {"value": "+44 20 7946 0000"})
    assert "is not one of our official channels" in other.content.decode()


def test_contact_check_needs_a_value() -> None:
    response = Client().post(reverse("portal:contact"), {"value": ""})
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
