"""The published JSON Schema of case files, generated from the model."""

from __future__ import annotations

import json

from fhirconv.model.case import Case


def case_schema_json() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Case.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m fhirconv.model.schema > fhirconv/data/case.schema.json
    print(case_schema_json(), end="")
