"""The fast YAML reader gives exactly what the full loader gives, or refuses as it does."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirconv.model import yamlread
from fhirconv.model.yamlread import CaseLoader, DuplicateKey, load_yaml

DATA = Path(__file__).parents[1] / "data" / "cases"
BUILTIN = Path(__file__).parents[2] / "fhirconv" / "cases"


def full(text: str) -> object:
    return yaml.load(text, Loader=CaseLoader)


def fast_only(text: str) -> object:
    """The fast path alone: a test of it must not pass by falling back."""
    return yamlread._from_events(text)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")) + sorted(BUILTIN.glob("*.yaml")), ids=str)
def test_case_files_read_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        expected = full(text)
    except (yaml.YAMLError, DuplicateKey) as err:
        with pytest.raises(type(err)):
            load_yaml(text)
        return
    assert fast_only(text) == expected


SCALARS = [
    "plain", "'quoted'", '"double\\tquoted"', "2016", "2016-08-01", "2016-08", "0x1f", "0o17", "1_000",
    "1:30", "3.5", "1e3", ".inf", "-.inf", ".nan", "yes", "No", "on", "OFF", "true", "False", "~", "null",
    "", "'2016'", "!!str 12", "! 12", "|\n  block\n  text\n", ">\n  folded\n", "'#'", "'a: b'",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_read_alike(scalar: str) -> None:
    text = f"key: {scalar}\nlist:\n- {scalar}\n" if "\n" not in scalar else f"key: {scalar}"
    expected = full(text)
    got = load_yaml(text)
    if expected != expected:  # nan
        assert repr(got) == repr(expected)
    else:
        assert got == expected
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1, 2]\nb: *x\n",  # anchors and aliases
        "base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2\n",  # a merge key
        "a: !!set {x, y}\n",  # an explicit collection tag
        "? [1, 2]\n: v\n",  # a sequence as a key
        "a: 1\n---\nb: 2\n",  # two documents
        "",  # no document
        "just text\n",
        "- 1\n- {a: [x, {b: c}]}\n",
        "1: one\n'1': quoted one\n",  # the same key text: a key given twice, as the full loader counts
        "a: 1\na: 2\n",
        "a: 1\na: 2\nb: [unclosed\n",  # given twice, but the text is no YAML: the YAML error wins
        "a: !!binary aGVsbG8=\n",
        "a: !custom x\n",
        "a: !!python/name:os.system ''\n",
    ],
)
def test_unusual_yaml_reads_as_the_full_loader_reads_it(text: str) -> None:
    try:
        expected = full(text)
    except Exception as err:  # whatever the full loader raises, the fast one must too
        with pytest.raises(type(err)):
            load_yaml(text)
        return
    assert load_yaml(text) == expected


keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8)
leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(SCALARS[:20])
trees = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)
)


@settings(max_examples=300, deadline=None)
@given(trees, st.booleans())
def test_any_dumped_data_reads_alike(data: object, flow: bool) -> None:
    text = yaml.safe_dump({"root": data}, default_flow_style=flow, allow_unicode=True)
    assert load_yaml(text) == full(text)


# Nesting past libyaml's limit: PyYAML before 6.0.4 composed it by recursing in C until the
# stack overflowed (a segfault in CI); the readers must refuse it on every PyYAML version.
DEEP_TEXTS = {
    "flow": "note: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "compact block": "note:\n" + "- " * 100_000 + "1\n",
    "indented block": "note:\n" + "".join(" " * i + "- \n" for i in range(1, 3000)),
    "anchored flow": "a: &x 1\nnote: " + "{k: " * 100_000 + "*x" + "}" * 100_000 + "\n",
}


@pytest.mark.parametrize("text", DEEP_TEXTS.values(), ids=DEEP_TEXTS.keys())
def test_deep_nesting_is_refused_as_yaml_not_read_by_recursing_in_c(text: str) -> None:
    assert not yamlread.libyaml_can_compose(text)
    with pytest.raises(yaml.YAMLError):
        load_yaml(text)
    with pytest.raises(RecursionError):
        yaml.load(text, Loader=yamlread.safe_loader(text))


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")) + sorted(BUILTIN.glob("*.yaml")), ids=str)
def test_case_files_are_composed_by_libyaml(path: Path) -> None:
    """The guard is an upper bound: ordinary case files stay on the fast C path."""
    assert yamlread.libyaml_can_compose(path.read_text(encoding="utf-8"))


def test_nesting_just_under_the_limit_is_read() -> None:
    depth = yamlread.LIBYAML_MAX_DEPTH // 2 - 10
    text = "note: " + "[" * depth + "]" * depth + "\n"
    assert yamlread.libyaml_can_compose(text)
    value = load_yaml(text)["note"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == []
