"""Placing a timeline on a page: geometry only, in points (1/72 inch), y growing downwards.

:func:`layout` turns a :class:`~fhirconv.timeline.items.Timeline` into a list of
shapes (:mod:`fhirconv.timeline.shapes`) that :mod:`fhirconv.timeline.render` draws as they are.
Text widths come from a ``measure`` function (the renderer's own font metrics), so labels
are placed where they really fit: every item is a rectangle (its label above its mark in
time) and, lane by lane, each rectangle goes to the highest row where it overlaps no
rectangle placed before it.  Labels therefore never overlap, whatever the case holds.

Nothing here imports matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fhirconv.timeline.items import Item, Note, Timeline
from fhirconv.timeline.labels import Block, place_block, set_block, wrap
from fhirconv.timeline.shapes import (
    ALERT,
    BAND,
    BAR_H,
    CHIP_PAD,
    FONT,
    GAP_X,
    GAP_Y,
    GRID,
    INK,
    LABEL_MAX_W,
    LANE_COLOURS,
    LANE_PAD,
    LINE_H,
    MARGIN,
    MARK_H,
    MONTHS,
    MUTED,
    SMALL,
    STUB,
    TITLE_COLUMN,
    TONE_COLOURS,
    UNDATED_GAP,
    UNDATED_W,
    WIDTH_IN,
    Box,
    Dot,
    Line,
    Measure,
    Page,
    Shape,
    Text,
)

# -- time -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """Days to x: ``start`` (a date) at ``x0``, ``end`` (the day after the last) at ``x1``."""

    start: date
    end: date
    x0: float
    x1: float

    def __call__(self, day: date) -> float:
        span = (self.end - self.start).days
        return self.x0 + (self.x1 - self.x0) * (day - self.start).days / span

    @staticmethod
    def fit(first: date, last: date, x0: float, x1: float) -> Scale:
        """A scale showing first..last with a little room on both sides (2% or two weeks)."""
        days = (last - first).days + 1
        pad = timedelta(days=max(14, days // 50))
        return Scale(first - pad, last + timedelta(days=1) + pad, x0, x1)


DAY = timedelta(days=1)


# -- items ------------------------------------------------------------------------------------


@dataclass
class Placed:
    item: Item
    block: Block
    x0: float  # the item's rectangle, relative to its lane's top for y
    x1: float
    height: float
    label_x: float
    y: float = 0.0


def _mark_extent(item: Item, scale: Scale, right: float) -> tuple[float, float]:
    """Where the item's mark lies along x (bars include an open end)."""
    assert item.first is not None
    x0 = scale(item.first)
    last = item.last or item.first
    x1 = max(scale(last + DAY), x0 + 3)
    if item.bar and item.end is None and item.start is not None:
        open_end = scale(item.start.last + DAY) + STUB
        x1 = right if item.ending == "continues" else min(right, max(open_end, x0 + 2.5 + STUB))
    return x0, x1


def _place_dated(
    item: Item, scale: Scale, left: float, right: float, end_x: float, measure: Measure
) -> Placed:
    block = set_block(item, LABEL_MAX_W, measure)
    mark0, mark1 = _mark_extent(item, scale, end_x)
    label_x = mark0 if item.bar or not item.start or item.start.exact is False else mark0 - 3
    label_x = max(left, min(label_x, right - block.width))
    x0, x1 = min(mark0 - 4, label_x), max(mark1 + 4, label_x + block.width)
    return Placed(item, block, x0, x1, block.height + MARK_H, label_x)


def pack(placed: list[Placed]) -> float:
    """Give each rectangle the smallest y where it overlaps none placed before; the height used."""
    done: list[Placed] = []
    for this in placed:
        candidates = sorted({0.0, *(p.y + p.height + GAP_Y for p in done)})
        for y in candidates:
            clash = any(
                this.x0 < p.x1 + GAP_X
                and p.x0 < this.x1 + GAP_X
                and y < p.y + p.height + GAP_Y
                and p.y < y + this.height + GAP_Y
                for p in done
            )
            if not clash:
                this.y = y
                break
        done.append(this)
    return max((p.y + p.height for p in done), default=0.0)


def _mark_shapes(item: Item, scale: Scale, right: float, y: float) -> list[Shape]:
    """The item's mark in time, centred on ``y``."""
    assert item.first is not None
    colour = TONE_COLOURS.get(item.tone, LANE_COLOURS[item.lane])
    if item.bar:
        return _bar_shapes(item, scale, right, y, colour)
    start = item.start or item.end
    assert start is not None
    if start.exact:
        x = scale(start.first) + (scale(start.first + DAY) - scale(start.first)) / 2
        if item.declined:
            return [Dot(x, y, "s", 7, "#ffffff", colour, hatch="/////", gid=item.key)]
        shape = {"worsening": "v", "improving": "^", "deceased": "X"}.get(item.tone, "o")
        return [Dot(x, y, shape, 6.5 if shape != "o" else 5.5, colour, colour, gid=item.key)]
    x0, x1 = scale(start.first), max(scale(start.last + DAY), scale(start.first) + 3)
    if item.declined:
        return [Box(x0, y - 3, x1, y + 3, "#ffffff", colour, hatch="/////", gid=item.key, z=2)]
    return [
        Box(x0, y - 2.5, x1, y + 2.5, colour, colour, alpha=0.28, width=0.6, gid=item.key, z=2),
        Line(x0, y - 4, x0, y + 4, colour, 1.0, z=2),
        Line(x1, y - 4, x1, y + 4, colour, 1.0, z=2),
    ]


def _bar_shapes(item: Item, scale: Scale, right: float, y: float, colour: str) -> list[Shape]:
    """A period: solid where certain, lighter over a start or end known only to the month or
    year, an arrow when still going on, a dotted stub when the end is not stated.  The
    outline (which carries the item's id) spans all of it but the open end."""
    top, bottom = y - BAR_H / 2, y + BAR_H / 2
    hatch = "/////" if item.declined else ""
    face = "#ffffff" if item.declined else colour
    start, end = item.start, item.end
    pieces: list[tuple[float, float, float]] = []  # (x0, x1, alpha)
    tail: list[Shape] = []
    if start is None:
        assert end is not None
        c = scale(end.first) if not end.exact else scale(end.first + DAY) - 2.5
        d = max(scale(end.last + DAY), c + 2.5)
        a = c
        pieces.append((c, d, 0.9 if end.exact else 0.3))
        tail.append(Line(c - STUB, y, c, y, colour, 1.6, "dotted", z=2))
    else:
        a = scale(start.first)
        b = a if start.exact else scale(start.last + DAY)
        if end is not None:
            d = max(scale(end.last + DAY), a + 2.5)
            c = d if end.exact else scale(end.first)
            b = min(b, d)
            c = max(c, b)
            pieces += [(a, b, 0.3), (b, c, 0.9), (c, d, 0.3)]
        elif item.ending == "continues":
            d = right - 5
            pieces += [(a, b, 0.3), (b, d, 0.9)]
            tail.append(Line(d, y, right, y, colour, 2.0, arrow=True, z=2))
        else:
            if b - a < 2.5:
                pieces.append((a, a + 2.5, 0.9))
                b = a + 2.5
            else:
                pieces.append((a, b, 0.3))
            d = b
            tail.append(Line(b, y, min(right, b + STUB), y, colour, 1.6, "dotted", z=2))
    shapes: list[Shape] = [
        Box(x0, top, x1, bottom, face, "none", alpha=1.0 if hatch else alpha, hatch=hatch, z=2)
        for x0, x1, alpha in pieces
        if x1 - x0 > 0.2
    ]
    shapes.append(Box(a, top, d, bottom, "none", colour, width=0.7, gid=item.key, z=2.5))
    # An edge known to the day is drawn firm, whatever lies next to it.
    if start is not None and start.exact:
        shapes.append(Line(a + 0.8, top, a + 0.8, bottom, colour, 1.6, z=2.6))
    if end is not None and end.exact:
        shapes.append(Line(d - 0.8, top, d - 0.8, bottom, colour, 1.6, z=2.6))
    return shapes + tail


def _undated_shapes(item: Item, x: float, y: float) -> list[Shape]:
    colour = TONE_COLOURS.get(item.tone, LANE_COLOURS[item.lane])
    if item.declined:
        return [Dot(x + 3.5, y, "s", 7, "#ffffff", colour, hatch="/////", gid=item.key)]
    return [Dot(x + 3.5, y, "o", 5, "#ffffff", colour, gid=item.key)]


# -- the page -------------------------------------------------------------------------------


def layout(timeline: Timeline, measure: Measure, width_in: float = WIDTH_IN) -> Page:
    """The whole picture: title, axis, lanes of items, legend and the disagreement notes."""
    if timeline.first is None or timeline.last is None:
        raise ValueError("a timeline with no dated item has nothing to lay out")
    width = width_in * 72
    undated = timeline.undated
    left = MARGIN + TITLE_COLUMN
    right = width - MARGIN - ((UNDATED_W + UNDATED_GAP) if undated else 0)
    scale = Scale.fit(timeline.first, timeline.last, left + 4, right - 4)
    end_x = scale(timeline.last + DAY)
    page = Page(width, 0.0)
    shapes = page.shapes

    y = MARGIN
    for line in wrap(timeline.title, width - 2 * MARGIN, lambda t, s, b: measure(t, 11, True), 11):
        shapes.append(Text(MARGIN, y + 7, line, 11, bold=True, gid=None))
        y += 15
    shapes.append(Text(MARGIN, y + 5, f"{timeline.case_id} \u00b7 {timeline.source}", SMALL + 0.5, MUTED))
    y += 16

    axis_top = y
    y = _axis(shapes, scale, left, right, y, measure)
    lanes_top = y
    lane_rows: list[tuple[str, str, float, float]] = []
    for index, (key, title) in enumerate(timeline.lanes()):
        dated = [
            _place_dated(item, scale, left, right, end_x, measure)
            for item in timeline.dated
            if item.lane == key
        ]
        used = pack(dated)
        column = [i for i in undated if i.lane == key]
        blocks = [set_block(i, UNDATED_W - 16, measure) for i in column]
        column_h = sum(b.height + GAP_Y for b in blocks)
        height = max(used, column_h, LINE_H + MARK_H) + 2 * LANE_PAD
        top = y
        if index % 2 == 0:
            shapes.append(Box(MARGIN, top, width - MARGIN, top + height, BAND, "none", z=0))
        for n, line in enumerate(wrap(title, TITLE_COLUMN - 8, lambda t, s, b: measure(t, FONT, True))):
            shapes.append(Text(MARGIN + 4, top + LANE_PAD + LINE_H / 2 + n * LINE_H, line, FONT, bold=True))
        for placed in dated:
            item_top = top + LANE_PAD + placed.y
            shapes.extend(place_block(placed.block, placed.label_x, item_top, measure, placed.item.key))
            shapes.extend(
                _mark_shapes(placed.item, scale, end_x, item_top + placed.block.height + MARK_H / 2)
            )
        cursor = top + LANE_PAD
        x_undated = right + UNDATED_GAP
        for item, block in zip(column, blocks, strict=True):
            shapes.extend(_undated_shapes(item, x_undated, cursor + block.line_heights()[0] / 2))
            shapes.extend(place_block(block, x_undated + 11, cursor, measure, item.key))
            cursor += block.height + GAP_Y
        lane_rows.append((key, title, top, top + height))
        y = top + height
    lanes_bottom = y
    _grid(shapes, scale, left, right, lanes_top, lanes_bottom)
    if undated:
        x_sep = right + UNDATED_GAP / 2
        shapes.append(Line(x_sep, axis_top, x_sep, lanes_bottom, MUTED, 0.8, "dashed", z=0.6))
        shapes.append(
            Text(right + UNDATED_GAP, axis_top + 7, "date not stated", FONT, MUTED, italic=True, z=4)
        )
    y = _axis(shapes, scale, left, right, lanes_bottom + 2, measure, labels_only=True)
    y = _legend(shapes, timeline, MARGIN, y + 6, width - MARGIN, measure)
    y = _notes(shapes, timeline.notes, MARGIN, y + 4, width - MARGIN, measure)
    page.height = y + MARGIN
    return page


def _axis(
    shapes: list[Shape],
    scale: Scale,
    left: float,
    right: float,
    y: float,
    measure: Measure,
    labels_only: bool = False,
) -> float:
    """Year labels (and month labels on short courses) in a row starting at ``y``; its bottom."""
    first, last = scale.start, scale.end
    years = range(first.year, last.year + 1)
    for year in years:
        x0 = max(scale(date(year, 1, 1)), scale(first))
        x1 = min(scale(date(year + 1, 1, 1)), scale(last))
        label = str(year)
        if x1 - x0 >= measure(label, FONT, True) + 4:
            shapes.append(Text((x0 + x1) / 2, y + 6, label, FONT, INK, bold=True, align="center"))
    y += 13
    if _month_width(scale) >= measure("May", SMALL, False) + 3:
        for month in _months(first, last):
            x0, x1 = max(scale(month), left), min(scale(_next_month(month)), right)
            if x1 - x0 >= measure("May", SMALL, False) + 2:
                name = MONTHS[month.month - 1]
                shapes.append(Text((x0 + x1) / 2, y + 4, name, SMALL, MUTED, align="center"))
        y += 10
    return y + (0 if labels_only else 2)


def _month_width(scale: Scale) -> float:
    return (scale.x1 - scale.x0) * 30.44 / (scale.end - scale.start).days


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _months(first: date, last: date) -> list[date]:
    out = []
    day = date(first.year, first.month, 1)
    if day < first:
        day = _next_month(day)
    while day < last:
        out.append(day)
        day = _next_month(day)
    return out


def _grid(shapes: list[Shape], scale: Scale, left: float, right: float, top: float, bottom: float) -> None:
    for year in range(scale.start.year + 1, scale.end.year + 1):
        x = scale(date(year, 1, 1))
        if left < x < right:
            shapes.append(Line(x, top, x, bottom, GRID, 0.7, z=0.5))
    if _month_width(scale) >= 12:
        for month in _months(scale.start, scale.end):
            x = scale(month)
            if month.month != 1 and left < x < right:
                shapes.append(Line(x, top, x, bottom, GRID, 0.35, "dotted", z=0.5))


LEGEND = (
    ("day", "exact day"),
    ("span", "month or year only: sometime within it"),
    ("bar", "period; lighter where a start or end is known only to the month or year"),
    ("stub", "end not stated"),
    ("arrow", "still going on at the last report"),
    ("declined", "declined"),
    ("badge", "the report's text and a figure disagree (below)"),
)


def _legend_used(timeline: Timeline) -> set[str]:
    used: set[str] = set()
    for item in timeline.dated:
        start = item.start or item.end
        if item.bar:
            used.add("bar")
            used.add({"continues": "arrow", "not stated": "stub"}.get(item.ending, "bar"))
        elif start and start.exact:
            used.add("day")
        else:
            used.add("span")
    for item in timeline.items:
        if item.declined:
            used.add("declined")
    if timeline.notes:
        used.add("badge")
    return used


def _legend(
    shapes: list[Shape], timeline: Timeline, x: float, y: float, right: float, measure: Measure
) -> float:
    used = _legend_used(timeline)
    cursor = x
    centre = y + 6
    for key, words in LEGEND:
        if key not in used:
            continue
        width = 16 + measure(words, SMALL + 0.5, False) + 14
        if cursor + width > right:
            cursor = x
            centre += 13
        _legend_sample(shapes, key, cursor, centre)
        shapes.append(Text(cursor + 16, centre, words, SMALL + 0.5, MUTED))
        cursor += width
    return centre + 8


def _legend_sample(shapes: list[Shape], key: str, x: float, y: float) -> None:
    colour = MUTED
    if key == "day":
        shapes.append(Dot(x + 5, y, "o", 5, colour, colour))
    elif key == "span":
        shapes.append(Box(x, y - 2.5, x + 11, y + 2.5, colour, colour, alpha=0.28, width=0.6))
    elif key == "bar":
        shapes.append(Box(x, y - 3, x + 4, y + 3, colour, "none", alpha=0.3))
        shapes.append(Box(x + 4, y - 3, x + 12, y + 3, colour, "none", alpha=0.9))
    elif key == "stub":
        shapes.append(Box(x, y - 3, x + 3, y + 3, colour, "none", alpha=0.9))
        shapes.append(Line(x + 3, y, x + 13, y, colour, 1.6, "dotted"))
    elif key == "arrow":
        shapes.append(Box(x, y - 3, x + 8, y + 3, colour, "none", alpha=0.9))
        shapes.append(Line(x + 8, y, x + 13, y, colour, 2.0, arrow=True))
    elif key == "declined":
        shapes.append(Dot(x + 5, y, "s", 7, "#ffffff", colour, hatch="/////"))
    elif key == "badge":
        shapes.append(Text(x + CHIP_PAD, y, "1", SMALL, "#ffffff", bold=True, chip=(ALERT, ALERT)))


def _notes(
    shapes: list[Shape], notes: tuple[Note, ...], x: float, y: float, right: float, measure: Measure
) -> float:
    if not notes:
        return y
    y += 4
    heading = "Where the report's text and a figure disagree, the picture shows the text's value:"
    shapes.append(Text(x, y + 5, heading, FONT, INK, bold=True))
    y += 14
    for note in notes:
        words = (
            f"{note.subject} ({note.field}) \u2014 text: \u201c{note.text_says}\u201d; "
            f"{note.figure}: \u201c{note.figure_says}\u201d"
        )
        badge = measure(str(note.number), SMALL, True) + 2 * CHIP_PAD
        shapes.append(
            Text(
                x + CHIP_PAD,
                y + 5,
                str(note.number),
                SMALL,
                "#ffffff",
                bold=True,
                chip=(ALERT, ALERT),
                gid=f"disagreement-{note.number}",
            )
        )
        for n, line in enumerate(wrap(words, right - x - badge - 8, measure)):
            shapes.append(
                Text(x + badge + 6, y + 5, line, FONT, gid=f"disagreement-{note.number}.text.{n + 1}")
            )
            y += LINE_H + 1
        y += 3
    return y
