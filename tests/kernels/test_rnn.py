"""The fused Triton Elman/LSTM/GRU recurrences against their float64 references and torch.nn's layers."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.errors import ShapeError
from kernels.rnn import GATES, naive_rnn, rnn_layer, rnn_recurrence
from tests.kernels.closeness import rel_err


def _inputs(cell, batch, length, hidden, device, seed):
    g = torch.Generator().manual_seed(seed)
    rows = GATES[cell] * hidden
    tensors = {
        "xp": torch.randn(batch, length, rows, generator=g),
        "w_hh": torch.randn(rows, hidden, generator=g) / hidden ** 0.5,
        "b_hh": torch.randn(rows, generator=g),
        "h0": torch.randn(batch, hidden, generator=g),
        "c0": torch.randn(batch, hidden, generator=g) if cell == "lstm" else None,
    }
    return {name: (x.to(device) if x is not None else None) for name, x in tensors.items()}


def _loss(out, dh, dhT):
    h, h_last, c_last = out
    extra = (c_last * dhT).sum() if c_last is not None else 0.0
    return (h * dh).sum() + (h_last * dhT).sum() + extra


def _check_against_reference(cell, x, tol, precision="ieee"):
    leaves = {name: t.requires_grad_() for name, t in x.items() if t is not None}
    out = rnn_recurrence(cell, **x, backend="triton", precision=precision)
    dh, dhT = torch.randn_like(out[0]), torch.randn_like(out[1])
    grads = torch.autograd.grad(_loss(out, dh, dhT), list(leaves.values()))
    wide = {name: (t.detach().cpu().double().requires_grad_() if t is not None else None) for name, t in x.items()}
    ref = naive_rnn(cell, **wide)
    ref_grads = torch.autograd.grad(_loss(ref, dh.cpu().double(), dhT.cpu().double()),
                                    [wide[name] for name in leaves])
    for got, want in zip(out, ref):
        if want is not None:
            assert rel_err(got, want) < tol
    for name, got, want in zip(leaves, grads, ref_grads):
        assert rel_err(got, want) < tol, name


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_matches_reference_with_gradients(device, cell):
    _check_against_reference(cell, _inputs(cell, 3, 5, 20, device, seed=1), tol=1e-5)


@settings(max_examples=5, deadline=None)
@given(cell=st.sampled_from(["elman", "lstm", "gru"]), batch=st.integers(1, 17), length=st.integers(1, 6),
       hidden=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_forward_matches_reference_on_any_shape(device, cell, batch, length, hidden, seed):
    x = _inputs(cell, batch, length, hidden, device, seed)
    out = rnn_recurrence(cell, **x, backend="triton")
    ref = naive_rnn(cell, **{k: (v.double() if v is not None else None) for k, v in x.items()})
    for got, want in zip(out, ref):
        if want is not None:
            assert rel_err(got, want) < 1e-5


def test_layer_matches_torch_nn_lstm_weights(device):
    torch.manual_seed(2)
    layer = torch.nn.LSTM(8, 16, batch_first=True)
    x = torch.randn(2, 7, 8)
    want, (h_n, c_n) = layer(x)
    params = [p.detach().to(device) for p in (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                             layer.bias_hh_l0)]
    h, h_last, c_last = rnn_layer("lstm", x.to(device), *params, backend="triton")
    assert rel_err(h, want) < 1e-5 and rel_err(h_last, h_n[0]) < 1e-5 and rel_err(c_last, c_n[0]) < 1e-5


def test_unknown_precision_is_refused():
    x = _inputs("lstm", 1, 2, 8, "cpu", seed=0)
    with pytest.raises(ShapeError) as info:
        rnn_recurrence("lstm", x["xp"], x["w_hh"], precision="fp8", backend="torch")
    assert info.value.argument == "precision"


def test_bad_weight_shape_names_the_argument():
    x = _inputs("gru", 1, 2, 8, "cpu", seed=0)
    with pytest.raises(ShapeError) as info:
        rnn_recurrence("gru", x["xp"], x["w_hh"][:8], backend="torch")
    assert info.value.argument == "w_hh"


TOLERANCES = {"ieee": 1e-4, "tf32": 5e-3, "bf16": 3e-2}
"""Relative error bounds of outputs and gradients per product precision: about 10x the unit roundoff
of tf32 (2^-11) and bf16 (2^-8) inputs; fp32 (ieee) keeps 1e-4 over 64 steps."""


GRID_CASES = [(16, 256, p) for p in TOLERANCES] + [(16, 512, p) for p in TOLERANCES] + [(40, 64, "ieee"),
                                                                                        (5, 200, "ieee")]
"""(batch, hidden, precision): the benchmark's shapes in every precision (their compiled kernels are the
benchmark's), ragged shapes in the exact one (each case compiles two kernels: keep the list short)."""


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("batch, hidden, precision", GRID_CASES)
def test_persistent_grid_matches_reference_on_gpu(cuda, cell, batch, hidden, precision):
    x = _inputs(cell, batch, 64, hidden, cuda, seed=3)
    _check_against_reference(cell, x, tol=TOLERANCES[precision], precision=precision)


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_long_sequence_and_many_batch_blocks_on_gpu(cuda, cell):
    """Many barrier steps, and batch rows over several row groups (more programs than SMs at once)."""
    x = _inputs(cell, 300, 2000, 128, cuda, seed=5)
    _check_against_reference(cell, x, tol=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("cell, module", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("elman", torch.nn.RNN)])
def test_agrees_with_cudnn(cuda, cell, module):
    torch.manual_seed(4)
    layer = module(64, 256, batch_first=True).to(cuda)
    x = torch.randn(16, 300, 64, device=cuda)
    with torch.backends.cudnn.flags(allow_tf32=False):
        want = layer(x)[0]
    params = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
    h, _, _ = rnn_layer(cell, x, *(p.detach() for p in params))
    assert rel_err(h, want) < 1e-4
