"""copy_json: the import's working copies are equal to the resources read and share no container."""

from hypothesis import given
from hypothesis import strategies as st

from fhirconv.mapping.common import copy_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


def _containers(value, found):
    if isinstance(value, dict | list):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, found)
    return found


@given(JSON_VALUES)
def test_a_copy_is_equal_and_shares_no_object_or_array(value):
    copied = copy_json(value)
    assert copied == value
    originals = {id(c) for c in _containers(value, [])}
    assert not originals & {id(c) for c in _containers(copied, [])}


def test_changing_the_copy_leaves_the_resource_as_read():
    resource = {"resourceType": "Patient", "name": [{"given": ["A"]}], "meta": {"versionId": "1"}}
    copied = copy_json(resource)
    copied["name"][0]["given"].append("B")
    del copied["meta"]
    assert resource == {"resourceType": "Patient", "name": [{"given": ["A"]}], "meta": {"versionId": "1"}}
