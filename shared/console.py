"""Terminal output of the command lines (`crp`, `deploy.stack`): tables that wrap, never cut a value short."""

import os

from rich.console import Console
from rich.table import Column, Table

PIPE_WIDTH = 1000
"""Columns for output into a pipe or file (rich would assume 80 and wrap or cut there)."""


def make_console(**options: object) -> Console:
    """The terminal's width in a terminal (or $COLUMNS); into a pipe or a file, lines as long as they need."""
    console = Console(**options)
    if console.is_terminal or "width" in options or os.environ.get("COLUMNS"):
        return console
    return Console(width=PIPE_WIDTH, **options)


def table(*headers: str, title: str | None = None) -> Table:
    """A table whose cells wrap at words and fold long ids, tokens and paths: every character is shown."""
    return Table(*(Column(header, overflow="fold") for header in headers), title=title)
