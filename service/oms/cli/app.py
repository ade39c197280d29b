"""The typer application and the consoles every command shares."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="oms",
    help="OMS on Temporal: order management on Temporal, SQS, DynamoDB and SES.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins the hard-wrapped lines of docstrings into paragraphs in `--help`.
    rich_markup_mode="markdown",
)
# Results go to stdout (one JSON document with --json); progress and errors to stderr.
# The `--json` flag of every command that reads something: one JSON document on stdout.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document (for scripts).")]

# Piped output (CI logs, `| less`) gets a width that fits the summary table, not rich's 80.
console = Console(width=None if Console().is_terminal else 140)
err_console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _root() -> None:
    """OMS on Temporal: order management on Temporal, SQS, DynamoDB and SES."""
