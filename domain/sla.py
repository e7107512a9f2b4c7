"""SLA clocks: targets that count only while the team owes the customer something, optionally in business hours.

A clock accumulates the SLA time consumed while it runs; pausing it (the ticket waits on the
customer) banks what was used. Its due time is "now + what is left", counted in business hours when
a calendar is set. Pure and deterministic: the workflow calls it with `workflow.now()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field, model_validator

WARN_AT = 0.75  # the pre-breach warning fires at 75 % of a target

ClockName = Literal["first_response", "next_reply", "resolution"]


class OpeningHours(BaseModel):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        if self.end <= self.start:
            raise ValueError("opening hours must end after they start")
        return self


class BusinessCalendar(BaseModel):
    """Support hours. A fixed UTC offset (not an IANA zone) keeps workflow code free of tz-database reads;
    the API resolves a zone name to its current offset when the ticket opens."""

    utc_offset_minutes: int = Field(default=0, ge=-14 * 60, le=14 * 60)
    hours: dict[int, OpeningHours]  # weekday (0 = Monday) -> hours; a missing day is closed
    holidays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_open_day(self) -> BusinessCalendar:
        if not self.hours or any(d not in range(7) for d in self.hours):
            raise ValueError("hours must name at least one weekday 0-6")
        return self

    def _tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))

    def _open_interval(self, day: date) -> tuple[datetime, datetime] | None:
        oh = self.hours.get(day.weekday())
        if oh is None or day in self.holidays:
            return None
        tz = self._tz()
        return datetime.combine(day, oh.start, tz), datetime.combine(day, oh.end, tz)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of business time has passed after `start`."""
        left = duration
        local = start.astimezone(self._tz())
        day = local.date()
        for _ in range(3 * 366):  # a year of closed days would be a misconfiguration, not a loop
            interval = self._open_interval(day)
            if interval is not None:
                begin, end = max(interval[0], local), interval[1]
                if begin < end:
                    if begin + left <= end:
                        return (begin + left).astimezone(UTC)
                    left -= end - begin
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), self._tz())
        raise ValueError("business calendar has no open hours within three years")

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time elapsed from `a` to `b`."""
        if b <= a:
            return timedelta(0)
        total = timedelta(0)
        day = a.astimezone(self._tz()).date()
        last = b.astimezone(self._tz()).date()
        while day <= last:
            interval = self._open_interval(day)
            if interval is not None:
                lo, hi = max(interval[0], a), min(interval[1], b)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def add_time(start: datetime, duration: timedelta, cal: BusinessCalendar | None) -> datetime:
    return start + duration if cal is None else cal.add(start, duration)


def elapsed(a: datetime, b: datetime, cal: BusinessCalendar | None) -> timedelta:
    return max(b - a, timedelta(0)) if cal is None else cal.between(a, b)


class SlaClock(BaseModel):
    name: ClockName
    target: timedelta
    consumed: timedelta = timedelta(0)
    running_since: datetime | None = None
    warned: bool = False
    breached: bool = False
    met_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def start(self, now: datetime) -> None:
        if self.running_since is None and self.met_at is None:
            self.running_since = now

    def pause(self, now: datetime, cal: BusinessCalendar | None) -> None:
        if self.running_since is not None:
            self.consumed += elapsed(self.running_since, now, cal)
            self.running_since = None

    def stop(self, now: datetime, cal: BusinessCalendar | None) -> None:
        """The obligation was met (e.g. the reply went out)."""
        self.pause(now, cal)
        if self.met_at is None:
            self.met_at = now

    def restart(self, now: datetime) -> None:
        """A new obligation of the same kind (the next reply owed): a fresh budget."""
        self.consumed, self.running_since, self.met_at = timedelta(0), now, None
        self.warned = self.breached = False

    def due(self, cal: BusinessCalendar | None) -> datetime | None:
        if self.running_since is None:
            return None
        return add_time(self.running_since, max(self.target - self.consumed, timedelta(0)), cal)

    def warn_at(self, cal: BusinessCalendar | None) -> datetime | None:
        if self.running_since is None or self.warned or self.breached:
            return None
        return add_time(self.running_since, max(self.target * WARN_AT - self.consumed, timedelta(0)), cal)

    def next_event(self, cal: BusinessCalendar | None) -> datetime | None:
        """When this clock next needs attention (warning or breach), if ever."""
        if self.running_since is None or self.breached:
            return None
        return self.warn_at(cal) or self.due(cal)
