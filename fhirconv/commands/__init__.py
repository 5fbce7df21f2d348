"""Click commands, one module per group of commands; registered on the root group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from fhirconv.commands import cases, igs, importing, pull, push, timeline, validate

    for command in [
        *cases.COMMANDS,
        *validate.COMMANDS,
        *igs.COMMANDS,
        *importing.COMMANDS,
        push.push,
        pull.pull,
        *timeline.COMMANDS,
    ]:
        group.add_command(command)
