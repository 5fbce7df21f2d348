"""The case model: one patient's course as a case report tells it.

Nothing here knows FHIR.  Every fact has an ``id`` (unique within the case, the
seed of the deterministic FHIR ids), the ``sources`` it came from (a section of
the report, or one of its figures) and an optional ``note``.  Dates keep the
precision the report gives (``2016``, ``2020-11``, ``2020-07-21``); ages stay
ages.  Codes are keys of the terminology table (``rx.anastrozole``), never raw
literals, and a fact the report does not state is simply absent.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fhirconv.model.terms import check_term_key, side_of_site

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _check_partial_date(value: str) -> str:
    match = _DATE_RE.match(value)
    if not match:
        raise ValueError("expected a date as YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None
    return value


def _year_as_text(value: object) -> object:
    # YAML reads an unquoted year as a number; a year is still a date here.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


PartialDate = Annotated[
    str,
    BeforeValidator(_year_as_text),
    AfterValidator(_check_partial_date),
    Field(description="A date with the precision the source gives: YYYY, YYYY-MM or YYYY-MM-DD."),
]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,47}$"
Slug = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        description="Lower-case letters, digits and hyphens; unique within the case.",
    ),
]
TermKey = Annotated[
    str,
    AfterValidator(check_term_key),
    Field(description="A key of fhirconv's terminology table, e.g. 'rx.anastrozole'."),
]
Laterality = Literal["left", "right", "bilateral"]

# Whitespace as str.isspace() knows it, plus U+FEFF (zero width no-break space), which
# ECMAScript's \s, and so JSON Schema validators, count as whitespace as well.
# tests/model/test_text.py checks this list against str.isspace() over all of Unicode.
BLANKS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# What FHIR text cannot carry: control characters but tab, line feed and carriage
# return (R4 string: "SHOULD not contain Unicode character points below 32, except
# for u0009, u000D and u000A"; XML 1.0, so FHIR XML and the XHTML narrative, cannot
# hold them at all), DEL and the C1 controls (U+0080-U+009F; XML 1.0 asks authors to
# avoid them, and in a case report they only come from mis-decoded text), lone
# surrogates (not characters; UTF-8 cannot encode them) and U+FFFE, U+FFFF (not XML
# characters).
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _check_text(value: str) -> str:
    if not value.strip(BLANKS):
        raise ValueError("must not be empty or only whitespace")
    bad = _FORBIDDEN_RE.search(value)
    if bad:
        char = bad.group()
        if "\ud800" <= char <= "\udfff":
            why = "a lone surrogate is no character"
        elif char in "\ufffe\uffff":
            why = "XML, so FHIR, cannot hold it"
        else:
            why = "a control character; only tab, line feed and carriage return are allowed"
        raise ValueError(f"must not contain U+{ord(char):04X} (at position {bad.start()}): {why}")
    return value


# The JSON Schema says the same in its own regex dialect (ECMAScript; a pattern is not
# anchored unless it says so): allowed characters around one that is neither blank nor
# forbidden.  Lone surrogates are left out: without the u flag ECMAScript matches UTF-16
# code units, and a surrogate range would refuse every character beyond U+FFFF.
_ALLOWED = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]"
_VISIBLE = (
    r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ufeff\ufffe\uffff]"
)
TEXT_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"
Text = Annotated[
    str,
    AfterValidator(_check_text),
    Field(
        description=(
            "Free text, kept as written: not empty or only whitespace, and no control characters "
            "but tab, line feed and carriage return."
        ),
        json_schema_extra={"minLength": 1, "pattern": TEXT_PATTERN},
    ),
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ,:()/-]*$"
DOI_PATTERN = r"^10\.\d{4,9}/\S+$"
BIRADS_PATTERN = r"^([0-6]|4[a-c](-[a-c])?)$"
URI_PATTERN = r"^\S+$"
Source = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=SOURCE_PATTERN,
        description="Section or figure of the report the fact is stated in, e.g. 'Case report: Case 1'.",
    ),
]


class Fact(Frozen):
    id: Slug
    sources: tuple[Source, ...] = Field(min_length=1)
    note: Text | None = None


class Term(Frozen):
    """A concept as the report words it, with the table codes that say the same."""

    text: Text
    codes: tuple[TermKey, ...] = ()


_SIDES = {"left": "the left side", "right": "the right side", "bilateral": "both sides"}


def _side_agrees_with_site(value: str | None, info: ValidationInfo) -> str | None:
    """A laterality that contradicts the side built into the body site's code is refused,
    as the import reports it in other producers' data."""
    site = info.data.get("body_site")
    if value is None or not isinstance(site, Term):
        return value
    for key in site.codes:
        side = side_of_site(key)
        if side is not None and side != value:
            raise ValueError(f"{value!r} contradicts body_site code {key!r}, which names {_SIDES[side]}")
    return value


class Period(Frozen):
    start: PartialDate | None = None
    end: PartialDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start is None and self.end is None:
            raise ValueError("a period needs a start or an end")
        # Dates of different precision compare as text; an end that is a prefix of the
        # start ("2020-11" for "2020-11-08") overlaps it and is not before it.
        if self.start and self.end and self.end < self.start and not self.start.startswith(self.end):
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        return self


class Size(Frozen):
    """Dimensions in centimetres, largest first as the report lists them."""

    dimensions_cm: tuple[float, ...] = Field(min_length=1, max_length=3)
    method: Text | None = Field(default=None, description="How measured: 'physical examination', ...")


class Report(Frozen):
    """Where the case comes from: the publication, and for an imported case the data it was read from."""

    doi: str | None = Field(default=None, pattern=DOI_PATTERN)
    title: Text | None = None
    journal: Text | None = None
    year: int | None = Field(default=None, ge=1, le=9999)
    source: str | None = Field(
        default=None,
        max_length=4096,
        pattern=URI_PATTERN,
        description="For an imported case: the source its producer named (meta.source), a URI.",
    )
    files: tuple[Text, ...] = Field(
        default=(), description="For an imported case: the names of the files it was imported from."
    )

    @property
    def origin(self) -> str:
        """Where the case comes from, in one line: the DOI's URL, else its source and files."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return ", ".join([*([self.source] if self.source else []), *self.files])

    @model_validator(mode="after")
    def _cited(self) -> Report:
        if self.doi is None and self.source is None and not self.files:
            raise ValueError("name where the case comes from: the publication (doi), or its source or files")
        return self


class Patient(Frozen):
    sources: tuple[Source, ...] = Field(min_length=1)
    sex: Literal["female", "male", "other", "unknown"]
    ethnicity: Term | None = Field(
        default=None, description="As reported (e.g. 'Chinese'), with race codes where they apply."
    )
    note: Text | None = None


class AgeAtEvent(Fact):
    age_years: int = Field(ge=0, le=130)
    event: Text
    date: PartialDate | None = None


class VitalStatus(Fact):
    status: Literal["alive", "deceased", "unknown"]
    date: PartialDate | None = Field(default=None, description="Date of death, or date last known alive.")
    causes: tuple[Term, ...] = Field(default=(), description="Causes of death as reported.")


# The TNM categories and stage groups the model holds (AJCC, without the c/p prefix).
TNM_PATTERNS = {
    "t": r"^T(X|is|1mi|[0-4][a-d]?\d?|mi)$",
    "n": r"^N(X|[0-3][a-c]?(mi)?)$",
    "m": r"^M[01]$",
}
STAGE_GROUP_PATTERN = r"^(0|I{1,3}V?|IV)[A-C]?$"
# Each pattern in plain words, for messages: nobody should have to read a regular expression.
PATTERN_WORDS = {
    SLUG_PATTERN: "expected an id of lower-case letters, digits and hyphens, starting with a letter "
    "or digit, at most 48 characters",
    SOURCE_PATTERN: "expected a section or figure of the report: letters, digits, spaces and , : ( ) / -, "
    "starting with a letter or digit",
    DOI_PATTERN: "expected a DOI such as 10.3389/fonc.2024.1382415 (no https://doi.org/ or doi: in front)",
    URI_PATTERN: "expected a URI (no spaces)",
    BIRADS_PATTERN: "expected a BI-RADS category: 0 to 6, 4a, 4b or 4c, or a range such as 4b-c",
    TNM_PATTERNS["t"]: "expected a T category without its prefix: TX, Tis, T0 to T4 with a letter where "
    "AJCC gives one (T1c, T4d), or T1mi",
    TNM_PATTERNS["n"]: "expected an N category without its prefix: NX, N0 to N3 with a letter where AJCC "
    "gives one (N1a, N3c), or N1mi",
    TNM_PATTERNS["m"]: "expected an M category without its prefix: M0 or M1",
    STAGE_GROUP_PATTERN: "expected a stage group: 0, I, II, III or IV, with A, B or C where AJCC gives "
    "one (IIB, IIIC)",
}


class Staging(Fact):
    prefix: Literal["c", "p", "yc", "yp", "r", "rc", "rp", "a"]
    t: str | None = Field(default=None, pattern=TNM_PATTERNS["t"])
    n: str | None = Field(default=None, pattern=TNM_PATTERNS["n"])
    m: str | None = Field(default=None, pattern=TNM_PATTERNS["m"])
    stage_group: str | None = Field(default=None, pattern=STAGE_GROUP_PATTERN)
    stated: Text = Field(description="The staging exactly as the report writes it, e.g. 'rpT1cN1M1'.")
    date: PartialDate | None = None


class Recurrence(Fact):
    date: PartialDate | None = None
    description: Text
    size: Size | None = None
    confirmed_by: tuple[Text, ...] = ()


class PrimaryCancer(Fact):
    condition: Term
    histology: Term | None = Field(default=None, description="Morphology, when stated apart from the site.")
    body_site: Term | None = None
    laterality: Laterality | None = None
    quadrant: Term | None = Field(default=None, description="A part of the body site; needs body_site.")
    diagnosis_date: PartialDate | None = None
    sizes: tuple[Size, ...] = ()
    staging: tuple[Staging, ...] = ()
    recurrences: tuple[Recurrence, ...] = ()
    clinical_status: Literal["active", "recurrence", "remission", "resolved"] = "active"

    _side_agrees = field_validator("laterality")(_side_agrees_with_site)

    @model_validator(mode="after")
    def _quadrant_of_a_site(self) -> PrimaryCancer:
        if self.quadrant is not None and self.body_site is None:
            raise ValueError("a quadrant needs the body_site it is part of")
        return self


class Specimen(Fact):
    description: Text
    body_site: Term | None = None
    laterality: Laterality | None = None
    collected: PartialDate | None = None
    procedure: Slug | None = Field(default=None, description="Id of the procedure that took it.")

    _side_agrees = field_validator("laterality")(_side_agrees_with_site)


class TumorMarker(Fact):
    marker: Literal["ER", "PR", "HER2", "Ki-67"]
    result: Literal["positive", "negative", "low", "equivocal"] | None = None
    percent: float | None = Field(default=None, ge=0, le=100)
    date: PartialDate | None = None
    specimen: Slug | None = None
    condition: Slug | None = Field(default=None, description="Id of the primary or metastasis tested.")

    @model_validator(mode="after")
    def _has_value(self) -> TumorMarker:
        if self.result is None and self.percent is None:
            raise ValueError("a tumor marker needs a result or a percent")
        return self


class Metastasis(Fact):
    site: Term
    body_site: Term | None = None
    laterality: Laterality | None = None
    primary: Slug | None = Field(default=None, description="Id of the primary cancer it came from.")
    date: PartialDate | None = None
    confirmed_by: tuple[Literal["biopsy", "imaging", "clinical examination"], ...] = ()
    verification: Literal["confirmed", "provisional"] | None = Field(
        default=None, description="Left empty where the report does not say how certain the finding is."
    )
    description: Text | None = None
    sizes: tuple[Size, ...] = ()

    _side_agrees = field_validator("laterality")(_side_agrees_with_site)


class Finding(Frozen):
    description: Text
    birads: str | None = Field(default=None, pattern=BIRADS_PATTERN)
    laterality: Laterality | None = None
    size: Size | None = None


class Imaging(Fact):
    modality: Term
    body_site: Term | None = None
    date: PartialDate | None = None
    findings: tuple[Finding, ...] = ()


class Procedure(Fact):
    kind: Literal["surgery", "biopsy", "radiotherapy", "consultation", "imaging", "other"]
    code: Term
    body_site: Term | None = None
    laterality: Laterality | None = None
    date: PartialDate | None = None
    period: Period | None = None
    status: Literal["completed", "not-done", "in-progress", "unknown"] = "completed"
    status_reason: Text | None = Field(default=None, description="Why not done, e.g. 'financial reasons'.")
    outcome: Text | None = None
    history: bool = Field(default=False, description="Past history the report gives without a date.")
    primary: Slug | None = Field(default=None, description="Id of the cancer it treats or diagnoses.")

    _side_agrees = field_validator("laterality")(_side_agrees_with_site)

    @model_validator(mode="after")
    def _one_time(self) -> Procedure:
        given = [name for name in ("date", "period") if getattr(self, name) is not None]
        if self.history:
            given.append("history")
        if len(given) > 1:
            raise ValueError(f"give one of date, period and history, not {' and '.join(given)}")
        return self


class Therapy(Fact):
    """One regimen: the agents given (or offered) together."""

    category: Literal[
        "chemotherapy", "endocrine", "ovarian suppression", "bone-modifying", "targeted", "other"
    ]
    agents: tuple[Term, ...] = Field(min_length=1)
    intent: (
        Literal["adjuvant", "neoadjuvant", "maintenance", "salvage", "palliative", "curative", "first-line"]
        | None
    ) = None
    period: Period | None = None
    cycles: int | None = Field(default=None, ge=1)
    status: Literal["active", "completed", "stopped", "intended", "not-taken", "unknown"] = "completed"
    reason_not_taken: Text | None = None
    purpose: Text | None = Field(default=None, description="What it was for, as reported.")
    primary: Slug | None = None


class DiseaseStatus(Fact):
    date: PartialDate | None = None
    status: Literal["improving", "stable", "worsening", "undetermined"]
    description: Text
    evidence: tuple[Literal["imaging", "clinical examination", "pathology", "patient report"], ...] = ()
    focus: tuple[Slug, ...] = ()


class Disagreement(Frozen):
    """Where the report's text and a figure state different things."""

    fact: Slug
    field: Text
    text_says: Text
    figure_says: Text
    figure: Text = "Figure 4"
    kept: Literal["text"] = "text"


class Case(Frozen):
    id: Slug
    title: Text
    report: Report
    patient: Patient
    ages: tuple[AgeAtEvent, ...] = ()
    vital_status: VitalStatus | None = None
    primaries: tuple[PrimaryCancer, ...] = ()
    metastases: tuple[Metastasis, ...] = ()
    specimens: tuple[Specimen, ...] = ()
    tumor_markers: tuple[TumorMarker, ...] = ()
    imaging: tuple[Imaging, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    disease_status: tuple[DiseaseStatus, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()

    def facts(self) -> list[Fact]:
        """Every identified fact, in case-file order."""
        out: list[Fact] = [*self.ages]
        if self.vital_status:
            out.append(self.vital_status)
        for primary in self.primaries:
            out.append(primary)
            out.extend(primary.staging)
            out.extend(primary.recurrences)
        for group in (
            self.metastases,
            self.specimens,
            self.tumor_markers,
            self.imaging,
            self.procedures,
            self.therapies,
            self.disease_status,
        ):
            out.extend(group)
        return out

    @model_validator(mode="after")
    def _check_references(self) -> Case:
        ids: dict[str, Fact] = {}
        for fact in self.facts():
            if fact.id in ids:
                raise ValueError(f"fact id {fact.id!r} is used twice")
            ids[fact.id] = fact
        # Each set once: built inside the loops they made a large case quadratic to check.
        primaries = {p.id for p in self.primaries}
        conditions = primaries | {m.id for m in self.metastases}
        procedures = {p.id for p in self.procedures}
        specimens = {s.id for s in self.specimens}
        facts = set(ids)

        def need(ref: str | None, allowed: set[str], what: str, owner: str) -> None:
            if ref is not None and ref not in allowed:
                raise ValueError(f"{owner}: {what} {ref!r} is not defined in this case")

        for m in self.metastases:
            need(m.primary, primaries, "primary", f"metastasis {m.id!r}")
        for s in self.specimens:
            need(s.procedure, procedures, "procedure", f"specimen {s.id!r}")
        for t in self.tumor_markers:
            need(t.specimen, specimens, "specimen", f"tumor marker {t.id!r}")
            need(t.condition, conditions, "condition", f"tumor marker {t.id!r}")
        for p in self.procedures:
            need(p.primary, conditions, "primary", f"procedure {p.id!r}")
        for th in self.therapies:
            need(th.primary, conditions, "primary", f"therapy {th.id!r}")
        for d in self.disease_status:
            for ref in d.focus:
                need(ref, conditions, "focus", f"disease status {d.id!r}")
        for dis in self.disagreements:
            need(dis.fact, facts, "fact", "disagreement")
        return self
