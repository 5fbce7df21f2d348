"""The FHIR server layer: HTTP with retries, typed errors, push verification, pull.

It speaks JSON dicts and knows nothing of the case model or the mapping.
Import :mod:`fhirconv.server.client` where it is used: it pulls in httpx.
"""

from fhirconv.server.errors import (
    AuthorizationError,
    InsecureTransport,
    ResourceNotFound,
    ServerError,
    ServerFailure,
    ServerRejected,
    ServerUnreachable,
)

__all__ = [
    "AuthorizationError",
    "InsecureTransport",
    "ResourceNotFound",
    "ServerError",
    "ServerFailure",
    "ServerRejected",
    "ServerUnreachable",
]
