"""What a timeline page is drawn with: sizes and colours in points, and the display list
(boxes, lines, dots, texts) that :mod:`fhirconv.timeline.layout` fills and
:mod:`fhirconv.timeline.render` draws as it is.  Nothing here imports matplotlib."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

# measure(text, size in points, bold) -> width in points
Measure = Callable[[str, float, bool], float]

WIDTH_IN = 13.0
FONT = 7.5
SMALL = 6.5
LINE_H = 10.0
CHIP_H = 12.0
CHIP_PAD = 2.5
MARK_H = 8.0
BAR_H = 6.0
GAP_X = 9.0
GAP_Y = 3.0
LANE_PAD = 6.0
MARGIN = 14.0
TITLE_COLUMN = 92.0
UNDATED_W = 200.0
UNDATED_GAP = 16.0
LABEL_MAX_W = 220.0
CHIP_ROOM = 60.0  # a line of results may run this much past the width labels wrap at
STUB = 22.0

INK = "#1b2631"
MUTED = "#5d6d7e"
GRID = "#cfd6dd"
BAND = "#f4f6f7"
ALERT = "#c0392b"
LANE_COLOURS = {
    "diagnoses": "#7d3c98",
    "procedures": "#ca6f1e",
    "therapy": "#2471a3",
    "imaging": "#148f77",
    "pathology": "#566573",
    "status": "#566573",
    "outcome": "#1b2631",
}
TONE_COLOURS = {
    "improving": "#1e8449",
    "stable": "#2471a3",
    "worsening": ALERT,
    "undetermined": "#7f8c8d",
    "deceased": "#000000",
    "alive": "#1e8449",
    "unknown": "#7f8c8d",
    "age": "#7f8c8d",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- the display list ---------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    face: str = "none"
    edge: str = "none"
    alpha: float = 1.0
    hatch: str = ""
    line: Literal["solid", "dashed", "dotted"] = "solid"
    width: float = 0.8
    gid: str | None = None
    z: float = 1.0


@dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    colour: str
    width: float = 0.8
    style: Literal["solid", "dashed", "dotted"] = "solid"
    arrow: bool = False
    gid: str | None = None
    z: float = 1.0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    shape: str  # a matplotlib marker: o s D ^ v X
    size: float
    face: str
    edge: str
    hatch: str = ""
    gid: str | None = None
    z: float = 3.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the vertical centre of the line
    text: str
    size: float = FONT
    colour: str = INK
    bold: bool = False
    italic: bool = False
    align: Literal["left", "center", "right"] = "left"
    chip: tuple[str, str] | None = None  # (face, edge) of a rounded box around the text
    gid: str | None = None
    z: float = 4.0


Shape = Box | Line | Dot | Text


@dataclass
class Page:
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)
