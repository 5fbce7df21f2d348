"""Click commands, one module per group of commands; registered on the root group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from fhirconv.commands import cases, importing, server, timeline, validate

    for command in [
        *cases.COMMANDS,
        *validate.COMMANDS,
        *importing.COMMANDS,
        *server.COMMANDS,
        *timeline.COMMANDS,
    ]:
        group.add_command(command)
