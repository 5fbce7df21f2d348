import copy
import json
from pathlib import Path

import pytest

from fhirconv.validation import validate_resource

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "mcode-examples"


def example(name: str) -> dict:
    """A fresh copy of one vendored mCODE STU4 example (file name without .json)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def errors(issues, layer=None):
    return [i for i in issues if i.severity.value == "error" and (layer is None or i.layer.value == layer)]


def found(issues, rule, location=None):
    """Whether an issue with this rule (and location, when given) is among the issues."""
    return any(i.rule == rule and (location is None or i.location == location) for i in issues)


@pytest.fixture
def patient():
    return example("Patient-cancer-patient-jenny-m")


@pytest.fixture
def condition():
    return example("Condition-primary-cancer-condition-jenny-m")


@pytest.fixture
def bundle():
    return example("Bundle-mcode-patient-bundle-jenny-m")


def check(resource, **kw):
    return validate_resource(copy.deepcopy(resource), **kw)
