"""What every ``from_fhir`` shares: consuming a resource, resolving references, reporting.

The import works on a copy of each resource and *takes* (removes) every element
it maps.  Whatever is left afterwards was not mapped, and :meth:`Reader.leftover`
reports it with its location, so nothing is dropped silently.  Lists keep their
length while their items are emptied, so that locations keep their indices.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fhirconv.mapping.common import JSON, LATERALITY_EXT, digest, fact_part, short_slug
from fhirconv.model.case import BLANKS
from fhirconv.model.terms import side_of_site
from fhirconv.terminology import table

IMPORTED_SOURCE = "Imported FHIR resource"
LATERALITY_KEYS = {
    "laterality.left": "left",
    "laterality.right": "right",
    "laterality.bilateral": "bilateral",
}


@dataclass(frozen=True, slots=True)
class Unmapped:
    """Content the import could not map: where, why (a short reason) and what."""

    location: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "reason": self.reason, "message": self.message}


@dataclass
class Reader:
    """The state of one import: the case id, reference targets and the report being built."""

    case_id: str | None = None
    report_url: str | None = None
    # The meta.source another producer's resources share, recorded once for the case.
    origin_source: str | None = None
    # A reference as written (fullUrl, or Type/id) -> (resourceType, fact id).
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    # Whether the resource being read comes from another producer than fhirconv.
    foreign: bool = True
    # A fact id -> the location of the resource it was read from, for reports made later.
    where: dict[str, str] = field(default_factory=dict)
    # Medication resources of the bundle, as the agent (a Term) a therapy names by reference.
    medications: dict[str, JSON] = field(default_factory=dict)
    # (resourceType, id) -> fact id, one-to-one: see :meth:`assign`.
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def report(self, location: str, reason: str, message: str) -> None:
        self.unmapped.append(Unmapped(location, reason, message))

    def assign(self, rtype: str, rid: str) -> str:
        """Give the resource ``rtype/rid`` its fact id, distinct from every other resource's.

        fhirconv's own ids lose the case's prefix; other ids become slugs of at most 48
        characters (:func:`short_slug`).  FHIR ids are unique per type only, and slugs
        fold case: a fact id already given to another resource is made distinct with a
        digest of ``Type/id``.  Assigned in bundle order, so the same bundle gives the same ids.
        """
        key = (rtype, rid)
        if key in self.ids:
            return self.ids[key]
        part = fact_part(self.case_id, rid) if self.case_id else None
        fact = short_slug(part if part is not None else rid)
        taken = self.taken
        if fact in taken:
            fact = short_slug(f"{fact}-{digest(f'{rtype}/{rid}')}")
            number = 2
            while fact in taken:  # only a bundle written to collide gets here
                fact = short_slug(f"{fact}-{number}")
                number += 1
        self.ids[key] = fact
        taken.add(fact)
        return fact

    def fact_id(self, resource: JSON) -> str:
        """The fact id of a resource of the bundle (assigned when first asked)."""
        return self.assign(str(resource.get("resourceType")), str(resource["id"]))

    def ref(self, value: Any, loc: str, kinds: tuple[str, ...] = ()) -> str | None:
        """The fact id a Reference points at (its ``reference`` is taken); None if it cannot."""
        if not isinstance(value, dict):
            return None
        target = value.get("reference")
        if not isinstance(target, str):
            return None
        found = self.targets.get(target)
        if found is None:
            self.report(f"{loc}.reference", "missing reference", f"{target} is not a resource of the bundle")
            value.pop("reference")
            return None
        if kinds and found[0] not in kinds:
            self.report(
                f"{loc}.reference",
                "unexpected reference",
                f"{target} is a {found[0]}; expected {' or '.join(kinds)}",
            )
            value.pop("reference")
            return None
        value.pop("reference")
        value.pop("type", None)
        return found[1]

    def term(self, concept: Any, loc: str) -> JSON | None:
        """A CodeableConcept as a Term (text and table keys); unknown codes are reported."""
        if not isinstance(concept, dict):
            return None
        codes: list[str] = []
        displays: list[str] = []
        for i, coding in enumerate(concept.get("coding") or []):
            if not isinstance(coding, dict):
                continue
            display = coding.get("display")
            key = self.code_key(coding, f"{loc}.coding[{i}]")
            if key is not None:
                codes.append(key)
            elif isinstance(display, str):
                displays.append(display)  # an unknown code's display still names the concept
        text = concept.pop("text", None)
        if not isinstance(text, str) or not text.strip(BLANKS):  # blank text names nothing
            text = displays[0] if displays else (table().get(codes[0]).display if codes else None)
        if not text:
            return None
        out: JSON = {"text": text}
        if codes:
            out["codes"] = codes
        return out

    def text(self, concept: Any, loc: str) -> str | None:
        """A CodeableConcept where the model holds words only: its text; codes are reported."""
        term = self.term(concept, loc)
        if term is None:
            return None
        if term.get("codes"):
            held = f"the model holds the words {term['text']!r}, not the codes"
            self.report(loc, "text only", f"{held} ({', '.join(term['codes'])})")
        return str(term["text"])

    def code_key(self, coding: Any, loc: str) -> str | None:
        """The table key of a Coding (taken when known); unknown codes are reported."""
        if not isinstance(coding, dict):
            return None
        system, code = coding.get("system"), coding.get("code")
        concept = table().find(str(system), str(code)) if system and code else None
        if concept is None:
            if code is not None:
                self.report(loc, "unknown code", f"{system}|{code} is not in fhirconv's terminology table")
                coding.clear()  # reported once, as a whole
            return None
        for key in ("system", "code", "display", "version", "userSelected"):
            coding.pop(key, None)
        return concept.meaning

    def concept_key(self, concept: Any, loc: str, prefix: str) -> str | None:
        """The first coding of a CodeableConcept whose table key starts with ``prefix``."""
        if not isinstance(concept, dict):
            return None
        for i, coding in enumerate(concept.get("coding") or []):
            if not isinstance(coding, dict):
                continue
            system, code = coding.get("system"), coding.get("code")
            found = table().find(str(system), str(code)) if system and code else None
            if found is not None and found.meaning.startswith(prefix):
                return self.code_key(coding, f"{loc}.coding[{i}]")
        return None

    def laterality(self, holder: JSON, loc: str) -> str | None:
        """Take the mCODE laterality qualifier extension of ``holder``, if there is one."""
        for i, ext in enumerate(holder.get("extension") or []):
            if isinstance(ext, dict) and ext.get("url") == LATERALITY_EXT:
                key = self.concept_key(
                    ext.get("valueCodeableConcept"), f"{loc}.extension[{i}]", "laterality."
                )
                if key is not None:
                    ext.pop("url")
                    return LATERALITY_KEYS[key]
        return None

    def body_site(self, concept: Any, loc: str) -> tuple[JSON | None, str | None]:
        """The site and its side: the laterality extension, or a side built into the site's code.

        fhirconv writes the side it holds as the extension, so a side built into the code
        is read only from other producers (a case may name 'left breast' and no laterality).
        """
        if not isinstance(concept, dict):
            return None, None
        side = self.laterality(concept, loc)
        term = self.term(concept, loc)
        if not self.foreign or term is None:
            return term, side
        sides = {code: side_of_site(code) for code in term.get("codes", [])}
        built_in = {s for s in sides.values() if s is not None}
        if side is not None and built_in and built_in != {side}:
            # The case model refuses a site whose code names another side: the code goes, reported.
            dropped = [code for code, s in sides.items() if s is not None and s != side]
            term["codes"] = [code for code in term["codes"] if code not in dropped]
            found = " and ".join(sorted(built_in))
            what = (
                f"the site's code says {found}, its laterality {side}: kept {side}, and the site "
                f"without the code {', '.join(dropped)}"
            )
            self.report(loc, "conflicting facts", what)
        elif side is None and len(built_in) == 1:
            side = built_in.pop()
        return term, side

    def is_own(self, resource: JSON) -> bool:
        """Whether fhirconv wrote the resource: it names the case's publication as its source."""
        meta = resource.get("meta")
        return bool(self.report_url) and isinstance(meta, dict) and meta.get("source") == self.report_url

    def sources(self, resource: JSON, loc: str) -> list[str]:
        """The sections of the report a fact comes from: the ``meta.tag`` displays."""
        meta = resource.get("meta")
        if not isinstance(meta, dict):
            return [IMPORTED_SOURCE]
        meta.pop("profile", None)  # derived from the kind of fact
        if meta.get("source") is not None and meta.get("source") in (self.report_url, self.origin_source):
            meta.pop("source")
        out = []
        for tag in meta.get("tag") or []:
            if isinstance(tag, dict) and tag.get("system") == self.report_url and tag.get("display"):
                out.append(tag.pop("display"))
                tag.pop("system")
                tag.pop("code", None)
        return out or [IMPORTED_SOURCE]

    def notes(self, resource: JSON) -> tuple[dict[str, str], list[str]]:
        """Annotations: those labelled by an element id, and the plain ones in order."""
        labelled: dict[str, str] = {}
        plain: list[str] = []
        for note in resource.get("note") or []:
            if not isinstance(note, dict) or not isinstance(note.get("text"), str):
                continue
            label = note.pop("id", None)
            text = note.pop("text")
            if label is not None:
                labelled[str(label)] = text
            else:
                plain.append(text)
        return labelled, plain

    def fact(self, resource: JSON, loc: str) -> JSON:
        """A fact's identity, the twin of the export's id and ``meta``: its id and its sources."""
        return {"id": self.fact_id(resource), "sources": self.sources(resource, loc)}

    def note(self, resource: JSON, loc: str) -> str | None:
        """The fact's own note: the one unlabelled annotation (more are joined and reported)."""
        _, plain = self.notes(resource)
        if len(plain) > 1:
            self.report(f"{loc}.note", "joined", f"{len(plain)} annotations joined into one note")
            return "\n\n".join(plain)
        return plain[0] if plain else None

    def quantity(self, quantity: Any, units: dict[str, float], *, whole: bool = False) -> int | float | None:
        """Take a Quantity's value in the unit the case model holds: ``units`` maps table keys
        of units (``unit.mm``) to the factor into it.  A quantity in another unit, or one that
        does not say its unit, is not taken: it stays to be reported as not mapped, rather than
        be read in the wrong unit.  ``whole``: only a whole number is taken.
        """
        if not isinstance(quantity, dict):
            return None
        value = quantity.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool) or (whole and value != int(value)):
            return None
        code, system = quantity.get("code"), quantity.get("system")
        for key, factor in units.items():
            unit = table().get(key)
            if code is not None:
                known = code == unit.code and system in (None, unit.system)
            else:  # the unit's words alone: its code or a display
                known = system in (None, unit.system) and quantity.get("unit") in (unit.code, *unit.displays)
            if known:
                for k in ("value", "unit", "system", "code"):
                    quantity.pop(k, None)
                return value if factor == 1 else value * factor
        return None

    def date(self, resource: JSON, prefix: str, loc: str) -> str | None:
        """``{prefix}DateTime``, or a ``{prefix}Period`` that starts and ends on the same partial date."""
        value = resource.pop(f"{prefix}DateTime", None)
        if isinstance(value, str):
            return self.partial_date(value, f"{loc}.{prefix}DateTime")
        period = resource.get(f"{prefix}Period")
        if isinstance(period, dict) and period.get("start") and period.get("start") == period.get("end"):
            resource.pop(f"{prefix}Period")
            return self.partial_date(str(period["start"]), f"{loc}.{prefix}Period")
        return None

    def period(self, value: Any, loc: str) -> JSON | None:
        if not isinstance(value, dict):
            return None
        out = {}
        for key in ("start", "end"):
            if isinstance(value.get(key), str):
                date = self.partial_date(value.pop(key), f"{loc}.{key}")
                if date:
                    out[key] = date
        return out or None

    def partial_date(self, value: str, loc: str) -> str | None:
        """A FHIR date or dateTime as the model's partial date; a time of day is reported."""
        day = value[:10]
        if len(value) > 10:
            self.report(loc, "precision", f"time of day in {value!r} not held; kept {day}")
        return day

    def leftover(self, value: Any, loc: str, original: Any = None) -> None:
        """Report every element still in ``value``: the import did not map it.

        An element nothing was taken from (it still equals ``original``, the resource
        as it came) is reported once, as a whole; elsewhere each remaining part is.
        """
        for path, item in _leftovers(value, loc, original):
            self.report(path, "not mapped", _short(item))


_MISSING = object()


def _leftovers(value: Any, loc: str, original: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            before = original.get(key, _MISSING) if isinstance(original, dict) else _MISSING
            yield from _untouched_or_parts(item, f"{loc}.{key}", before)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            before = original[i] if isinstance(original, list) and i < len(original) else _MISSING
            yield from _untouched_or_parts(item, f"{loc}[{i}]", before)
    elif value is not None:
        yield loc, value


def _untouched_or_parts(item: Any, loc: str, before: Any) -> Iterator[tuple[str, Any]]:
    if not _has_content(item):
        return
    if before is not _MISSING and isinstance(item, dict | list) and item == before:
        yield loc, item
    else:
        yield from _leftovers(item, loc, before)


def _has_content(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return value is not None


def _short(value: Any) -> str:
    """The value as FHIR JSON writes it (``true``, ``"active"``), cut to one short line."""
    text = json.dumps(_compact(value), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= 80 else text[:77] + "..."


def _compact(value: Any) -> Any:
    """A whole element as its leaves' values, for a one-line message."""
    if isinstance(value, dict):
        if "coding" in value:
            codings = [c for c in value.get("coding") or [] if isinstance(c, dict)]
            codes = [f"{c.get('system')}|{c.get('code')}" for c in codings]
            rest = {k: _compact(v) for k, v in value.items() if k != "coding"}
            return {**({"coding": codes} if codes else {}), **rest}
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


# What a server writes about its own copy of a resource, not about the patient: the version
# and time it stored, and (HAPI) the id of the request that wrote it as meta.source "#...".
SERVER_BOOKKEEPING = ("versionId", "lastUpdated")


def drop_bookkeeping(resource: JSON) -> None:
    """Forget a server's version bookkeeping on the way back: it is not part of the case."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return
    for key in SERVER_BOOKKEEPING:
        meta.pop(key, None)
    source = meta.get("source")
    if isinstance(source, str) and source.startswith("#"):
        meta.pop("source")
    if not meta:
        resource.pop("meta")


def text_of(concept: Any) -> str | None:
    """The text of a CodeableConcept, without taking it."""
    return concept.get("text") if isinstance(concept, dict) else None


def take_text(holder: JSON, key: str) -> str | None:
    """Take a text-only CodeableConcept (``{"text": ...}``) and return its text."""
    concept = holder.get(key)
    if not isinstance(concept, dict) or not isinstance(concept.get("text"), str):
        return None
    text: str = concept.pop("text")
    return text


def meanings(concept: Any) -> list[str]:
    """The table keys a CodeableConcept's codings mean (aliases as their plain key), in order."""
    if not isinstance(concept, dict):
        return []
    out = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") and coding.get("code"):
            found = table().find(str(coding["system"]), str(coding["code"]))
            if found is not None:
                out.append(found.meaning)
    return out


def has_code(concept: Any, key: str) -> bool:
    """Whether a CodeableConcept has a coding that means ``key`` (the key's code or an alias)."""
    return key in meanings(concept)


__all__ = ["Reader", "Unmapped", "drop_bookkeeping", "has_code", "meanings", "take_text", "text_of"]
