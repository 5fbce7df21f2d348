"""Hypothesis strategies for whole cases, within what the case model allows.

Ids are a letter and digits, so they cannot clash with the ids the export derives
from them (``-size-1``, ``-t``, ``-finding-1``, ``-2``).  Free text is any text the
model's ``Text`` allows: any Unicode the model does not forbid, with Unicode
whitespace before, inside and after it, never blank.
"""

import unicodedata
from datetime import date

from hypothesis import strategies as st

from fhirconv.model.case import BLANKS, Case
from fhirconv.model.terms import side_of_site
from fhirconv.terminology import table

# Case files name plain keys; aliases are other producers' codes, read on import only.
KEYS = sorted(c.key for c in table() if not c.is_alias)
RACE_KEYS = [k for k in KEYS if k.startswith("race.")]
# Every character the model allows: no control characters but tab, LF and CR (the
# utf-8 codec leaves out surrogates), and not U+FFFE or U+FFFF.
ALLOWED = st.characters(
    codec="utf-8",
    exclude_categories=("Cc",),
    include_characters="\t\n\r",
    exclude_characters="\ufffe\uffff",
)
# The Unicode whitespace the model allows (all but the control characters among it).
WHITESPACE = st.sampled_from([c for c in BLANKS if c in "\t\n\r" or unicodedata.category(c) != "Cc"])
blanks = st.text(WHITESPACE, max_size=3)

text = st.builds(
    lambda before, middle, after: before + middle + after,
    blanks,
    st.text(ALLOWED | WHITESPACE, min_size=1, max_size=30),
    blanks,
).filter(lambda value: value.strip(BLANKS))
maybe = lambda strategy: st.none() | strategy  # noqa: E731
source = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ,:()/-]{0,20}\Z")
sources = st.lists(source, min_size=1, max_size=3)


@st.composite
def partial_date(draw):
    day = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    return day.isoformat()[: draw(st.sampled_from([4, 7, 10]))]


def term(keys=KEYS):
    return st.builds(lambda t, c: {"text": t, "codes": c}, text, st.lists(st.sampled_from(keys), max_size=3))


laterality = st.sampled_from(["left", "right", "bilateral"])


@st.composite
def site_and_side(draw):
    """body_site and laterality that agree: a site whose code names a side takes no other side."""
    side = draw(maybe(laterality))
    keys = KEYS if side is None else [k for k in KEYS if side_of_site(k) in (None, side)]
    return {"body_site": draw(maybe(term(keys))), "laterality": side}
size = st.builds(
    lambda dims, method: {"dimensions_cm": dims, **({"method": method} if method else {})},
    st.lists(st.integers(1, 300).map(lambda n: n / 10), min_size=1, max_size=3),
    maybe(text),
)
period = st.one_of(
    st.builds(lambda s: {"start": s}, partial_date()),
    st.builds(lambda e: {"end": e}, partial_date()),
    st.builds(lambda s, e: {"start": min(s, e), "end": max(s, e)}, partial_date(), partial_date()),
)


def _put(out, key, value):
    if value is not None and value != []:
        out[key] = value
    return out


@st.composite
def cases(draw):
    counter = iter(range(10_000))
    # Fact ids up to the 48 characters the schema allows: exported ids must still fit FHIR's 64.
    padding = "-" + "x" * draw(st.sampled_from([0, 20, 47]))

    def new_id():
        return (f"f{next(counter)}{padding}")[:48].rstrip("-")

    def fact(**fields):
        out = {"id": new_id(), "sources": draw(sources)}
        _put(out, "note", draw(maybe(text)))
        for key, value in fields.items():
            _put(out, key, value)
        return out

    case = {
        "id": draw(st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z") | st.from_regex(r"\A[a-z][a-z0-9-]{47}\Z")),
        "title": draw(text),
        "report": _put(
            _put(
                _put(
                    {"doi": "10." + draw(st.from_regex(r"\A\d{4,9}/[a-z0-9.]{1,12}\Z"))},
                    "title",
                    draw(maybe(text)),
                ),
                "journal",
                draw(maybe(text)),
            ),
            "year",
            draw(maybe(st.integers(1, 9999))),
        ),
        "patient": _put(
            _put(
                {
                    "sources": draw(sources),
                    "sex": draw(st.sampled_from(["female", "male", "other", "unknown"])),
                },
                "ethnicity",
                draw(maybe(term(RACE_KEYS))),
            ),
            "note",
            draw(maybe(text)),
        ),
    }
    case["ages"] = [
        fact(age_years=draw(st.integers(0, 130)), event=draw(text), date=draw(maybe(partial_date())))
        for _ in range(draw(st.integers(0, 2)))
    ]
    if draw(st.booleans()):
        case["vital_status"] = fact(
            status=draw(st.sampled_from(["alive", "deceased", "unknown"])),
            date=draw(maybe(partial_date())),
            causes=draw(st.lists(term(), max_size=2)),
        )
    primaries = []
    for _ in range(draw(st.integers(0, 3))):
        stagings = []
        for _ in range(draw(st.integers(0, 2))):
            stagings.append(
                fact(
                    prefix=draw(st.sampled_from(["c", "p", "yc", "yp", "r", "rc", "rp", "a"])),
                    t=draw(maybe(st.sampled_from(["TX", "Tis", "T1", "T1c", "T2", "T3", "T4b", "Tmi"]))),
                    n=draw(maybe(st.sampled_from(["NX", "N0", "N1", "N1mi", "N2a", "N3c"]))),
                    m=draw(maybe(st.sampled_from(["M0", "M1"]))),
                    stage_group=draw(maybe(st.sampled_from(["0", "I", "IA", "IIB", "III", "IIIC", "IV"]))),
                    stated=draw(text),
                    date=draw(maybe(partial_date())),
                )
            )
        recurrences = [
            fact(
                date=draw(maybe(partial_date())),
                description=draw(text),
                size=draw(maybe(size)),
                confirmed_by=draw(st.lists(text, max_size=2)),
            )
            for _ in range(draw(st.integers(0, 2)))
        ]
        sited = draw(site_and_side())
        site = sited["body_site"]
        primaries.append(
            fact(
                condition=draw(term()),
                histology=draw(maybe(term())),
                **sited,
                quadrant=draw(maybe(term())) if site else None,
                diagnosis_date=draw(maybe(partial_date())),
                sizes=draw(st.lists(size, max_size=2)),
                staging=stagings,
                recurrences=recurrences,
                clinical_status=draw(st.sampled_from(["active", "recurrence", "resolved"])),
            )
        )
    case["primaries"] = primaries
    primary_ids = [p["id"] for p in primaries]
    case["metastases"] = [
        fact(
            site=draw(term()),
            **draw(site_and_side()),
            primary=draw(maybe(st.sampled_from(primary_ids))) if primary_ids else None,
            date=draw(maybe(partial_date())),
            confirmed_by=draw(
                st.lists(st.sampled_from(["biopsy", "imaging", "clinical examination"]), max_size=3)
            ),
            verification=draw(maybe(st.sampled_from(["confirmed", "provisional"]))),
            description=draw(maybe(text)),
            sizes=draw(st.lists(size, max_size=2)),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    conditions = primary_ids + [m["id"] for m in case["metastases"]]
    ref = lambda ids: draw(maybe(st.sampled_from(ids))) if ids else None  # noqa: E731
    procedures = []
    for _ in range(draw(st.integers(0, 3))):
        when = draw(st.sampled_from(["none", "date", "period", "history"]))
        status = draw(st.sampled_from(["completed", "not-done", "in-progress", "unknown"]))
        procedures.append(
            fact(
                kind=draw(
                    st.sampled_from(["surgery", "biopsy", "radiotherapy", "consultation", "imaging", "other"])
                ),
                code=draw(term()),
                **draw(site_and_side()),
                date=draw(partial_date()) if when == "date" else None,
                period=draw(period) if when == "period" else None,
                history=True if when == "history" else None,
                status=None if status == "completed" else status,
                status_reason=draw(maybe(text)),
                outcome=draw(maybe(text)),
                primary=ref(conditions),
            )
        )
    case["procedures"] = procedures
    procedure_ids = [p["id"] for p in procedures]
    case["specimens"] = [
        fact(
            description=draw(text),
            **draw(site_and_side()),
            collected=draw(maybe(partial_date())),
            procedure=ref(procedure_ids),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    specimen_ids = [s["id"] for s in case["specimens"]]
    markers = []
    for _ in range(draw(st.integers(0, 4))):
        result = draw(maybe(st.sampled_from(["positive", "negative", "low", "equivocal"])))
        percent = (
            draw(st.integers(0, 1000).map(lambda n: n / 10))
            if result is None
            else draw(maybe(st.integers(0, 1000).map(lambda n: n / 10)))
        )
        markers.append(
            fact(
                marker=draw(st.sampled_from(["ER", "PR", "HER2", "Ki-67"])),
                result=result,
                percent=percent,
                date=draw(maybe(partial_date())),
                specimen=ref(specimen_ids),
                condition=ref(conditions),
            )
        )
    case["tumor_markers"] = markers
    case["imaging"] = [
        fact(
            modality=draw(term()),
            body_site=draw(maybe(term())),
            date=draw(maybe(partial_date())),
            findings=[
                _put(
                    _put(
                        _put(
                            {"description": draw(text)},
                            "birads",
                            draw(maybe(st.sampled_from(["0", "3", "4a-b", "4c", "6"]))),
                        ),
                        "laterality",
                        draw(maybe(laterality)),
                    ),
                    "size",
                    draw(maybe(size)),
                )
                for _ in range(draw(st.integers(0, 3)))
            ],
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    case["therapies"] = [
        fact(
            category=draw(
                st.sampled_from(
                    [
                        "chemotherapy",
                        "endocrine",
                        "ovarian suppression",
                        "bone-modifying",
                        "targeted",
                        "other",
                    ]
                )
            ),
            agents=draw(st.lists(term(), min_size=1, max_size=3)),
            intent=draw(
                maybe(
                    st.sampled_from(
                        [
                            "adjuvant",
                            "neoadjuvant",
                            "maintenance",
                            "salvage",
                            "palliative",
                            "curative",
                            "first-line",
                        ]
                    )
                )
            ),
            period=draw(maybe(period)),
            cycles=draw(maybe(st.integers(1, 40))),
            status=draw(
                st.sampled_from(["active", "completed", "stopped", "intended", "not-taken", "unknown"])
            ),
            reason_not_taken=draw(maybe(text)),
            purpose=draw(maybe(text)),
            primary=ref(conditions),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    case["disease_status"] = [
        fact(
            date=draw(maybe(partial_date())),
            status=draw(st.sampled_from(["improving", "stable", "worsening", "undetermined"])),
            description=draw(text),
            evidence=draw(
                st.lists(
                    st.sampled_from(["imaging", "clinical examination", "pathology", "patient report"]),
                    max_size=3,
                )
            ),
            focus=draw(st.lists(st.sampled_from(conditions), max_size=3)) if conditions else [],
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    fact_ids = [f.id for f in Case.model_validate(case).facts()]
    if fact_ids:
        case["disagreements"] = [
            _put(
                {
                    "fact": draw(st.sampled_from(fact_ids)),
                    "field": draw(text),
                    "text_says": draw(text),
                    "figure_says": draw(text),
                },
                "figure",
                draw(maybe(text)),
            )
            for _ in range(draw(st.integers(0, 2)))
        ]
    return Case.model_validate({k: v for k, v in case.items() if v not in (None, [])})
