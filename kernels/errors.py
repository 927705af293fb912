"""Error types of the kernels: inputs of the wrong shape, dtype or size (naming the argument), and a missing Triton."""
from __future__ import annotations


class KernelArgumentError(ValueError):
    """An argument whose shape, dtype or size the kernel cannot take: a caller's mistake, not a user's input, so a
    ``ValueError`` outside ``LsrlInputError`` (a program's mismatched shapes are ``lsrl.lang.errors.ShapeError``)."""

    def __init__(self, argument: str, message: str):
        super().__init__(f"{argument}: {message}")
        self.argument = argument


class TritonMissing(ImportError):
    """``backend="triton"`` was asked for where the triton package is not installed."""

    def __init__(self) -> None:
        super().__init__("backend='triton' needs the triton package (pip install -e '.[triton]'); "
                         "backend='auto' or 'torch' runs the PyTorch reference without it")
