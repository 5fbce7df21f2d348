"""Commands over the built-in cases and case files: list, show, export, schema."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
