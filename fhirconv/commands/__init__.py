"""Click commands, one module per group of commands; registered on the root group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from fhirconv.commands import cases, server

    for command in [*cases.COMMANDS, *server.COMMANDS]:
        group.add_command(command)
    from fhirconv.commands import validate; group.add_command(validate.validate_command)  # noqa: E702, I001
    from fhirconv.commands import importing; [group.add_command(c) for c in importing.COMMANDS]  # noqa: E702, I001
