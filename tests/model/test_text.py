"""Free text in the case model: never blank, nothing FHIR cannot carry, kept as written."""

import sys
import types
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter, ValidationError

from fhirconv.model import case as model
from fhirconv.model.case import BLANKS, TEXT_PATTERN, Term, Text

TEXT = TypeAdapter(Text)
SCHEMA = Draft202012Validator(TEXT.json_schema())


def _accepted(value: str) -> bool:
    try:
        TEXT.validate_python(value)
    except ValidationError:
        return False
    return True


def test_blanks_are_what_str_isspace_knows_and_the_bom():
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(BLANKS) == spaces | {"\ufeff"}


@pytest.mark.parametrize("value", ["", " ", "\u00a0\u3000", "\u2003", "\t\r\n", "\ufeff", "\u2028\u2029"])
def test_blank_text_is_refused(value):
    with pytest.raises(ValidationError, match="must not be empty or only whitespace"):
        TEXT.validate_python(value)


CONTROL = "a control character; only tab, line feed and carriage return are allowed"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00", f"must not contain U+0000 (at position 1): {CONTROL}"),
        ("a\x0bb", f"must not contain U+000B (at position 1): {CONTROL}"),
        ("\x7f", f"must not contain U+007F (at position 0): {CONTROL}"),
        ("caf\x85", f"must not contain U+0085 (at position 3): {CONTROL}"),
        ("x\ud800", "must not contain U+D800 (at position 1): a lone surrogate is no character"),
        ("x\uffff", "must not contain U+FFFF (at position 1): XML, so FHIR, cannot hold it"),
    ],
)
def test_what_fhir_cannot_carry_is_refused(value, message):
    with pytest.raises(ValidationError) as caught:
        TEXT.validate_python(value)
    assert caught.value.errors()[0]["msg"] == f"Value error, {message}"


@pytest.mark.parametrize(
    "value", [" leading", "trailing\u3000", "\tin\u00a0side\r\n", "\u200b", "\U0001f9ec"]
)
def test_valid_text_is_kept_as_written(value):
    assert Term(text=value).text == value


def test_the_json_schema_states_the_rule():
    schema = TEXT.json_schema()
    assert schema["minLength"] == 1
    assert schema["pattern"] == TEXT_PATTERN


_HOSTILE = st.sampled_from(BLANKS + "\x00\x01\x1f\x7f\x9f\ufffe\uffff\u200b") | st.characters(codec="utf-8")


@given(st.text(_HOSTILE, max_size=6))
def test_the_json_schema_and_the_model_agree(value):
    assert SCHEMA.is_valid(value) == _accepted(value)


def _string_leaves(annotation, metadata=()):
    """The metadata of every ``str`` inside an annotation (unions, tuples, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        yield from _string_leaves(inner, (*metadata, *extra))
    elif origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            yield from _string_leaves(arg, metadata)
    elif annotation is str:
        yield metadata


def _constrained(metadata) -> bool:
    checks = {model._check_text, model._check_partial_date, model.check_term_key}
    for item in metadata:
        if getattr(item, "func", None) in checks or getattr(item, "pattern", None):
            return True
        if _constrained(getattr(item, "metadata", ())):
            return True
    return False


def test_every_string_field_is_text_or_has_a_stricter_rule():
    loose = []
    for name, cls in vars(model).items():
        if not (isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == model.__name__):
            continue
        for field, info in cls.model_fields.items():
            for metadata in _string_leaves(info.annotation, tuple(info.metadata)):
                if not _constrained(metadata):
                    loose.append(f"{name}.{field}")
    assert loose == []
