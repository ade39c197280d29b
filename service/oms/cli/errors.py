"""Re-export: command modules import the CLI error from here."""

from oms.errors import CliError

__all__ = ["CliError"]
