"""The fused Triton Elman/LSTM/GRU recurrences against their float64 references and torch.nn's layers."""
from __future__ import annotations

from unittest import mock

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.errors import KernelArgumentError
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


@settings(max_examples=40, deadline=None)
@given(cell=st.sampled_from(["elman", "lstm", "gru"]), hidden=st.integers(1, 512),
       precision=st.sampled_from(["ieee", "tf32", "bf16"]), sms=st.integers(8, 200))
def test_gpu_layouts_cover_the_units_and_fit_the_products(cell, hidden, precision, sms):
    """What the persistent grids rely on: every unit owned once, products at least 16 wide, slices
    within SLICE_BYTES (or at the narrowest a product allows), and no launch wider than the SMs."""
    fused = pytest.importorskip("kernels.rnn.fused")
    gpu = torch.device("cuda")
    gp = 1 if cell == "elman" else 4
    with mock.patch.object(fused, "_sms", lambda device: sms):
        hp, hb, programs, _ = fused.forward_layout(cell, hidden, precision, gpu)
        _, bhb, bprograms, _ = fused.backward_layout(cell, hidden, precision, gpu)
        fits = fused.fits(cell, hidden, precision, gpu)
    size = 2 if precision == "bf16" else 4
    assert hp >= hidden and hb & (hb - 1) == 0 and hb <= hp and gp * hb >= 16
    assert (programs - 1) * hb < hidden <= programs * hb
    assert hp * gp * hb * size <= fused.SLICE_BYTES or hb == max(16 // gp, 1)
    assert bhb >= 16 and (bprograms - 1) * bhb < hidden <= bprograms * bhb
    assert fits == (max(programs, bprograms) <= sms)


@settings(max_examples=40, deadline=None)
@given(cell=st.sampled_from(["elman", "lstm", "gru"]), hidden=st.integers(1, 512),
       precision=st.sampled_from(["ieee", "tf32", "bf16"]), sms=st.integers(8, 200), backward=st.booleans())
def test_tuning_candidates_are_layouts_the_grid_can_run(cell, hidden, precision, sms, backward):
    """Every layout the first-use timing may pick starts with the default's units, owns every unit once
    with products at least 16 wide, stays within the slice limit and fits the SMs (the barrier)."""
    fused = pytest.importorskip("kernels.rnn.fused")
    gpu = torch.device("cuda")
    gp = 1 if cell == "elman" else 4
    size = 2 if precision == "bf16" else 4
    layout = fused.backward_layout if backward else fused.forward_layout
    with mock.patch.object(fused, "_sms", lambda device: sms):
        candidates = fused.candidate_units(backward, cell, hidden, precision, gpu)
        default = layout(cell, hidden, precision, gpu)
        forced = [layout(cell, hidden, precision, gpu, units) for units in candidates]
    assert len(candidates) == len(set(candidates)) <= fused.TUNE_CANDIDATES
    if default[2] <= sms:
        assert candidates[0] == default[1]
    for hp, hb, programs, _ in forced:
        assert hb & (hb - 1) == 0 and (gp * hb >= 16 if not backward else hb >= 16)
        assert (programs - 1) * hb < hidden <= programs * hb <= programs * hp and programs <= sms
        assert gp * hp * hb * size <= max(fused.TUNE_MAX_SLICE, gp * hp * default[1] * size)


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("precision", ["ieee", "bf16"])
def test_tuned_layouts_of_long_sequences_match_float64(cuda, cell, precision):
    """A sequence long enough to be timed on first use runs the chosen forward and backward layouts and
    still matches the float64 reference (values and gradients)."""
    from kernels.rnn import fused
    _check_against_reference(cell, _inputs(cell, 16, fused.TUNE_MIN_STEPS, 256, cuda, seed=5),
                             tol=TOLERANCES[precision], precision=precision)
    assert {kind for kind, key_cell, hidden, key_precision, *_ in fused.TUNED
            if (key_cell, hidden, key_precision) == (cell, 256, precision)} == {"fwd", "bwd"}


@settings(max_examples=20, deadline=None)
@given(cell=st.sampled_from(["elman", "lstm", "gru"]), hidden=st.integers(1, 40), units=st.sampled_from([4, 8, 16]),
       seed=st.integers(0, 2**16))
def test_gate_major_columns_give_every_gate_of_every_unit(cell, hidden, units, seed):
    """h @ the rearranged W_hh^T, read as (unit, gate), is h W_hh^T in torch.nn's gate-major order."""
    fused = pytest.importorskip("kernels.rnn.fused")
    x = _inputs(cell, 3, 1, hidden, "cpu", seed)
    gates, hp = GATES[cell], max(16, 1 << (hidden - 1).bit_length())
    programs = -(-hidden // units)
    w_cols, b_cols = fused._gate_major_columns(x["w_hh"].double(), x["b_hh"].double(), gates, hp, units, programs)
    h = torch.zeros(3, hp, dtype=torch.float64)
    h[:, :hidden] = x["h0"].double()
    got = (h @ w_cols + b_cols).view(3, programs * units, -1)[:, :hidden, :gates]
    want = (x["h0"].double() @ x["w_hh"].double().T + x["b_hh"].double()).view(3, gates, hidden).transpose(1, 2)
    assert torch.equal(got, want) or rel_err(got, want) < 1e-15


def test_unknown_precision_is_refused():
    x = _inputs("lstm", 1, 2, 8, "cpu", seed=0)
    with pytest.raises(KernelArgumentError) as info:
        rnn_recurrence("lstm", x["xp"], x["w_hh"], precision="fp8", backend="torch")
    assert info.value.argument == "precision"


def test_bad_weight_shape_names_the_argument():
    x = _inputs("gru", 1, 2, 8, "cpu", seed=0)
    with pytest.raises(KernelArgumentError) as info:
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


@settings(max_examples=10, deadline=None)
@given(batch=st.integers(1, 3), length=st.integers(1, 5), n_in=st.integers(1, 6), n_out=st.integers(1, 6),
       bias=st.booleans())
def test_tf32_projection_has_linears_values_and_gradients(batch, length, n_in, n_out, bias):
    """The fast modes' input projection (its GEMMs on TF32 tensor cores on CUDA) is linear(x, w, b) with
    linear's gradients: gradcheck in float64, where TF32 does not apply."""
    from kernels.rnn.projection import input_projection
    g = torch.Generator().manual_seed(batch * 100 + length * 10 + n_in)
    x = torch.randn(batch, length, n_in, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(n_out, n_in, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n_out, generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    assert torch.equal(input_projection(x, w, b, tf32=True), torch.nn.functional.linear(x, w, b))
    assert torch.autograd.gradcheck(lambda *a: input_projection(*a, tf32=True), (x, w, b))
