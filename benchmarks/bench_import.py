"""Throughput of ``fhirconv import`` (a script, not a timed test).

    python benchmarks/bench_import.py [--copies 140] [--repeat 3]

Builds one patient's case with case1's facts repeated ``copies`` times (ids
suffixed, references kept inside each copy), exports it as a bundle of at least
10,000 resources, then prints resources per second for: the mapping alone
(bundle to case), reading the JSON file with the structural validation the
import runs first, and both together.  One process, one core.
"""

from __future__ import annotations

import argparse
import gc
import json
import time

from fhirconv.cases import load_case
from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.mapping.bundle import build_bundle
from fhirconv.model.case import Case

REFS = {
    "metastases": ("primary",),
    "specimens": ("procedure",),
    "tumor_markers": ("specimen", "condition"),
    "procedures": ("primary",),
    "therapies": ("primary",),
}


def big_case(copies: int) -> Case:
    base = load_case("case1").model_dump(mode="json", exclude_defaults=True)
    data = {k: v for k, v in base.items() if k not in ("ages", "disagreements") and not isinstance(v, list)}
    for key in (
        "ages",
        "primaries",
        "metastases",
        "specimens",
        "tumor_markers",
        "imaging",
        "procedures",
        "therapies",
        "disease_status",
        "disagreements",
    ):
        data[key] = []
    for k in range(copies):
        text = json.dumps({key: base.get(key, []) for key in data if isinstance(data[key], list)})
        copy = json.loads(text)
        for key, items in copy.items():
            for item in items:
                if "id" in item:
                    item["id"] = f"{item['id']}-c{k}"
                for sub in ("staging", "recurrences"):
                    for nested in item.get(sub, []):
                        nested["id"] = f"{nested['id']}-c{k}"
                for ref in REFS.get(key, ()):
                    if ref in item:
                        item[ref] = f"{item[ref]}-c{k}"
                if key == "disease_status":
                    item["focus"] = [f"{f}-c{k}" for f in item.get("focus", [])]
                if key == "disagreements":
                    item["fact"] = f"{item['fact']}-c{k}"
            data[key].extend(items)
    return Case.model_validate(data)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=140)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    case = big_case(args.copies)
    bundle = build_bundle(case)
    data = json.dumps(bundle).encode()
    n = len(bundle["entry"])
    print(f"generated bundle: {n} resources, {len(data) / 1e6:.1f} MB")
    entries = [
        (f"Bundle.entry[{i}].resource", e["resource"], e["fullUrl"]) for i, e in enumerate(bundle["entry"])
    ]
    result = import_entries(entries)
    assert result.case == case and not result.unmapped, "the generated bundle must import losslessly"
    mapping = best(lambda: import_entries(entries), args.repeat)
    reading = best(lambda: read_entries(data, "generated.json"), args.repeat)
    both = best(lambda: import_entries(read_entries(data, "generated.json")), args.repeat)
    for label, seconds in (
        ("mapping only (bundle -> case)", mapping),
        ("read + structural validation", reading),
        ("import as the command runs it", both),
    ):
        print(f"{label:32s} {seconds:7.2f} s  {n / seconds:10,.0f} resources/s")


if __name__ == "__main__":
    main()
