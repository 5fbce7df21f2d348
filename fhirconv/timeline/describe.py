"""A case's course as lanes of items in time: a pure function of the case model.

Nothing here draws.  :func:`describe` says which fact happened when, in which lane, in
which words, and where the report's text and a figure disagree; ``fhirconv show`` prints
it and ``fhirconv timeline`` draws it.  Dates keep their precision: ``2018`` is the span
of days 2018-01-01 to 2018-12-31 (:class:`~fhirconv.timeline.items.Span`), never a guessed day.

Every fact of the case is in exactly one item (a specimen and the receptor results read
on it share one), so a picture or a list made from the description leaves none out.
"""

from __future__ import annotations

from datetime import date

from fhirconv.model.case import (
    Case,
    Imaging,
    Metastasis,
    Period,
    PrimaryCancer,
    Procedure,
    Specimen,
    Staging,
    Therapy,
    TumorMarker,
)
from fhirconv.timeline.items import LANE_ORDER, Chip, Ending, Item, Note, Span, Timeline, span


def _span(text: str | None) -> Span | None:
    return span(text) if text else None


CLAUSE_CHARS = 80


def clause(text: str) -> str:
    """The first clause of a description, for a label: up to a semicolon or an opening
    parenthesis, and at most about ``CLAUSE_CHARS`` characters (cut at a comma or a word,
    with an ellipsis, so that a cut is visible)."""
    for stop in (";", " ("):
        text = text.split(stop, 1)[0]
    text = text.strip()
    if len(text) <= CLAUSE_CHARS:
        return text
    head = text[: CLAUSE_CHARS + 1]
    cut = head.rfind(", ")
    if cut < CLAUSE_CHARS // 2:
        cut = head.rfind(" ")
    return head[:cut].rstrip(" ,") + " \u2026"


def stage_words(staging: Staging) -> str:
    """``stage IV (rpT1cN1M1)``, from the structured fields; the report's wording otherwise."""
    tnm = "".join(part for part in (staging.t, staging.n, staging.m) if part)
    categories = f"{staging.prefix}{tnm}" if tnm else ""
    if staging.stage_group and categories:
        return f"stage {staging.stage_group} ({categories})"
    if staging.stage_group:
        return f"stage {staging.stage_group}"
    return categories or staging.stated


def marker_text(marker: TumorMarker) -> str:
    """``ER positive``, ``Ki-67 20%``."""
    value = f"{marker.percent:g}%" if marker.percent is not None else str(marker.result)
    return f"{marker.marker} {value}"


MARKER_ORDER = ("ER", "PR", "HER2", "Ki-67")
_SIGN = {"positive": "+", "negative": "\u2212"}


def _chip(marker: TumorMarker) -> Chip:
    if marker.percent is not None:
        return Chip(marker.id, f"{marker.marker} {marker.percent:g}%", "value")
    result = marker.result or "value"
    sign = _SIGN.get(result)
    text = f"{marker.marker}{sign}" if sign else f"{marker.marker} {result}"
    return Chip(marker.id, text, result)


def _join(words: list[str]) -> str:
    return ", ".join(word for word in words if word)


def _declined(what: str, reason: str | None) -> tuple[str, str]:
    label = f"declined: {what}" + (f" \u2014 {clause(reason)}" if reason else "")
    text = f"declined: {what}" + (f" \u2014 {reason}" if reason else "")
    return label, text


class _Builder:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.items: list[Item] = []
        self.numbers: dict[str, list[int]] = {}
        for number, disagreement in enumerate(case.disagreements, start=1):
            self.numbers.setdefault(disagreement.fact, []).append(number)

    def add(self, key: str, lane: str, label: str, text: str, facts: tuple[str, ...], **kw: object) -> None:
        numbers = tuple(sorted(n for fact in facts for n in self.numbers.get(fact, ())))
        self.items.append(
            Item(key, lane, label, text, facts, disagreements=numbers, **kw)  # type: ignore[arg-type]
        )

    # -- lanes ------------------------------------------------------------------------

    def diagnoses(self) -> None:
        several = len(self.case.primaries) > 1
        for primary in self.case.primaries:
            self._primary(primary, several)
        for metastasis in self.case.metastases:
            self._metastasis(metastasis)

    def _primary(self, primary: PrimaryCancer, several: bool) -> None:
        name = primary.condition.text
        self.add(
            primary.id,
            "diagnoses",
            name,
            f"diagnosed: {name}",
            (primary.id,),
            start=_span(primary.diagnosis_date),
        )
        where = f", {primary.body_site.text}" if several and primary.body_site else ""
        for staging in primary.staging:
            label = stage_words(staging) + where
            self.add(
                staging.id,
                "diagnoses",
                label,
                f"staged: {staging.stated}",
                (staging.id,),
                start=_span(staging.date),
            )
        for recurrence in primary.recurrences:
            how = f" (by {', '.join(recurrence.confirmed_by)})" if recurrence.confirmed_by else ""
            self.add(
                recurrence.id,
                "diagnoses",
                f"recurrence: {clause(recurrence.description)}",
                f"recurrence: {recurrence.description}{how}",
                (recurrence.id,),
                start=_span(recurrence.date),
            )

    def _metastasis(self, metastasis: Metastasis) -> None:
        label = metastasis.site.text + (" (provisional)" if metastasis.verification == "provisional" else "")
        how = f" (by {', '.join(metastasis.confirmed_by)})" if metastasis.confirmed_by else ""
        self.add(
            metastasis.id,
            "diagnoses",
            label,
            f"metastasis: {label}{how}",
            (metastasis.id,),
            start=_span(metastasis.date),
        )

    def procedures(self) -> None:
        for procedure in self.case.procedures:
            self._procedure(procedure)

    def _procedure(self, procedure: Procedure) -> None:
        lane = "imaging" if procedure.kind == "imaging" else "procedures"
        what = procedure.code.text
        declined = procedure.status == "not-done"
        if declined:
            label, text = _declined(what, procedure.status_reason)
        else:
            label = what + (" (past history)" if procedure.history else "")
            text = f"{procedure.kind}: {what}" + (f" \u2192 {procedure.outcome}" if procedure.outcome else "")
            if procedure.history:
                text += " (past history, no date)"
        if procedure.period is not None:
            going = procedure.status == "in-progress"
            self._period(procedure.id, lane, label, text, procedure.period, going, declined)
        else:
            self.add(
                procedure.id,
                lane,
                label,
                text,
                (procedure.id,),
                start=_span(procedure.date),
                declined=declined,
            )

    def _period(
        self, key: str, lane: str, label: str, text: str, period: Period, going: bool, declined: bool
    ) -> None:
        """A bar over ``period``; with no end, ``going`` says it was still going on."""
        if period.end:
            ending: Ending = "stated"
            text += f" (until {period.end})"
        elif going:
            ending = "continues"
            text += " (still going on at the last report)"
        else:
            ending = "not stated"
            text += " (end not stated)"
        self.add(
            key,
            lane,
            label,
            text,
            (key,),
            start=_span(period.start),
            end=_span(period.end),
            bar=True,
            ending=ending,
            declined=declined,
        )

    def therapies(self) -> None:
        for therapy in self.case.therapies:
            self._therapy(therapy)

    def _therapy(self, therapy: Therapy) -> None:
        agents = ", ".join(agent.text for agent in therapy.agents)
        declined = therapy.status == "not-taken"
        if declined:
            label, text = _declined(agents, therapy.reason_not_taken)
        else:
            kind = "" if therapy.category == "other" else therapy.category
            what = " ".join(word for word in (therapy.intent, kind) if word)
            cycles = f"{therapy.cycles} cycles" if therapy.cycles else ""
            detail = _join([what, cycles])
            label = f"{agents} ({detail})" if detail else agents
            text = f"{what or 'therapy'}: {agents}" + (f", {cycles}" if cycles else "")
            if therapy.status == "intended":
                label, text = f"intended: {label}", f"intended: {text}"
        period = therapy.period
        if period is None:
            undated = "" if declined else " (no date stated)"
            self.add(therapy.id, "therapy", label, text + undated, (therapy.id,), declined=declined)
            return
        self._period(therapy.id, "therapy", label, text, period, therapy.status == "active", declined)

    def imaging(self) -> None:
        for study in self.case.imaging:
            self._study(study)

    def _study(self, study: Imaging) -> None:
        birads = [f.birads for f in study.findings if f.birads]
        label = study.modality.text + (f" (BI-RADS {', '.join(birads)})" if birads else "")
        findings = "; ".join(f.description for f in study.findings)
        text = f"imaging: {label}" + (f": {findings}" if findings else "")
        self.add(study.id, "imaging", label, text, (study.id,), start=_span(study.date))

    def pathology(self) -> None:
        """Receptor and Ki-67 results, together with the specimen they were read on."""
        conditions: dict[str, PrimaryCancer | Metastasis] = {p.id: p for p in self.case.primaries}
        conditions.update({m.id: m for m in self.case.metastases})
        placed: set[str] = set()
        for specimen in self.case.specimens:
            markers = [
                m
                for m in self.case.tumor_markers
                if m.specimen == specimen.id and (m.date == specimen.collected or m.date is None)
            ]
            placed.update(m.id for m in markers)
            self._results(specimen.id, _specimen_place(specimen), specimen.collected, markers, specimen.id)
        groups: dict[tuple[str | None, str | None], list[TumorMarker]] = {}
        for marker in self.case.tumor_markers:
            if marker.id not in placed:
                groups.setdefault((marker.date, marker.condition), []).append(marker)
        for (when, condition), markers in groups.items():
            place = _condition_place(conditions[condition]) if condition in conditions else "receptors"
            key = "markers." + ".".join(part for part in (condition, when) if part)
            self._results(key, place, when, markers, None)

    def _results(
        self, key: str, place: str, when: str | None, markers: list[TumorMarker], specimen: str | None
    ) -> None:
        facts = ((specimen,) if specimen else ()) + tuple(m.id for m in markers)
        results = ", ".join(marker_text(m) for m in markers)
        if markers:
            label = place if place == "receptors" else f"{place}:"
            text = f"receptors ({place}): {results}"
        else:
            label = f"specimen: {place}"
            text = f"specimen: {place} (no results stated)"
        chips = tuple(_chip(m) for m in sorted(markers, key=lambda m: MARKER_ORDER.index(m.marker)))
        self.add(key, "pathology", label, text, facts, start=_span(when), chips=chips)

    def status(self) -> None:
        for status in self.case.disease_status:
            short = clause(status.description)
            self.add(
                status.id,
                "status",
                status.status if short == status.status else f"{status.status}: {short}",
                f"disease {status.status}: {status.description}",
                (status.id,),
                start=_span(status.date),
                tone=status.status,
            )

    def outcome(self) -> None:
        for age in self.case.ages:
            words = f"age {age.age_years}: {age.event}"
            self.add(age.id, "outcome", words, words, (age.id,), start=_span(age.date), tone="age")
        vital = self.case.vital_status
        if vital is None:
            return
        causes = ", ".join(cause.text for cause in vital.causes)
        if vital.status == "deceased":
            label = "death" + (f": {causes}" if causes else "")
        elif vital.status == "alive":
            label = "alive at last contact"
        else:
            label = "vital status unknown"
        self.add(vital.id, "outcome", label, label, (vital.id,), start=_span(vital.date), tone=vital.status)


def _specimen_place(specimen: Specimen) -> str:
    return specimen.body_site.text if specimen.body_site else clause(specimen.description)


def _condition_place(condition: PrimaryCancer | Metastasis) -> str:
    if isinstance(condition, PrimaryCancer):
        return condition.body_site.text if condition.body_site else condition.condition.text
    return condition.body_site.text if condition.body_site else condition.site.text


def describe(case: Case) -> Timeline:
    """The case's items: dated ones in time order (see :attr:`Item.when`), then undated ones."""
    builder = _Builder(case)
    builder.diagnoses()
    builder.procedures()
    builder.therapies()
    builder.imaging()
    builder.pathology()
    builder.status()
    builder.outcome()
    order = {id(item): index for index, item in enumerate(builder.items)}

    def key(item: Item) -> tuple[date, date, int, int]:
        assert item.when is not None and item.first is not None
        return (item.when, item.first, LANE_ORDER[item.lane], order[id(item)])

    dated = sorted((i for i in builder.items if i.dated), key=key)
    undated = sorted(
        (i for i in builder.items if not i.dated), key=lambda i: (LANE_ORDER[i.lane], order[id(i)])
    )
    subjects = {fact: item.label for item in builder.items for fact in item.facts}
    notes = tuple(
        Note(
            number=number,
            fact=d.fact,
            field=d.field,
            subject=subjects.get(d.fact, d.fact),
            text_says=d.text_says,
            figure=d.figure,
            figure_says=d.figure_says,
        )
        for number, d in enumerate(case.disagreements, start=1)
    )
    return Timeline(
        case_id=case.id,
        title=case.title,
        source=case.report.origin,
        items=(*dated, *undated),
        notes=notes,
    )
