"""Typed errors of the server layer, one per way a FHIR server can fail us.

HTTP statuses become these classes where the response is read, so the commands
never look at a status code.  Every error that came with an OperationOutcome
carries it, and its message renders every issue of it: the server's own words
are the most useful thing a user can be shown.  No message ever contains the
request headers, so the bearer token cannot leak through an error.
"""

from __future__ import annotations

from typing import Any

from fhirconv.errors import ExitCode, FhirconvError


def render_outcome(outcome: dict[str, Any]) -> str:
    """Every issue of an OperationOutcome on its own line, nothing dropped."""
    lines = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        head = f"{issue.get('severity', '?')} {issue.get('code', '?')}"
        details = issue.get("details") or {}
        texts: list[str] = [str(details["text"])] if isinstance(details, dict) and details.get("text") else []
        if isinstance(details, dict):
            for coding in details.get("coding") or []:
                if isinstance(coding, dict):
                    label = "|".join(str(coding[k]) for k in ("system", "code") if coding.get(k))
                    texts.append(f"[{label}] {coding.get('display', '')}".rstrip())
        if issue.get("diagnostics"):
            texts.append(str(issue["diagnostics"]))
        where = [str(x) for x in (issue.get("expression") or issue.get("location") or [])]
        line = f"  {head}: {'; '.join(texts) or '(no details)'}"
        if where:
            line += f" (at {', '.join(where)})"
        lines.append(line)
    return "\n".join(lines) if lines else "  (the OperationOutcome has no issues)"


class ServerError(FhirconvError):
    """Root of the server layer's errors."""

    exit_code = ExitCode.SERVER_ERROR

    def __init__(
        self, message: str, outcome: dict[str, Any] | None = None, status: int | None = None
    ) -> None:
        if outcome is not None:
            message = f"{message}\n{render_outcome(outcome)}"
        super().__init__(message)
        self.outcome = outcome
        self.status = status


class ServerUnreachable(ServerError):
    """No answer: connection refused, unknown host, TLS failure or a timeout."""

    exit_code = ExitCode.SERVER_UNREACHABLE


class AuthorizationError(ServerError):
    """The server refused the credentials (401) or the access (403)."""

    exit_code = ExitCode.SERVER_AUTH


class ServerRejected(ServerError):
    """The server understood the request and refused it (4xx other than auth)."""

    exit_code = ExitCode.FINDINGS


class ResourceNotFound(ServerRejected):
    """A read of a resource the server does not hold (404 or 410)."""


class ServerFailure(ServerError):
    """5xx or 429 that retries did not cure, or an answer that is not FHIR."""

    exit_code = ExitCode.SERVER_ERROR


class InsecureTransport(ServerError):
    """Refused before sending: a bearer token over plain http to another host."""

    exit_code = ExitCode.BAD_INPUT
