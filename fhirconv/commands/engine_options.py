"""The options every batch command shares: --jobs, --engine, --scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def engine_options(function: F) -> F:
    """Add --jobs, --engine and --scheduler to a command."""
    for option in reversed(
        [
            click.option(
                "--jobs",
                "-j",
                type=click.IntRange(min=1),
                default=None,
                help="Worker processes (default: all cores). Output is the same for any number.",
            ),
            click.option(
                "--engine",
                type=click.Choice(["local", "dask"]),
                default="local",
                show_default=True,
                help="local: processes on this machine; dask: a Dask distributed cluster "
                "(pip install 'fhirconv[dask]').",
            ),
            click.option(
                "--scheduler",
                metavar="tcp://HOST:PORT",
                help="With --engine dask: the address of a running Dask scheduler "
                "(default: start a local cluster of --jobs worker processes).",
            ),
        ]
    ):
        function = option(function)
    return function
