"""The one terminology table: every code fhirconv emits, reads or checks.

The table lives in ``data/terminology.csv`` (key, system, code, display, other
displays, source) and is loaded once.  Export looks concepts up by *key*;
import and validation look them up by *(system, code)*.  A key the table lacks
is a bug and raises :class:`~fhirconv.errors.TerminologyError`; a code that is
not confirmed by a named source does not belong in the table at all (the case
then carries text only).

A key ``meaning~variant`` is an *alias*: another producer's code for the same
meaning (``marker.er~85337-4`` is read as ``marker.er``).  The import reads
aliases; the export only ever writes the plain keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fhirconv.errors import TerminologyError

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
UCUM = "http://unitsofmeasure.org"
CDCREC = "urn:oid:2.16.840.1.113883.6.238"


@dataclass(frozen=True, slots=True)
class Concept:
    key: str
    system: str
    code: str
    display: str
    source: str
    # Every display accepted for this code, the preferred one first.
    displays: tuple[str, ...]

    @property
    def meaning(self) -> str:
        """The plain key this concept means: itself, or the key an alias stands for."""
        return self.key.partition("~")[0]

    @property
    def is_alias(self) -> bool:
        return "~" in self.key

    def coding(self) -> dict[str, str]:
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding


class TerminologyTable:
    def __init__(self, concepts: list[Concept]) -> None:
        self._by_key: dict[str, Concept] = {}
        self._by_code: dict[tuple[str, str], Concept] = {}
        for concept in concepts:
            if concept.key in self._by_key:
                raise TerminologyError(f"terminology table: key {concept.key!r} appears twice")
            if (concept.system, concept.code) in self._by_code:
                raise TerminologyError(f"terminology table: {concept.system}|{concept.code} appears twice")
            self._by_key[concept.key] = concept
            self._by_code[(concept.system, concept.code)] = concept
        # Asked once per resource validated (NDJSON: once a line): computed once.
        self._systems = frozenset(system for system, _ in self._by_code)
        for concept in concepts:
            if concept.is_alias and concept.meaning not in self._by_key:
                raise TerminologyError(
                    f"terminology table: alias {concept.key!r} stands for no key {concept.meaning!r}"
                )

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Concept:
        try:
            return self._by_key[key]
        except KeyError:
            raise TerminologyError(f"terminology table has no concept {key!r}") from None

    def has_key(self, key: str) -> bool:
        return key in self._by_key

    def find(self, system: str, code: str) -> Concept | None:
        return self._by_code.get((system, code))

    def systems(self) -> frozenset[str]:
        return self._systems


def parse_table(text: str) -> TerminologyTable:
    """Parse the CSV text of a table; lines starting with ``#`` are comments."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    concepts = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        others = tuple(d for d in (row["other_displays"] or "").split("|") if d)
        concepts.append(
            Concept(
                key=row["key"],
                system=row["system"],
                code=row["code"],
                display=row["display"],
                source=row["source"],
                displays=tuple(d for d in (row["display"], *others) if d),
            )
        )
    return TerminologyTable(concepts)


@cache
def table() -> TerminologyTable:
    """The packaged table, parsed once per process."""
    text = resources.files("fhirconv.data").joinpath("terminology.csv").read_text(encoding="utf-8")
    return parse_table(text)
