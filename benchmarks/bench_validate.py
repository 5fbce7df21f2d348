"""Throughput and memory of ``fhirconv validate`` (a script, not a timed test).

    python benchmarks/bench_validate.py [--sizes 10000,50000] [--repeat 3] [--layers-up-to 10000]
                                        [--profile 10000] [--no-memory] [--no-cold]

For each size, a bundle of at least that many resources (case2's entries copied with
fresh fullUrls and ids, references rewritten to match, written indented as
``fhirconv export`` writes) is timed, in ONE process on ONE core, for:

* the baselines: orjson parsing the bytes, and fhir.resources R4B parsing the bytes
  into its pydantic models (``Bundle.model_validate_json``: "parse-only", the yardstick
  of issue 13) and building them from already parsed JSON (``model_validate``);
* fhirconv layer by layer (bundles up to ``--layers-up-to`` resources): the JSON layer
  from bytes, then each later layer alone on the parsed JSON;
* fhirconv all layers except profiles, and all layers, from bytes (what the command does).

Every row gives resources/s per core (from the CPU time of this one-threaded process),
its CPU time as a multiple of parse-only, and the wall time. The machine is shared
(2 cores, other work running), so absolute figures are noisy: each row is the best of
``--repeat`` runs, and the ratios between rows of the same run are the figures to
compare across runs.

First, in subprocesses: peak resident memory (VmHWM) of ``python -m fhirconv validate``
on case2 and on the largest bundle, and on NDJSON files of two sizes (memory should not
grow with the number of lines); and the wall time of a cold
``python -m fhirconv validate examples/case2.bundle.json``.

``--profile N`` prints a cProfile of all layers on the N-resource bundle instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's fhirconv, not whichever one is installed.
sys.path.insert(0, str(ROOT))

from fhirconv.validation import Layer, validate_bytes, validate_resource  # noqa: E402

SEEDS = [ROOT / "examples" / "case1.bundle.json", ROOT / "examples" / "case2.bundle.json"]
NOTE = (
    "(shared 2-core machine: best of --repeat runs, resources/s from CPU time; compare the "
    "ratios of one run, absolute figures move with the load)"
)


def generated(copies: int) -> dict:
    """case2's entries repeated ``copies`` times, each copy with its own fullUrls and ids."""
    source = json.loads(SEEDS[1].read_text())
    entries = []
    template = json.dumps(source["entry"])
    for k in range(copies):
        text = template
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


def bundle_of(size: int) -> dict:
    per_copy = len(json.loads(SEEDS[1].read_text())["entry"])
    return generated(math.ceil(size / per_copy))


def encoded(bundle: dict) -> bytes:
    """The bytes ``fhirconv export`` would write (indented JSON)."""
    return (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode()


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best CPU time and best wall time of ``repeat`` runs, each with the cyclic GC off (as
    validation runs), so that the baselines and the layers are timed on equal terms.

    CPU time (this process, one thread) is the per-core figure: other work on the
    machine stretches wall time but hardly this."""
    cpu, wall = [], []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(cpu), min(wall)


def rows(bundle: dict, raw: bytes, layers: bool) -> list[tuple[str, Callable[[], object]]]:
    import orjson
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class("Bundle")
    out: list[tuple[str, Callable[[], object]]] = [
        ("fhir.resources R4B parse-only (bytes)", lambda: model.model_validate_json(raw)),
        ("fhir.resources R4B from parsed JSON", lambda: model.model_validate(bundle)),
        ("orjson parse (bytes)", lambda: orjson.loads(raw)),
    ]
    if layers:
        out.append(("json layer (bytes, FHIR JSON rules)", lambda: _json_only(raw)))
        for layer in (
            Layer.SCHEMA,
            Layer.STRUCTURE,
            Layer.BUNDLE,
            Layer.INVARIANT,
            Layer.PROFILE,
            Layer.TERMINOLOGY,
        ):
            out.append((f"{layer.value} layer alone", _one_layer(bundle, layer)))
    out += [
        ("all layers except profiles (bytes)", lambda: validate_bytes(raw, source="b.json", profiles=False)),
        ("all layers (bytes)", lambda: validate_bytes(raw, source="b.json", profiles=True)),
    ]
    return out


def _one_layer(bundle: dict, layer: Layer) -> Callable[[], object]:
    return lambda: validate_resource(bundle, layers=(layer,))


def _json_only(raw: bytes) -> None:
    from fhirconv.validation import json_layer

    json_layer.load(raw)


def warm() -> None:
    """Load definitions, build models and compile expressions once, on case2."""
    bundle = json.loads(SEEDS[1].read_text())
    for _, fn in rows(bundle, encoded(bundle), layers=True):
        fn()


def measure(size: int, repeat: int, layers: bool) -> None:
    bundle = bundle_of(size)
    raw = encoded(bundle)
    n = len(bundle["entry"])
    print(f"\ngenerated bundle: {n:,} resources, {len(raw) / 1e6:.1f} MB")
    print(f"  {'':<40} {'per core (CPU time)':>33} {'':>15} {'wall':>7}")
    baseline = None
    for label, fn in rows(bundle, raw, layers):
        seconds, wall = best(fn, repeat)
        if baseline is None:
            baseline = seconds
        print(
            f"  {label:<40} {n / seconds:>9,.0f} resources/s  {seconds:8.2f} s  "
            f"{seconds / baseline:5.2f} x parse-only  {wall:6.2f} s",
            flush=True,
        )


def profile(size: int) -> None:
    bundle = bundle_of(size)
    raw = encoded(bundle)
    warm()
    profiler = cProfile.Profile()
    gc.disable()
    profiler.enable()
    validate_bytes(raw, source="b.json", profiles=True)
    profiler.disable()
    gc.enable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"all layers, {len(bundle['entry']):,} resources")
    print(out.getvalue())


PEAK = """
import runpy, sys
sys.argv = ["fhirconv", *sys.argv[1:]]
try:
    runpy.run_module("fhirconv", run_name="__main__")
finally:
    # VmHWM belongs to this process image alone; ru_maxrss would count the
    # parent's memory, which the child held between fork and exec.
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"PEAK {peak}", file=sys.stderr)
"""


def peak_rss(args: list[str]) -> tuple[float, int]:
    """Peak resident memory (MB) and exit code of ``python -m fhirconv ARGS`` in a subprocess."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    line = next(x for x in done.stderr.decode().splitlines() if x.startswith("PEAK "))
    return int(line.split()[1]) / 1024, done.returncode


def memory(size: int, folder: Path) -> None:
    print("\npeak memory of python -m fhirconv validate (VmHWM)")
    small, small_exit = peak_rss(["validate", str(SEEDS[1])])
    print(f"  case2 ({SEEDS[1].stat().st_size / 1e6:.2f} MB): {small:,.0f} MB peak (exit {small_exit})")
    big = folder / "big.json"
    bundle = bundle_of(size)
    big.write_bytes(encoded(bundle))
    mb = big.stat().st_size / 1e6
    del bundle
    peak, code = peak_rss(["validate", str(big)])
    print(
        f"  {size:,} resources ({mb:.1f} MB): {peak:,.0f} MB peak = {peak / mb:.1f} x the file "
        f"({(peak - small) / mb:.1f} x above case2's peak) (exit {code})"
    )
    big.unlink()
    entries = [e["resource"] for e in bundle_of(10_000)["entry"]]
    for lines in (len(entries), 5 * len(entries)):
        path = folder / f"lines-{lines}.ndjson"
        with path.open("wb") as handle:
            for k in range(lines // len(entries)):
                for resource in entries:
                    handle.write(json.dumps({**resource, "id": f"{resource['id']}-n{k}"}).encode() + b"\n")
        mb = path.stat().st_size / 1e6
        peak, code = peak_rss(["validate", str(path)])
        print(f"  NDJSON, {lines:,} lines ({mb:.1f} MB): {peak:,.0f} MB peak (exit {code})")
        path.unlink()


def cold_start(repeat: int) -> None:
    target = SEEDS[1]
    times = []
    for _ in range(max(3, repeat)):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "fhirconv", "validate", str(target)], capture_output=True, cwd=ROOT
        )
        times.append(time.perf_counter() - start)
    print(
        f"\ncold start: python -m fhirconv validate {target.relative_to(ROOT)}: best {min(times):.2f} s "
        f"wall of {len(times)} (exit {done.returncode})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,50000", help="resources in the generated bundles")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the best is shown")
    parser.add_argument(
        "--layers-up-to", type=int, default=10_000, help="time each layer alone on bundles up to this size"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile all layers on N resources"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak memory subprocesses")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold start")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(NOTE)
    # Subprocesses first, while this process is small and the machine calmer.
    if not args.no_cold:
        cold_start(args.repeat)
    if not args.no_memory:
        with tempfile.TemporaryDirectory(prefix="fhirconv-bench-") as folder:
            memory(max(sizes), Path(folder))
    warm()
    for size in sizes:
        measure(size, args.repeat, size <= args.layers_up_to)


if __name__ == "__main__":
    main()
