"""Throughput of ``fhirconv validate``, layer by layer (a script, not a timed test).

    python benchmarks/bench_validate.py [--copies 140] [--repeat 3]

Prints resources per second for each layer alone, for all offline layers except
profiles, and for all layers, on the seed bundles (examples/case1 and case2) and
on a generated bundle of at least 10,000 resources (case2's entries copied with
fresh fullUrls and references rewritten to match), next to fhir.resources R4B
parsing alone measured in the same run.  Then the wall time of a cold
``fhirconv validate examples/case2.bundle.json``.  One process, one core.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from fhirconv.validation import Layer, validate_bytes, validate_resource

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [ROOT / "examples" / "case1.bundle.json", ROOT / "examples" / "case2.bundle.json"]


def generated(copies: int) -> dict:
    """case2's entries repeated ``copies`` times, each copy with its own fullUrls and ids."""
    source = json.loads(SEEDS[1].read_text())
    entries = []
    for k in range(copies):
        text = json.dumps(source["entry"])
        for entry in source["entry"]:
            old = entry["fullUrl"]
            new = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{k}:{old}')}"
            text = text.replace(old, new)
            rid = entry["resource"].get("id")
            if rid:
                text = text.replace(f'"id": "{rid}"', f'"id": "{rid}-{k}"')
        for entry in json.loads(text):
            if "request" in entry and "url" in entry["request"]:
                entry["request"]["url"] = f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
            entries.append(entry)
    return {**source, "entry": entries}


def count(bundle: dict) -> int:
    return len(bundle.get("entry", []))


def best(fn, repeat: int) -> float:
    """Best of ``repeat`` runs, each with the cyclic GC off (as validation runs), so that
    fhir.resources alone and the layers are timed on equal terms."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def measure(name: str, bundle: dict, repeat: int) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    n = count(bundle)
    raw = json.dumps(bundle).encode()
    model = get_fhir_model_class("Bundle")
    runs = [
        ("fhir.resources R4B parse only", lambda: model.model_validate(bundle)),
        ("json (bytes, FHIR JSON rules)", lambda: _json_only(raw)),
        ("schema", lambda: validate_resource(bundle, layers=(Layer.SCHEMA,))),
        ("structure", lambda: validate_resource(bundle, layers=(Layer.STRUCTURE,))),
        ("bundle", lambda: validate_resource(bundle, layers=(Layer.BUNDLE,))),
        ("invariant", lambda: validate_resource(bundle, layers=(Layer.INVARIANT,))),
        ("profile", lambda: validate_resource(bundle, layers=(Layer.PROFILE,))),
        ("terminology", lambda: validate_resource(bundle, layers=(Layer.TERMINOLOGY,))),
        ("all offline layers except profiles", lambda: validate_bytes(raw, source="b.json", profiles=False)),
        ("all layers", lambda: validate_bytes(raw, source="b.json", profiles=True)),
    ]
    print(f"\n{name}: {n} resources")
    baseline = None
    for label, fn in runs:
        fn()  # warm: definitions loaded, models built
        seconds = best(fn, repeat)
        rate = n / seconds
        if baseline is None:
            baseline = rate
        print(
            f"  {label:<38} {rate:>10,.0f} resources/s  ({seconds * 1000:8.1f} ms, "
            f"{rate / baseline:5.2f} x fhir.resources)"
        )


def _json_only(raw: bytes) -> None:
    from fhirconv.validation import json_layer

    text, _ = json_layer.decode(raw)
    value, duplicates = json_layer.parse(text)
    json_layer.check_tree(value, duplicates)


def cold_start() -> None:
    target = SEEDS[1]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "fhirconv", "validate", str(target)], capture_output=True
        )
        times.append(time.perf_counter() - start)
    print(
        f"\ncold start: fhirconv validate {target.relative_to(ROOT)}: best {min(times):.2f} s wall "
        f"(exit {done.returncode})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=140, help="copies of case2 in the generated bundle")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for seed in SEEDS:
        measure(seed.name, json.loads(seed.read_text()), args.repeat)
    big = generated(args.copies)
    measure(f"generated bundle ({args.copies} x case2)", big, max(1, args.repeat - 2))
    cold_start()


if __name__ == "__main__":
    main()
