"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

# Every output option takes a path or `-` for standard output; fileio.write_output decides how to write it.
OUTPUT_PATH = click.Path(dir_okay=False, allow_dash=True, path_type=Path)


def untouched_folder(out_dir: Path) -> str:
    """``DIR not written``, or ``DIR left as it was``: an output folder nothing went into."""
    return f"{out_dir} left as it was" if out_dir.exists() else f"{out_dir} not written"


def output_option(*declarations: str, help: str, **kwargs: Any) -> Callable[..., Any]:
    """An output option: a file written atomically (a device or FIFO written through), or `-`."""
    return click.option(*declarations, type=OUTPUT_PATH, metavar="FILE", help=help, **kwargs)


class Group(click.Group):
    """A command group whose command list shows each summary whole (click cuts them with "...")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            # No limit: the summary is the first sentence, wrapped by the formatter, never cut.
            rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
