"""SLA clocks and business hours: what a support lead would check on a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from domain.sla import BusinessCalendar, OpeningHours, SlaClock

NINE_TO_FIVE = OpeningHours(start=time(9), end=time(17))
# Berlin in winter (UTC+1), Monday to Friday 9–17, Christmas Day closed.
BERLIN = BusinessCalendar(
    utc_offset_minutes=60, hours=dict.fromkeys(range(5), NINE_TO_FIVE), holidays=[date(2026, 12, 25)]
)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_business_time_skips_nights_weekends_and_holidays() -> None:
    # Friday 15:00 Berlin (14:00 UTC) + 4 business hours = Monday 11:00 Berlin (10:00 UTC)
    assert BERLIN.add(utc(2026, 12, 4, 14), timedelta(hours=4)) == utc(2026, 12, 7, 10)
    # Thursday 24 Dec 16:00 Berlin + 2 h: one hour on the 24th, Christmas closed → Saturday/Sunday → Mon 28th 10:00
    assert BERLIN.add(utc(2026, 12, 24, 15), timedelta(hours=2)) == utc(2026, 12, 28, 9)
    # a ticket opened at night starts counting when the office opens
    assert BERLIN.add(utc(2026, 12, 8, 2), timedelta(minutes=30)) == utc(2026, 12, 8, 8, 30)


def test_business_time_between_is_the_inverse_of_add() -> None:
    start = utc(2026, 12, 4, 14)
    for hours in (1, 3, 8, 13, 40):
        end = BERLIN.add(start, timedelta(hours=hours))
        assert BERLIN.between(start, end) == timedelta(hours=hours)


def test_a_calendar_without_open_days_is_refused() -> None:
    with pytest.raises(ValidationError):
        BusinessCalendar(hours={})
    with pytest.raises(ValidationError):
        OpeningHours(start=time(17), end=time(9))


def test_clock_pauses_bank_the_time_used() -> None:
    t0 = utc(2026, 12, 7, 8)
    clock = SlaClock(name="resolution", target=timedelta(hours=4))
    clock.start(t0)
    assert clock.due(None) == t0 + timedelta(hours=4)
    assert clock.warn_at(None) == t0 + timedelta(hours=3)
    clock.pause(t0 + timedelta(hours=1), None)  # waiting on the customer for a day
    assert clock.due(None) is None and clock.next_event(None) is None
    clock.start(t0 + timedelta(days=1))
    assert clock.due(None) == t0 + timedelta(days=1, hours=3)  # 3 h were left


def test_clock_in_business_hours() -> None:
    clock = SlaClock(name="first_response", target=timedelta(hours=4))
    clock.start(utc(2026, 12, 4, 14))  # Friday 15:00 Berlin
    assert clock.due(BERLIN) == utc(2026, 12, 7, 10)
    assert clock.warn_at(BERLIN) == utc(2026, 12, 7, 9)


def test_a_met_clock_stays_met_until_restarted() -> None:
    clock = SlaClock(name="next_reply", target=timedelta(hours=1))
    clock.start(utc(2026, 12, 7, 8))
    clock.stop(utc(2026, 12, 7, 8, 30), None)
    clock.start(utc(2026, 12, 7, 9))
    assert not clock.running and clock.met_at == utc(2026, 12, 7, 8, 30)
    clock.restart(utc(2026, 12, 7, 10))
    assert clock.running and clock.consumed == timedelta(0) and clock.due(None) == utc(2026, 12, 7, 11)
