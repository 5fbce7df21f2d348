"""Click commands, one module per group of commands; registered on the root group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from fhirconv.commands import cases, igs, importing, server, timeline, validate

    for command in [
        *cases.COMMANDS,
        *validate.COMMANDS,
        *igs.COMMANDS,
        *importing.COMMANDS,
        *server.COMMANDS,
        *timeline.COMMANDS,
    ]:
        group.add_command(command)
