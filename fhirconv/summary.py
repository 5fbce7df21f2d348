"""A readable, plain-text summary of a case (``fhirconv show``)."""

from __future__ import annotations

from fhirconv.model.case import Case, TumorMarker


def _marker_text(marker: TumorMarker) -> str:
    value = f"{marker.percent:g}%" if marker.percent is not None else str(marker.result)
    return f"{marker.marker} {value}"


def _when(value: str | None) -> str:
    return value or "date not stated"


def summarize(case: Case) -> str:
    lines = [f"{case.id}: {case.title}", f"Source: https://doi.org/{case.report.doi}", ""]
    patient = case.patient
    who = [patient.sex]
    if patient.ethnicity:
        who.insert(0, patient.ethnicity.text)
    lines.append("Patient: " + ", ".join(who))
    if patient.note:
        lines.append(f"  {patient.note}")
    for age in case.ages:
        lines.append(f"  age {age.age_years} ({_when(age.date)}): {age.event}")
    if case.vital_status:
        vital = case.vital_status
        causes = ", ".join(c.text for c in vital.causes)
        lines.append(f"  {vital.status} ({_when(vital.date)})" + (f": {causes}" if causes else ""))
    markers_by_condition: dict[str, list[TumorMarker]] = {}
    for marker in case.tumor_markers:
        markers_by_condition.setdefault(marker.condition or "", []).append(marker)

    def receptor_lines(condition_id: str) -> list[str]:
        by_date: dict[str, list[TumorMarker]] = {}
        for marker in markers_by_condition.get(condition_id, []):
            by_date.setdefault(_when(marker.date), []).append(marker)
        return [
            f"    receptors {when}: " + ", ".join(_marker_text(m) for m in group)
            for when, group in by_date.items()
        ]

    lines.append("")
    lines.append("Primary tumours:")
    for primary in case.primaries:
        terms = (primary.histology or primary.condition, primary.body_site, primary.quadrant)
        parts = [t.text for t in terms if t]
        lines.append(f"  {', '.join(parts)} (diagnosed {_when(primary.diagnosis_date)})")
        for size in primary.sizes:
            dims = " x ".join(f"{d:g}" for d in size.dimensions_cm)
            lines.append(f"    size {dims} cm" + (f" ({size.method})" if size.method else ""))
        for staging in primary.staging:
            lines.append(f"    stage: {staging.stated}")
        for recurrence in primary.recurrences:
            lines.append(f"    recurrence ({_when(recurrence.date)}): {recurrence.description}")
        lines.extend(receptor_lines(primary.id))
    lines.append("")
    lines.append("Metastases:")
    for metastasis in case.metastases:
        how = f", by {', '.join(metastasis.confirmed_by)}" if metastasis.confirmed_by else ""
        lines.append(f"  {metastasis.site.text} ({_when(metastasis.date)}{how})")
        lines.extend(receptor_lines(metastasis.id))
    lines.append("")
    lines.append("Timeline:")
    events: list[tuple[str, str]] = []
    for study in case.imaging:
        birads = [f"BI-RADS {f.birads}" for f in study.findings if f.birads]
        events.append(
            (
                study.date or "",
                f"imaging: {study.modality.text}" + (f" ({', '.join(birads)})" if birads else ""),
            )
        )
    for procedure in case.procedures:
        when = procedure.date or (procedure.period.start if procedure.period else None) or ""
        label = "declined" if procedure.status == "not-done" else procedure.kind
        events.append((when, f"{label}: {procedure.code.text}"))
    for therapy in case.therapies:
        agents = ", ".join(a.text for a in therapy.agents)
        when = therapy.period.start if therapy.period and therapy.period.start else ""
        if therapy.status == "not-taken":
            events.append(
                (
                    when,
                    f"refused: {agents}"
                    + (f" ({therapy.reason_not_taken})" if therapy.reason_not_taken else ""),
                )
            )
        else:
            cycles = f", {therapy.cycles} cycles" if therapy.cycles else ""
            intent = f"{therapy.intent} " if therapy.intent else ""
            events.append((when, f"{intent}{therapy.category}: {agents}{cycles}"))
    for status in case.disease_status:
        events.append((status.date or "", f"disease {status.status}: {status.description}"))
    if case.vital_status and case.vital_status.status == "deceased":
        events.append((case.vital_status.date or "", "death"))
    for when, what in sorted(events, key=lambda e: (e[0] == "", e[0])):
        lines.append(f"  {when or 'undated':<10}  {what}")
    if case.disagreements:
        lines.append("")
        lines.append("Text and figures disagree (the text's value is kept):")
        for d in case.disagreements:
            lines.append(f"  {d.fact}.{d.field}: text '{d.text_says}'; {d.figure} '{d.figure_says}'")
    return "\n".join(lines)
