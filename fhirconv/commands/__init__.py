"""Click commands, one module per group of commands; registered on the root group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from fhirconv.commands import cases

    for command in cases.COMMANDS:
        group.add_command(command)
