"""What ``fhirconv push`` and ``fhirconv pull`` share: the server options, the client, the exit codes.

httpx and the mapping are imported inside the functions so that ``fhirconv --help`` does not
pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from fhirconv.server.client import FhirClient

# Shown in --help: the exit codes each server command can end with.
_SERVER_EXITS = (
    "3 server unreachable or too slow; 4 server refused the credentials; 5 server error that retries "
    "did not cure, or an answer that is not FHIR; 130/143 stopped by Ctrl-C or SIGTERM"
)
PUSH_EXITS = (
    "Exit codes: 0 ok; 1 the server rejected a bundle, or --verify found a difference, or local "
    f"validation failed; 2 unusable input or options; {_SERVER_EXITS} (the last line says what was "
    "sent)."
)
PULL_EXITS = (
    "Exit codes: 0 ok; 1 something pulled could not be mapped to the case (--strict); 2 unusable "
    f"options, or resources that make no case; {_SERVER_EXITS}."
)


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every server command shares."""
    options = [
        click.option(
            "--server",
            required=True,
            envvar="FHIRCONV_SERVER",
            show_envvar=True,
            metavar="URL",
            help="FHIR R4 base URL, e.g. https://hapi.example.org/fhir",
        ),
        click.option(
            "--token",
            envvar="FHIRCONV_TOKEN",
            show_envvar=True,
            metavar="TOKEN",
            help="Bearer token; prefer the environment variable, which stays out of shell history.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.01),
            default=60.0,
            show_default=True,
            metavar="S",
            help="Seconds to wait for an answer (connecting waits at most 10 s of it).",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=3,
            show_default=True,
            metavar="N",
            help="Further attempts after a 429, a 5xx, a timeout or a refused connection.",
        ),
        click.option(
            "--backoff",
            type=click.FloatRange(min=0.0),
            default=1.0,
            show_default=True,
            metavar="S",
            help="First wait before a retry, doubled each time; a Retry-After header takes precedence.",
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Send the token over plain http to a host other than this machine.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_client(
    server: str, token: str | None, timeout: float, retries: int, backoff: float, allow_insecure_http: bool
) -> FhirClient:
    from fhirconv.server.client import FhirClient
    from fhirconv.server.retry import RetryPolicy

    return FhirClient(
        server,
        token=token,
        timeout=timeout,
        connect_timeout=min(10.0, timeout),
        retry=RetryPolicy(retries=retries, backoff=backoff, max_delay=max(60.0, backoff)),
        allow_insecure_http=allow_insecure_http,
        notify=lambda message: click.echo(message, err=True),
    )
