"""What the case model can hold of what the import read: a fact it cannot hold is left out and
reported, and the rest of the case is still made.

Three kinds: a fact without a field the model requires (a metastasis without its site), a name
of another fact left dangling once that fact was left out, and a value the model refuses (a
period that ends before it starts, text that is only whitespace or holds a control character:
FHIR's schema allows these, the case model does not).  A refused value goes alone when the
field is optional, else the fact it is in goes; what is refused at the level of the case
itself (the patient, where it comes from) still refuses the whole import.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from fhirconv.errors import MappingError
from fhirconv.mapping.common import JSON
from fhirconv.mapping.reading import Reader
from fhirconv.model.case import Case

# Rounds of leaving out refused values before giving up (each round takes at least one).
MAX_ROUNDS = 50


def make_case(reader: Reader, data: JSON) -> Case:
    """The case ``data`` holds, leaving out (and reporting) the facts and values the model refuses."""
    drop_incomplete(reader, data)
    for _ in range(MAX_ROUNDS):
        try:
            return Case.model_validate(data)
        except ValidationError as err:
            errors = err.errors()
            # Later list items first: leaving one out must not shift those still to be left out.
            removed: list[tuple[int | str, ...]] = []
            for error in sorted(errors, key=lambda e: _sort_key(e["loc"]), reverse=True):
                loc = error["loc"]
                if any(loc[: len(gone)] == gone for gone in removed):
                    continue  # inside what an earlier error of this round left out
                gone = _leave_out(reader, data, loc, error["msg"])
                if gone is None:
                    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
                    raise MappingError(f"the bundle does not make a valid case: {problems}") from None
                removed.append(gone)
            drop_incomplete(reader, data)
    raise MappingError("the bundle does not make a valid case: too many values the case model refuses")


def _sort_key(loc: tuple[int | str, ...]) -> list[tuple[int, int | str]]:
    return [(0, step) if isinstance(step, int) else (1, step) for step in loc]


def _leave_out(
    reader: Reader, data: JSON, loc: tuple[int | str, ...], message: str
) -> tuple[int | str, ...] | None:
    """Leave out the least that holds what error ``loc`` points at: the innermost optional field
    or list item on its path (a list the model requires to be non-empty is not emptied: the
    fact holding it goes instead).  The path of what went; None when only the case could go."""
    nodes: list[Any] = [data]
    try:
        for step in loc:
            nodes.append(nodes[-1][step])
    except (KeyError, IndexError, TypeError):
        return None  # a place the data does not have (a union's member named in the path, say)
    why = message.removeprefix("Value error, ")
    for k in range(len(loc) - 1, -1, -1):
        step, holder = loc[k], nodes[k]
        if isinstance(step, int):
            if len(holder) == 1 and k > 0 and _required(loc[: k - 1], loc[k - 1]):
                continue
            item = holder.pop(step)
            what = ".".join(str(s) for s in loc[: k + 1])
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                what += f" ({item['id']})"
            where = _where(reader, nodes[: k + 2], loc)
            reader.report(where, "not held", f"{what}: {why}; the fact is left out")
            return loc[: k + 1]
        if not _required(loc[:k], step):
            holder.pop(step)
            reader.report(_where(reader, nodes[: k + 1], loc), "not held", f"{step}: {why}; left out")
            return loc[: k + 1]
    return None


def _required(loc: tuple[int | str, ...], field: int | str) -> bool:
    """Whether the model at ``loc`` requires ``field`` (an unknown place counts as required)."""
    model = _model_at(loc)
    if model is None or not isinstance(field, str) or field not in model.model_fields:
        return True
    return model.model_fields[field].is_required()


def _where(reader: Reader, nodes: list[Any], loc: tuple[int | str, ...]) -> str:
    """The location of the resource the refused value came from: the innermost fact with an id."""
    for node in reversed(nodes[1:]):  # not the case: its id is its patient's
        if isinstance(node, dict) and isinstance(node.get("id"), str) and node["id"] in reader.where:
            return reader.where[node["id"]]
    return ".".join(str(step) for step in loc)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class of the value at ``loc`` (a list item of the case), following field types."""
    model: type[BaseModel] | None = Case
    for step in loc:
        if isinstance(step, int):
            continue
        if model is None or step not in model.model_fields:
            return None
        model = _inner_model(model.model_fields[step].annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None`` or ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


# Fields the model requires, per list: a fact without one cannot be held and is reported.
REQUIRED = {
    "primaries": ("condition",),
    "metastases": ("site",),
    "procedures": ("code",),
    "imaging": ("modality",),
}
# Fields that name other facts: a name left dangling (its fact not imported) is reported.
REFERENCES = {
    "metastases": ("primary", "conditions-primaries"),
    "specimens": ("procedure", "procedures"),
    "procedures": ("primary", "conditions"),
    "therapies": ("primary", "conditions"),
}


def drop_incomplete(reader: Reader, data: JSON) -> None:
    for key, fields in REQUIRED.items():
        kept = []
        for item in data.get(key, []):
            missing = [f for f in fields if not item.get(f)]
            if missing:
                what = f"no {', '.join(missing)}: the case model requires it"
                reader.report(f"{key} {item.get('id')}", "missing", what)
            else:
                kept.append(item)
        data[key] = kept
    ids = {
        "primaries": {p["id"] for p in data.get("primaries", [])},
        "procedures": {p["id"] for p in data.get("procedures", [])},
        "specimens": {s["id"] for s in data.get("specimens", [])},
    }
    ids["conditions"] = ids["primaries"] | {m["id"] for m in data.get("metastases", [])}
    ids["conditions-primaries"] = ids["primaries"]

    def keep(owner: JSON, field: str, allowed: set[str], where: str) -> None:
        value = owner.get(field)
        if value is not None and value not in allowed:
            reader.report(f"{where} {owner.get('id')}.{field}", "dangling", f"{value!r} was not imported")
            del owner[field]

    for key, (field, kind) in REFERENCES.items():
        for item in data.get(key, []):
            keep(item, field, ids[kind], key)
    for marker in data.get("tumor_markers", []):
        keep(marker, "specimen", ids["specimens"], "tumor_markers")
        keep(marker, "condition", ids["conditions"], "tumor_markers")
    for status in data.get("disease_status", []):
        for focus in status.get("focus", []):
            if focus not in ids["conditions"]:
                where = f"disease_status {status.get('id')}.focus"
                reader.report(where, "dangling", f"{focus!r} was not imported")
        status["focus"] = [f for f in status.get("focus", []) if f in ids["conditions"]]
    for key in [k for k, v in data.items() if v == []]:
        del data[key]
