"""Same findings, whatever the speed: the full issue lists of a fixed corpus against a stored run.

See :mod:`tests.validation.reference_findings` for the corpus and how the stored run is
regenerated when findings change on purpose.
"""

import json

import pytest

from fhirconv.validation import fastpaths
from tests.validation.reference_findings import REGENERATE, STORED, corpus, findings
from tests.validation.test_mutations import CATALOGUE


@pytest.fixture(scope="module")
def items():
    return corpus()


@pytest.fixture(scope="module")
def current(items):
    return findings(items)


def differences(expected, got, limit=8):
    """Readable lines for the first inputs whose issue lists differ."""
    lines = []
    for name in sorted(set(expected) | set(got)):
        want, have = expected.get(name), got.get(name)
        if want == have:
            continue
        if want is None or have is None:
            lines.append(f"{name}: {'not in the stored run' if want is None else 'no longer in the corpus'}")
        else:
            lines += [f"{name}:"]
            lines += [f"  - {json.dumps(i, sort_keys=True)}" for i in want if i not in have]
            lines += [f"  + {json.dumps(i, sort_keys=True)}" for i in have if i not in want]
            if all(i in have for i in want) and all(i in want for i in have):
                lines.append("  (same issues, another order)")
        if len(lines) > limit * 4:
            lines.append("...")
            break
    return lines


def test_the_corpus_is_what_it_says(items):
    names = [name for name, _, _ in items]
    assert len(names) == len(set(names))
    assert sum(name.startswith("r4/") for name in names) == 315
    assert sum(name.startswith("mcode/") for name in names) == 179
    assert sum(name.startswith("mutation/") for name in names) == len(CATALOGUE)
    assert sum(name.startswith("hostile/") for name in names) >= 300


def test_findings_are_the_stored_reference(current):
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    lines = differences(stored, current)
    assert not lines, (
        "findings differ from the stored reference run; if the change is meant, run "
        f"`{REGENERATE}` and review the diff of {STORED.name}:\n" + "\n".join(lines)
    )


def test_no_layer_fails_on_the_corpus(current):
    failures = {
        name: issue
        for name, issues in current.items()
        for issue in issues
        if issue["rule"].endswith("-internal")
    }
    assert failures == {}


def test_fast_paths_find_what_the_reference_paths_find(items, current):
    # The reference run of the code itself: every fast path off, same inputs, same process.
    with fastpaths.reference_only():
        reference = findings(items)
    lines = differences(reference, current)
    assert not lines, "a fast path changed findings:\n" + "\n".join(lines)
