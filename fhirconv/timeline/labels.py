"""Labels set in lines of measured runs (words, dates, result chips, disagreement badges)."""

from __future__ import annotations

from dataclasses import dataclass

from fhirconv.timeline.items import Item
from fhirconv.timeline.shapes import (
    ALERT,
    CHIP_H,
    CHIP_PAD,
    CHIP_ROOM,
    FONT,
    INK,
    LINE_H,
    MUTED,
    SMALL,
    Measure,
    Shape,
    Text,
)

# -- labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A piece of a label line: plain text, or a chip (a result, a disagreement badge)."""

    text: str
    width: float
    chip: tuple[str, str, str] | None = None  # (face, edge, text colour)
    gid: str | None = None
    muted: bool = False  # the dates, in small grey before the words


@dataclass(frozen=True)
class Block:
    """A label set in lines of runs; ``width`` and ``height`` are its extent."""

    lines: tuple[tuple[Run, ...], ...]
    width: float
    height: float

    def line_heights(self) -> list[float]:
        return [CHIP_H if any(r.chip for r in line) else LINE_H for line in self.lines]


CHIP_TONES = {
    "positive": ("#34495e", "#34495e", "#ffffff"),
    "negative": ("#ffffff", "#34495e", INK),
    "low": ("#d6dbdf", "#34495e", INK),
    "equivocal": ("#d6dbdf", "#34495e", INK),
    "value": ("#eaecee", "#85929e", INK),
    "badge": (ALERT, ALERT, "#ffffff"),
}


def wrap(
    text: str, width: float, measure: Measure, size: float = FONT, first_indent: float = 0.0
) -> list[str]:
    """Greedy word wrap by measured width; a single word wider than ``width`` stays whole.
    The first line starts ``first_indent`` points in."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        room = width - (first_indent if not lines else 0.0)
        if current and measure(trial, size, False) > room:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines or [""]


def set_block(item: Item, max_width: float, measure: Measure) -> Block:
    """The item's label in lines: its dates (small, grey), wrapped words, then result chips
    and disagreement badges."""
    space = measure(" ", FONT, False) + 1
    dates = item.dates
    lead = measure(dates, SMALL, False) + space if dates else 0.0
    # The first line is shorter by the dates before it: wrap as if they were a word.
    words = wrap(item.label, max_width, measure, first_indent=lead)
    lines: list[list[Run]] = [[Run(line, measure(line, FONT, False))] for line in words]
    lines[0][0] = Run(lines[0][0].text, lines[0][0].width, gid=f"{item.key}.label")
    if dates:
        lines[0].insert(0, Run(dates, lead - space, gid=f"{item.key}.dates", muted=True))
    chips = [
        Run(chip.text, measure(chip.text, SMALL, True) + 2 * CHIP_PAD, CHIP_TONES[chip.tone], chip.fact)
        for chip in item.chips
    ]
    chips += [
        Run(str(n), measure(str(n), SMALL, True) + 2 * CHIP_PAD, CHIP_TONES["badge"], f"{item.key}.note-{n}")
        for n in item.disagreements
    ]
    for chip in chips:
        last = lines[-1]
        used = sum(r.width for r in last) + space * len(last)
        if used + chip.width > max_width + CHIP_ROOM and any(r.chip for r in last):
            lines.append([chip])
        else:
            last.append(chip)
    width = max(sum(r.width for r in line) + space * (len(line) - 1) for line in lines)
    block = Block(tuple(tuple(line) for line in lines), width, 0.0)
    return Block(block.lines, width, sum(block.line_heights()))


def place_block(block: Block, x: float, y: float, measure: Measure, key: str) -> list[Shape]:
    """Texts for a block whose top-left corner is (x, y)."""
    shapes: list[Shape] = []
    space = measure(" ", FONT, False) + 1
    top = y
    for number, (line, height) in enumerate(zip(block.lines, block.line_heights(), strict=True)):
        cursor = x
        centre = top + height / 2
        for index, run in enumerate(line):
            gid = run.gid if run.gid else (f"{key}.label.{number + 1}" if index == 0 else None)
            if run.chip:
                face, edge, ink = run.chip
                shapes.append(
                    Text(
                        cursor + CHIP_PAD, centre, run.text, SMALL, ink, bold=True, chip=(face, edge), gid=gid
                    )
                )
            elif run.muted:
                shapes.append(Text(cursor, centre, run.text, SMALL, MUTED, gid=gid))
            else:
                shapes.append(Text(cursor, centre, run.text, gid=gid))
            cursor += run.width + space
        top += height
    return shapes
