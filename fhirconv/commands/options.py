"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

# Every output option takes a path or `-` for standard output; fileio.write_output decides how to write it.
OUTPUT_PATH = click.Path(dir_okay=False, allow_dash=True, path_type=Path)


def output_option(*declarations: str, help: str, **kwargs: Any) -> Callable[..., Any]:
    """An output option: a file written atomically (a device or FIFO written through), or `-`."""
    return click.option(*declarations, type=OUTPUT_PATH, metavar="FILE", help=help, **kwargs)
