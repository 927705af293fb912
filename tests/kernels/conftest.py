"""Kernel tests run the Triton kernels on a GPU when there is one, else in Triton's CPU interpreter
(selected in tests/conftest.py before triton is first imported)."""
from __future__ import annotations

import pytest
import torch


def _triton_runs_here() -> str | None:
    """None when Triton kernels can run in this process, else the reason they cannot."""
    try:
        import triton
    except ImportError:
        return "triton is not installed"
    if torch.cuda.is_available() or triton.knobs.runtime.interpret:
        return None
    return "triton was imported before tests/conftest.py could select its interpreter"


@pytest.fixture(scope="session")
def device() -> torch.device:
    """The device Triton kernels run on here: the GPU, or the CPU through the interpreter.

    Session-scoped so that hypothesis tests can take it too; every test that needs Triton asks for
    it, so without triton those tests are skipped with the reason.
    """
    reason = _triton_runs_here()
    if reason is not None:
        pytest.skip(reason)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture
def cuda() -> torch.device:
    """The GPU, for tests marked gpu."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device("cuda")

