"""When a subscription charges: ISO 8601 intervals (months, weeks, days, and in `oms dev`
hours to seconds) and calendar arithmetic. Pure and deterministic: the workflow uses it.

Charges are counted from an anchor (the start, or the resume that moved the schedule), so a
monthly subscription started on the 31st charges on the last day of shorter months and on the
31st again after them, never drifting.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from oms.subscriptions.contract import DUNNING_DAYS

PATTERN: Final = re.compile(
    r"^P(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
DAY: Final = timedelta(days=1)
MONTH_AS_DAYS: Final = 30  # for comparisons only (minimum, reminder, dunning scale)


@dataclass(frozen=True)
class Interval:
    months: int
    delta: timedelta

    @property
    def approximate(self) -> timedelta:
        return self.delta + timedelta(days=MONTH_AS_DAYS * self.months)


def parse_interval(text: str) -> Interval:
    """`P1M`, `P2W`, `P30D`, `PT10S`, ... (no years: say `P12M`). ValueError otherwise."""
    match = PATTERN.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration of months, weeks, days or time: {text!r}")
    n = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    interval = Interval(
        months=n["months"],
        delta=timedelta(
            weeks=n["weeks"],
            days=n["days"],
            hours=n["hours"],
            minutes=n["minutes"],
            seconds=n["seconds"],
        ),
    )
    if interval.approximate <= timedelta(0):
        raise ValueError(f"the interval must be longer than zero: {text!r}")
    return interval


def parse_duration(text: str) -> timedelta:
    """A duration without months (settings such as `OMS_SUBSCRIPTION_REMINDER`)."""
    interval = parse_interval(text)
    if interval.months:
        raise ValueError(f"months are not allowed here, say days: {text!r}")
    return interval.delta


def add_months(at: datetime, months: int) -> datetime:
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def charge_at(anchor: datetime, interval: Interval, periods: int) -> datetime:
    """The charge `periods` intervals after the anchor."""
    return add_months(anchor, interval.months * periods) + interval.delta * periods


def dunning_delays(interval: Interval) -> list[timedelta]:
    """Retries of a declined renewal: 1, 3 and 7 days, scaled down when the interval is shorter
    than the last of them (so dunning in `oms dev` takes about one interval)."""
    last = timedelta(days=DUNNING_DAYS[-1])
    scale = min(1.0, interval.approximate / last)
    return [timedelta(seconds=round(d * DAY.total_seconds() * scale, 3)) for d in DUNNING_DAYS]
