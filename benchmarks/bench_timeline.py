"""How long ``fhirconv timeline`` takes (a script, not a timed test).

    python benchmarks/bench_timeline.py [--repeat 3]

Prints, for case1 and case2 in SVG and PNG: the wall time of the whole command from a
cold start (a new ``python -m fhirconv`` process, the best of ``repeat`` runs), and, in
one warm process, the time of each step (describe, layout, draw).  Run from the
repository root.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import matplotlib

from fhirconv.cases import load_case
from fhirconv.timeline.describe import describe
from fhirconv.timeline.layout import layout
from fhirconv.timeline.render import RC, figure, measurer

CASES = ("case1", "case2")
FORMATS = ("svg", "png")


def cold(case: str, fmt: str, repeat: int, folder: Path) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fhirconv", "timeline", case, "-o", str(folder / f"{case}.{fmt}")],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - start)
    return best


def warm(case: str, fmt: str, repeat: int) -> dict[str, float]:
    import io

    from fhirconv.timeline.render import METADATA, PNG_DPI

    best: dict[str, float] = {}
    model = load_case(case)
    for _ in range(repeat):
        with matplotlib.rc_context(RC):
            marks = {"start": time.perf_counter()}
            timeline = describe(model)
            marks["describe"] = time.perf_counter()
            page = layout(timeline, measurer())
            marks["layout"] = time.perf_counter()
            fig = figure(page)
            fig.savefig(io.BytesIO(), format=fmt, dpi=PNG_DPI if fmt == "png" else 72, metadata=METADATA[fmt])
            marks["draw"] = time.perf_counter()
        steps = list(marks)
        for before, after in pairwise(steps):
            best[after] = min(best.get(after, float("inf")), marks[after] - marks[before])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        total = {fmt: 0.0 for fmt in FORMATS}
        for fmt in FORMATS:
            for case in CASES:
                seconds = cold(case, fmt, args.repeat, Path(folder))
                total[fmt] += seconds
                steps = warm(case, fmt, args.repeat)
                detail = ", ".join(f"{name} {value * 1000:.0f} ms" for name, value in steps.items())
                print(f"{case} {fmt}: command {seconds:.2f} s cold; warm: {detail}")
        for fmt, seconds in total.items():
            print(f"both cases, {fmt}: {seconds:.2f} s (two cold commands)")


if __name__ == "__main__":
    main()
