"""What a timeline is made of: dates as precise as the report gives them, items in lanes,
the receptor chips, the numbered text/figure disagreements; :mod:`describe` fills them in."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

# Lanes from top to bottom: key and title.
LANES: tuple[tuple[str, str], ...] = (
    ("diagnoses", "Diagnoses & metastases"),
    ("procedures", "Surgery & procedures"),
    ("therapy", "Systemic therapy"),
    ("imaging", "Imaging"),
    ("pathology", "Receptors & Ki-67"),
    ("status", "Disease status"),
    ("outcome", "Age & outcome"),
)
LANE_ORDER = {key: index for index, (key, _) in enumerate(LANES)}

Precision = Literal["year", "month", "day"]
# How a bar with no stated end goes on: "continues" for a therapy still taken when the
# report was written, "not stated" when the report gives no end.
Ending = Literal["stated", "continues", "not stated"]


@dataclass(frozen=True)
class Span:
    """A date as precise as the report gives it, and the days it can mean."""

    text: str
    first: date
    last: date

    @property
    def precision(self) -> Precision:
        return ("year", "month", "day")[self.text.count("-")]

    @property
    def exact(self) -> bool:
        return self.first == self.last


def span(text: str) -> Span:
    """``2018`` -> 2018-01-01..2018-12-31; ``2020-11`` -> the month; a day is itself."""
    parts = [int(part) for part in text.split("-")]
    if len(parts) == 1:
        return Span(text, date(parts[0], 1, 1), date(parts[0], 12, 31))
    year, month = parts[0], parts[1]
    if len(parts) == 2:
        return Span(text, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    day = date(year, month, parts[2])
    return Span(text, day, day)


@dataclass(frozen=True)
class Chip:
    """One receptor or Ki-67 result: ``ER+``, ``HER2 low``, ``Ki-67 20%``."""

    fact: str
    text: str
    tone: Literal["positive", "negative", "low", "equivocal", "value"]


@dataclass(frozen=True)
class Item:
    """Something that happened (or was declined) once, or over a period (``bar``).

    ``key`` is unique in the case (the id of the item's main fact) and names the item in
    pictures; ``label`` is short, for pictures; ``text`` is the full sentence for lists.
    """

    key: str
    lane: str
    label: str
    text: str
    facts: tuple[str, ...]
    start: Span | None = None
    end: Span | None = None
    bar: bool = False
    ending: Ending = "stated"
    declined: bool = False
    tone: str = ""
    chips: tuple[Chip, ...] = ()
    disagreements: tuple[int, ...] = ()

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def first(self) -> date | None:
        """The earliest day the item can cover."""
        known = self.start or self.end
        return known.first if known else None

    @property
    def last(self) -> date | None:
        """The latest day the item can cover (its stated end; an open end is not counted)."""
        known = self.end or self.start
        return known.last if known else None

    @property
    def dates(self) -> str:
        """The dates as the report gives them: ``2018``, ``2017-03-16 to 2018``, ``from 2020``."""
        start, end = self.start, self.end
        if not self.bar:
            known = start or end
            return known.text if known else ""
        if start and end:
            return f"{start.text} to {end.text}"
        if end:
            return f"until {end.text}"
        if start:
            return f"from {start.text}" + (", still going on" if self.ending == "continues" else "")
        return ""

    @property
    def when(self) -> date | None:
        """The latest day it can have begun: where a list puts it.

        A year or a month alone is listed at its end, after the events that the report
        dates more precisely within it (``2020`` comes after ``2020-07-21``, not before
        everything of 2020); a period's start is capped by its end.
        """
        if self.start is None:
            return self.end.last if self.end else None
        if self.end is not None:
            return min(self.start.last, self.end.last)
        return self.start.last


@dataclass(frozen=True)
class Note:
    """A numbered disagreement between the report's text and a figure."""

    number: int
    fact: str
    field: str
    subject: str
    text_says: str
    figure: str
    figure_says: str


@dataclass(frozen=True)
class Timeline:
    case_id: str
    title: str
    source: str
    items: tuple[Item, ...]
    notes: tuple[Note, ...]

    @property
    def dated(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.dated)

    @property
    def undated(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if not item.dated)

    @property
    def first(self) -> date | None:
        days = [item.first for item in self.dated if item.first]
        return min(days) if days else None

    @property
    def last(self) -> date | None:
        days = [item.last for item in self.dated if item.last]
        return max(days) if days else None

    def lanes(self) -> list[tuple[str, str]]:
        """The lanes that hold at least one item, top to bottom."""
        used = {item.lane for item in self.items}
        return [(key, title) for key, title in LANES if key in used]
