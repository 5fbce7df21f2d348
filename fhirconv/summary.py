"""A readable, plain-text summary of a case (``fhirconv show``).

Sections that would be empty are left out.  The timeline is the one
:func:`fhirconv.timeline.describe.describe` gives the pictures, so a list and a
picture of the same case hold the same events: dates are printed as the report gives
them, and an event known only to its month or year is listed at the end of that month
or year, after the events dated more precisely within it.
"""

from __future__ import annotations

from fhirconv.model.case import Case, TumorMarker
from fhirconv.timeline.describe import MARKER_ORDER, describe, marker_text
from fhirconv.timeline.items import Item, Timeline

# The receptor results are printed under their tumours, not again in the timeline.
_NOT_IN_TIMELINE = {"pathology"}
NO_DATE = "no date"


def _when(value: str | None) -> str:
    return value or "date not stated"


def _section(lines: list[str], heading: str, body: list[str]) -> None:
    if body:
        lines.extend(["", heading, *body])


def _marks(item: Item) -> str:
    return "".join(f" [{n}]" for n in item.disagreements)


def _date(item: Item) -> str:
    known = item.start or item.end
    return known.text if known else NO_DATE


def summarize(case: Case) -> str:
    timeline = describe(case)
    lines = [f"{case.id}: {case.title}", f"Source: {timeline.source}", ""]
    lines.extend(_patient(case))
    markers_by_condition: dict[str | None, list[TumorMarker]] = {}
    for marker in case.tumor_markers:
        markers_by_condition.setdefault(marker.condition, []).append(marker)

    def receptor_lines(condition_id: str | None, indent: str) -> list[str]:
        by_date: dict[str, list[TumorMarker]] = {}
        markers = markers_by_condition.get(condition_id, [])
        for marker in sorted(markers, key=lambda m: (m.date or "~", MARKER_ORDER.index(m.marker))):
            by_date.setdefault(_when(marker.date), []).append(marker)
        return [
            f"{indent}receptors {when}: " + ", ".join(marker_text(m) for m in group)
            for when, group in by_date.items()
        ]

    primaries: list[str] = []
    for primary in case.primaries:
        terms = (primary.histology or primary.condition, primary.body_site, primary.quadrant)
        parts = [t.text for t in terms if t]
        primaries.append(f"  {', '.join(parts)} (diagnosed {_when(primary.diagnosis_date)})")
        for size in primary.sizes:
            dims = " x ".join(f"{d:g}" for d in size.dimensions_cm)
            primaries.append(f"    size {dims} cm" + (f" ({size.method})" if size.method else ""))
        for staging in primary.staging:
            primaries.append(f"    stage: {staging.stated}")
        for recurrence in primary.recurrences:
            primaries.append(f"    recurrence ({_when(recurrence.date)}): {recurrence.description}")
        primaries.extend(receptor_lines(primary.id, "    "))
    _section(lines, "Primary tumours:", primaries)
    metastases: list[str] = []
    for metastasis in case.metastases:
        how = f", by {', '.join(metastasis.confirmed_by)}" if metastasis.confirmed_by else ""
        metastases.append(f"  {metastasis.site.text} ({_when(metastasis.date)}{how})")
        metastases.extend(receptor_lines(metastasis.id, "    "))
    _section(lines, "Metastases:", metastases)
    known = {c.id for c in (*case.primaries, *case.metastases)}
    loose = [m for m in case.tumor_markers if m.condition not in known]
    unlinked = sorted({m.condition for m in loose}, key=lambda c: c or "")
    _section(
        lines,
        "Receptor results not linked to a tumour:",
        [line for condition in unlinked for line in receptor_lines(condition, "  ")],
    )
    _timeline_sections(lines, timeline)
    return "\n".join(lines)


def _patient(case: Case) -> list[str]:
    patient = case.patient
    who: list[str] = [patient.sex]
    if patient.ethnicity:
        who.insert(0, patient.ethnicity.text)
    lines = ["Patient: " + ", ".join(who)]
    if patient.note:
        lines.append(f"  {patient.note}")
    for age in case.ages:
        lines.append(f"  age {age.age_years} ({_when(age.date)}): {age.event}")
    if case.vital_status:
        vital = case.vital_status
        causes = ", ".join(c.text for c in vital.causes)
        lines.append(f"  {vital.status} ({_when(vital.date)})" + (f": {causes}" if causes else ""))
    return lines


def _timeline_sections(lines: list[str], timeline: Timeline) -> None:
    shown = [item for item in timeline.items if item.lane not in _NOT_IN_TIMELINE]
    _section(
        lines,
        "Timeline (dates as the report gives them; a month or a year alone is listed at its end):",
        [f"  {_date(item):<10}  {item.text}{_marks(item)}" for item in shown if item.dated],
    )
    _section(
        lines,
        "Not dated in the report:",
        [f"  {item.text}{_marks(item)}" for item in shown if not item.dated and not item.declined],
    )
    _section(
        lines,
        "Declined (offered or recommended, not given):",
        [
            f"  {_date(item):<10}  {item.text.removeprefix('declined: ')}{_marks(item)}"
            for item in timeline.items
            if item.declined
        ],
    )
    notes: list[str] = []
    for note in timeline.notes:
        width = max(len("text"), len(note.figure)) + 1
        notes.append(f"  [{note.number}] {note.fact}, {note.field}")
        notes.append(f"      {'text:':<{width}} {note.text_says}")
        notes.append(f"      {note.figure + ':':<{width}} {note.figure_says}")
    _section(lines, "Where the text and a figure disagree (the text's value is kept):", notes)
