"""The ``lsrl`` command line: ``main`` (the driver), one module per group of subcommands, ``entry`` (the console script)."""
from __future__ import annotations

from lsrl.cli.commands import build_parser, entry, main

__all__ = ["build_parser", "entry", "main"]
