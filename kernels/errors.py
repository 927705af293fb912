"""Error type for kernel inputs of the wrong shape, dtype or size; the message names the argument."""
from __future__ import annotations


class ShapeError(ValueError):
    """An argument whose shape, dtype or size the kernel cannot take."""

    def __init__(self, argument: str, message: str):
        super().__init__(f"{argument}: {message}")
        self.argument = argument
