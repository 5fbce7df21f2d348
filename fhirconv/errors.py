"""The exception root and the exit codes, each numbered once.

Every layer raises a subclass of :class:`FhirconvError`; foreign exceptions
(pydantic, jsonschema, YAML, HTTP) are wrapped where they enter.  Only the CLI
turns these errors into messages and exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented in the README; never renumber, never reuse."""

    OK = 0
    # The command ran and found problems: validation errors, round-trip
    # differences, unmapped content under --strict, a bundle the server rejected.
    FINDINGS = 1
    # Unusable input or usage: unreadable file, broken JSON, invalid case file,
    # unknown case name, bad option (click also uses 2 for usage errors).
    BAD_INPUT = 2
    # The server could not be reached or did not answer in time.
    SERVER_UNREACHABLE = 3
    # The server refused the credentials (401 or 403).
    SERVER_AUTH = 4
    # A server error that retries did not cure (5xx, 429, non-FHIR answer).
    SERVER_ERROR = 5
    # A bug in fhirconv: reported in one line, never as a traceback.
    INTERNAL = 70
    # Stopped by Ctrl-C (SIGINT) or by SIGTERM: 128 + the signal's number, as shells report it.
    INTERRUPTED = 130
    TERMINATED = 143


class FhirconvError(Exception):
    """Root of every error fhirconv raises on purpose."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(FhirconvError):
    """A file that cannot be read or parsed."""


class CaseFileError(InputError):
    """A case file that does not follow the case-file schema."""


class UnknownCaseError(InputError):
    """A case name that is neither a built-in case nor an existing file."""


class TerminologyError(FhirconvError):
    """A code asked of the terminology table that the table does not hold."""

    exit_code = ExitCode.INTERNAL


class MappingError(FhirconvError):
    """A fact that the mapping cannot express, or a resource it cannot read."""


class SchedulerUnreachable(FhirconvError):
    """A Dask scheduler named by --scheduler that does not answer (exit 3, as for a server)."""

    exit_code = ExitCode.SERVER_UNREACHABLE


class FindingsError(FhirconvError):
    """The command ran to the end and found problems (exit 1)."""

    exit_code = ExitCode.FINDINGS


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (no temporary file left behind)."""


class Interrupted(FhirconvError):
    """Work stopped by a signal; the message says what was done and what was not."""

    def __init__(self, message: str, signal: KeyboardInterrupt) -> None:
        super().__init__(message)
        self.exit_code = ExitCode.TERMINATED if isinstance(signal, Terminated) else ExitCode.INTERRUPTED
