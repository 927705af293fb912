"""Without the triton package, kernels and models import and every entry point runs its PyTorch reference."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_BLOCK_TRITON = """
import importlib.abc
import sys


class _NoTriton(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "triton" or name.startswith("triton."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTriton())
"""

_PROGRAM = """
import pytest
import torch

import kernels
from kernels.backend import resolve, triton_available
from kernels.delta_product import naive_delta_product
from kernels.errors import TritonMissing
from kernels.rnn import naive_rnn
from kernels.scan import naive_diagonal_scan
from models.config import LayerConfig
from models.deltaproduct import DeltaProductRecurrence
from models.elman import ElmanRecurrence
from models.gated_rnn import LSTMRecurrence

assert not triton_available()
torch.manual_seed(0)

a, b = torch.rand(2, 7, 3), torch.randn(2, 7, 3)
h, last = kernels.diagonal_scan(a, b, output_final_state=True)
torch.testing.assert_close(h, naive_diagonal_scan(a, b)[0], rtol=0, atol=0)

q, k, v = torch.randn(1, 5, 2, 4), torch.randn(1, 10, 2, 4), torch.randn(1, 10, 2, 3)
g, beta = -torch.rand(1, 5, 2), 2 * torch.rand(1, 10, 2)
o, state = kernels.gated_delta_product(q, k, v, g, beta, num_householder=2, output_final_state=True)
want = naive_delta_product(q, k, v, g, beta, 2, 4 ** -0.5, None)
torch.testing.assert_close(o, want[0], rtol=0, atol=0)

xp, w_hh = torch.randn(2, 6, 4 * 5), torch.randn(4 * 5, 5)
h, h_last, c_last = kernels.rnn_recurrence("lstm", xp, w_hh)
torch.testing.assert_close(h, naive_rnn("lstm", xp, w_hh, None, None, None)[0], rtol=0, atol=0)

x = torch.randn(2, 6, 5)
layer = LayerConfig(d_state=4, d_value=3, n_h=2, gated=True)
for module in (DeltaProductRecurrence(5, layer), LSTMRecurrence(5, layer), ElmanRecurrence(5, layer)):
    assert torch.isfinite(module(x)).all()

with pytest.raises(TritonMissing, match="needs the triton package"):
    resolve("triton", a)
assert "triton" not in sys.modules
print("ok")
"""


def test_kernels_and_models_run_their_references_without_triton():
    program = _BLOCK_TRITON + textwrap.dedent(_PROGRAM)
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
