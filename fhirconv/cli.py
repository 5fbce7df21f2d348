"""The ``fhirconv`` command line: a thin layer over the library.

Commands live in :mod:`fhirconv.commands`; each parses its arguments, calls the
library and lets :class:`~fhirconv.errors.FhirconvError` travel up to
:func:`main`, the one place that turns errors into messages and exit codes.
Heavy modules (pydantic models, fhir.resources, jsonschema) are imported inside
the commands so that ``fhirconv --help`` starts fast.
"""

from __future__ import annotations

import sys

import click

from fhirconv import __version__
from fhirconv.commands import register
from fhirconv.errors import ExitCode, FhirconvError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fhirconv")
def cli() -> None:
    """Turn oncology case records into FHIR R4 / mCODE STU4 bundles, validate
    bundles, map them back, and load them into FHIR servers.

    Exit codes: 0 ok, 1 problems found, 2 unusable input or usage,
    3 server unreachable, 4 server refused credentials, 5 server error,
    70 internal error.
    """


register(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every error to one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="fhirconv", standalone_mode=False)
    except FhirconvError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(int(err.exit_code))
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error worth a message.
        sys.exit(int(ExitCode.OK))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:  # the last line of defence: one line, never a traceback
        click.echo(
            f"Internal error ({type(err).__name__}): {err}. Please report this with the command you ran.",
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(int(ExitCode.OK))
