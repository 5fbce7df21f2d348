"""Rules of the R4 data types that neither the JSON schema nor the models check.

* base64Binary: the alphabet and the padding (``=`` only at the end, at most two);
  whitespace is allowed, as in XML Schema's base64Binary;
* Attachment: ``size`` is the number of bytes of the decoded ``data``, and ``hash``
  the base64 of its SHA-1 (Attachment.size, Attachment.hash);
* strings: "Strings SHALL NOT exceed 1MB (1024*1024 characters) in size" (string and
  the types derived from it);
* uri, url and canonical values that are UUID or OID URIs hold a valid one: the R4 uuid
  type is ``urn:uuid:`` and 8-4-4-4-12 lower-case hexadecimal digits ("For UUID ... use all
  lowercase", uri), the oid type ``urn:oid:`` and dotted numbers starting 0, 1 or 2;
* a canonical resource's ``url`` is "an absolute URI that is used to identify this ..."
  (ValueSet.url, CodeSystem.url, StructureDefinition.url and every other one);
* a choice element with min 1 (MedicationRequest.medication[x], UsageContext.value[x], ...) is
  present under one of its type names (the models' own check is lost once another field fails).

Each returns issues of the structure layer at the element's FHIRPath location.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from fhirconv.validation.issues import Issue, Layer, error

MAX_STRING = 1024 * 1024
STRING_TYPES = frozenset({"string", "markdown", "code", "id"})
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SPACE = re.compile(r"\s+")
URI_TYPES = frozenset({"uri", "url", "canonical"})
_UUID_URI = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID_URI = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def decoded(value: str) -> bytes | None:
    """The bytes of a base64Binary value, or None when it is not valid base64."""
    text = _SPACE.sub("", value)
    if len(text) % 4 or not _BASE64.fullmatch(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_base64(value: Any, path: str) -> list[Issue]:
    if not isinstance(value, str) or decoded(value) is not None:
        return []
    shown = value if len(value) <= 40 else value[:37] + "..."
    return [
        error(
            Layer.STRUCTURE,
            path,
            f"{shown!r} is not valid base64: only A-Z a-z 0-9 + / in groups of four, "
            "with = padding only at the end",
            "structure-base64",
        )
    ]


def check_attachment(value: Any, path: str) -> list[Issue]:
    if not isinstance(value, dict) or not isinstance(value.get("data"), str):
        return []
    data = decoded(value["data"])
    if data is None:
        return []  # the base64 check reports it
    issues = []
    size = value.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size != len(data):
        issues.append(
            error(
                Layer.STRUCTURE,
                f"{path}.size",
                f"size is {size} but the data holds {len(data)} bytes",
                "structure-attachment-size",
            )
        )
    digest = value.get("hash")
    if isinstance(digest, str):
        actual = base64.b64encode(hashlib.sha1(data).digest()).decode()
        if _SPACE.sub("", digest) != actual:
            issues.append(
                error(
                    Layer.STRUCTURE,
                    f"{path}.hash",
                    f"hash is not the SHA-1 of the data (the data's is {actual})",
                    "structure-attachment-hash",
                )
            )
    return issues


def check_length(value: Any, path: str) -> list[Issue]:
    if isinstance(value, str) and len(value) > MAX_STRING:
        return [
            error(
                Layer.STRUCTURE,
                path,
                f"a string of {len(value):,} characters; "
                "FHIR strings SHALL NOT exceed 1MB (1,048,576 characters)",
                "structure-string-too-long",
            )
        ]
    return []


_URNS = (
    (
        "urn:uuid:",
        _UUID_URI,
        "UUID URI: urn:uuid: and then 32 lower-case hexadecimal digits grouped 8-4-4-4-12",
        "structure-uuid",
    ),
    (
        "urn:oid:",
        _OID_URI,
        "OID URI: urn:oid: and then numbers joined by dots, the first 0, 1 or 2",
        "structure-oid",
    ),
)


def check_urn(value: str, path: str) -> list[Issue]:
    """A ``urn:uuid:`` or ``urn:oid:`` URI must hold a valid UUID or OID (other values: no issue)."""
    for prefix, pattern, what, rule in _URNS:
        if value.startswith(prefix) and not pattern.fullmatch(value):
            return [error(Layer.STRUCTURE, path, f"{value!r} is not a valid {what}", rule)]
    return []


def check_canonical_url(value: Any, path: str) -> list[Issue]:
    """A canonical resource's ``url`` is an absolute URI (it has a scheme: http:, urn:, ...)."""
    if not isinstance(value, str) or _SCHEME.match(value):
        return []
    return [
        error(
            Layer.STRUCTURE,
            path,
            f"url {value!r} is not an absolute URI; a canonical resource is identified by one "
            "(http://..., urn:uuid:..., urn:oid:...)",
            "structure-canonical-url",
        )
    ]


def check_required_choices(
    value: Any, path: str, choices: tuple[tuple[str, tuple[str, ...]], ...]
) -> list[Issue]:
    """``choices``: the required choice elements of the object ``value`` (definitions.required_choices)."""
    if not isinstance(value, dict):
        return []
    issues = []
    for prefix, types in choices:
        names = [prefix + t[0].upper() + t[1:] for t in types]
        if not any(n in value or "_" + n in value for n in names):
            issues.append(
                error(
                    Layer.STRUCTURE,
                    f"{path}.{prefix}[x]",
                    f"required element is missing: one of {', '.join(names)}",
                    "structure-required",
                )
            )
    return issues
