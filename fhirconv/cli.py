"""The ``fhirconv`` command line: a thin layer over the library.

Commands live in :mod:`fhirconv.commands`; each parses its arguments, calls the
library and lets :class:`~fhirconv.errors.FhirconvError` travel up to
:func:`main`, the one place that turns errors into messages and exit codes.
Heavy modules (pydantic models, fhir.resources, jsonschema) are imported inside
the commands so that ``fhirconv --help`` starts fast.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

import click

from fhirconv import __version__
from fhirconv.commands import register
from fhirconv.commands.options import Group
from fhirconv.errors import ExitCode, FhirconvError, Terminated


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fhirconv")
def cli() -> None:
    """Turn oncology case records into FHIR R4 / mCODE STU4 bundles, validate
    bundles, map them back, and load them into FHIR servers.

    Exit codes: 0 ok, 1 problems found, 2 unusable input or usage,
    3 server unreachable, 4 server refused credentials, 5 server error,
    70 internal error, 130/143 stopped by Ctrl-C/SIGTERM.
    """


register(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every error to one line and an exit code."""
    from fhirconv.streams import guard_standard_streams

    with guard_standard_streams(), _sigterm_as_interrupt():
        code = _run(argv)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="fhirconv", standalone_mode=False)
    except FhirconvError as err:
        click.echo(f"Error: {err}", err=True)
        return int(err.exit_code)
    except click.exceptions.Abort as err:
        # click turns Ctrl-C (and SIGTERM, raised as a KeyboardInterrupt) into Abort.
        if isinstance(err.__cause__, Terminated):
            click.echo("Terminated.", err=True)
            return int(ExitCode.TERMINATED)
        click.echo("Aborted.", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except BrokenPipeError:
        # A pipe other than the standard streams (those are guarded): nothing worth a message.
        return int(ExitCode.OK)
    except Terminated:
        return int(ExitCode.TERMINATED)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Exception as err:  # the last line of defence: one line, never a traceback
        click.echo(
            f"Internal error ({type(err).__name__}): {err}. Please report this with the command you ran.",
            err=True,
        )
        return int(ExitCode.INTERNAL)
    return int(ExitCode.OK)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C: temporary files are removed, a push says where it stopped."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
