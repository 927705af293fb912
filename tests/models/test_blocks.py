"""The literature block: every recurrence with its parts (heads, short convolution, output norm and gate, query
norm, pre-norm) against a step-by-step reference written from the equations; the plain defaults add no parameter;
compiled models are instances of their trained counterparts' classes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.tasks import get_task
from lsrl.constructions.select import compile_automaton
from lsrl.training.train import TrainConfig, build_model
from models import registry
from models.config import LayerConfig, ModelConfig
from models.deltaproduct import DeltaProductRecurrence
from models.diagonal import DiagonalRecurrence
from models.layer_parts import NORM_EPS, ShortConvolution
from models.mamba import MambaRecurrence
from models.rotation import RotationRecurrence
from models.stack import Block, RecurrentModel

TOL = {"rtol": 1e-9, "atol": 1e-9}


def conv_reference(x: torch.Tensor, conv: ShortConvolution | None) -> torch.Tensor:
    """silu(sum_k w[c, 0, k] x_{t-W+1+k}), x_s = 0 before the sequence, one position at a time."""
    if conv is None:
        return x
    width = conv.weight.shape[-1]
    out = torch.zeros_like(x)
    for t in range(x.shape[1]):
        for k in range(width):
            s = t - width + 1 + k
            if s >= 0:
                out[:, t] += conv.weight[:, 0, k] * x[:, s]
    return F.silu(out)


def rms_reference(y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return y / torch.sqrt((y * y).mean(-1, keepdim=True) + NORM_EPS) * weight


def output_reference(rec: torch.nn.Module, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per head RMSNorm, times silu of the gate projection, then the output projection."""
    y = features
    if rec.out_norm is not None:
        y = torch.cat([rms_reference(part, rec.out_norm.weight) for part in y.chunk(rec.heads, dim=-1)], dim=-1)
    if rec.out_gate is not None:
        y = y * F.silu(x @ rec.out_gate.weight.T)
    return y @ rec.out.weight.T + rec.out.bias


def randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``module`` in float64 with every parameter drawn at random (norm weights and initial states included)."""
    torch.manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()
    return module


def squash(pre: torch.Tensor, lo: float, hi: float, exact: bool) -> torch.Tensor:
    return pre.clamp(lo, hi) if exact else lo + (hi - lo) * torch.sigmoid(pre)


def diagonal_reference(rec: DiagonalRecurrence, x: torch.Tensor) -> torch.Tensor:
    a = squash(x @ rec.to_a.weight.T + rec.to_a.bias, rec.lo, rec.hi, rec.exact)
    b = conv_reference(x @ rec.to_b.weight.T + rec.to_b.bias, rec.conv)
    if rec.tied_input:
        b = F.silu(b) * (1 - a)
    if isinstance(rec, MambaRecurrence):
        g = x @ rec.to_g.weight.T + rec.to_g.bias
        b = b * (g if rec.exact else F.softplus(g))
    h, states = rec.h0.expand(x.shape[0], -1), []
    for t in range(x.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return output_reference(rec, torch.stack(states, 1), x)


def rotation_reference(rec: RotationRecurrence, x: torch.Tensor) -> torch.Tensor:
    c = rec.channels
    pre = x @ rec.to_a.weight.T + rec.to_a.bias
    u, w = pre[..., :c], pre[..., c:]
    a = torch.complex(u, w) if rec.exact else torch.polar(torch.sigmoid(u), w)
    b_pair = conv_reference(x @ rec.to_b.weight.T + rec.to_b.bias, rec.conv)
    b = torch.complex(b_pair[..., :c], b_pair[..., c:])
    h, states = torch.complex(rec.h0[:c], rec.h0[c:]).expand(x.shape[0], -1), []
    for t in range(x.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(torch.cat([h.real, h.imag], -1))
    return output_reference(rec, torch.stack(states, 1), x)


def deltaproduct_reference(rec: DeltaProductRecurrence, x: torch.Tensor) -> torch.Tensor:
    """Per head: S <- alpha S, then per factor S <- (I - beta k k^T) S + beta k v^T; o = scale S^T q."""
    h, dk, dv, n_h = rec.heads, rec.d_key, rec.d_value, rec.n_h
    q_all = conv_reference(x @ rec.to_q.weight.T + rec.to_q.bias, rec.q_conv)
    k_all = conv_reference(x @ rec.to_k.weight.T + rec.to_k.bias, rec.k_conv)
    v_all = conv_reference(x @ rec.to_v.weight.T + rec.to_v.bias, rec.v_conv)
    beta_all = squash(x @ rec.to_beta.weight.T + rec.to_beta.bias, rec.lo, rec.hi, rec.exact)
    scale = dk ** -0.5 if rec.q_norm else 1.0
    out = torch.zeros(x.shape[0], x.shape[1], h * dv, dtype=x.dtype)
    for b in range(x.shape[0]):
        for g in range(h):
            s = rec.s0[g * dk:(g + 1) * dk].clone()
            for t in range(x.shape[1]):
                if rec.to_alpha is not None:
                    pre = x[b, t] @ rec.to_alpha.weight[g] + rec.to_alpha.bias[g]
                    s = s * (pre.clamp(0, 1) if rec.exact else torch.sigmoid(pre))
                for j in range(n_h):
                    k = k_all[b, t, (j * h + g) * dk:(j * h + g + 1) * dk]
                    k = k if rec.exact else k / k.norm()
                    v = v_all[b, t, (j * h + g) * dv:(j * h + g + 1) * dv]
                    beta = beta_all[b, t, j * h + g]
                    s = (torch.eye(dk, dtype=x.dtype) - beta * torch.outer(k, k)) @ s + beta * torch.outer(k, v)
                q = q_all[b, t, g * dk:(g + 1) * dk]
                q = q / q.norm() if rec.q_norm else q
                out[b, t, g * dv:(g + 1) * dv] = scale * s.T @ q
    return output_reference(rec, out, x)


parts = st.fixed_dictionaries({"conv": st.sampled_from((0, 2, 4)), "out_norm": st.booleans(),
                               "out_gate": st.booleans()})
shapes = st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 4))  # batch, length, d_model


@settings(max_examples=40, deadline=None)
@given(shapes, parts, st.integers(1, 3), st.integers(1, 3), st.booleans(), st.booleans(), st.booleans(),
       st.booleans(), st.integers(0, 2**16))
def test_diagonal_and_mamba_blocks_match_the_step_by_step_reference(shape, on, heads, d_state, neg, exact, mamba, tied,
                                                                    seed):
    batch, length, d_model = shape
    layer = LayerConfig(d_state=d_state, heads=heads, gate_range=(-1.0, 1.0) if neg else (0.0, 1.0),
                        tied_input=tied and not mamba, **on)
    rec = randomised((MambaRecurrence if mamba else DiagonalRecurrence)(d_model, layer, exact=exact), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    torch.testing.assert_close(rec(x), diagonal_reference(rec, x), **TOL)


@settings(max_examples=30, deadline=None)
@given(shapes, parts, st.integers(1, 3), st.booleans(), st.integers(0, 2**16))
def test_rotation_block_matches_the_step_by_step_reference(shape, on, channels, exact, seed):
    batch, length, d_model = shape
    rec = randomised(RotationRecurrence(d_model, LayerConfig(d_state=2 * channels, **on), exact=exact), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    torch.testing.assert_close(rec(x), rotation_reference(rec, x), **TOL)


@settings(max_examples=40, deadline=None)
@given(shapes, parts, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.booleans(),
       st.booleans(), st.booleans(), st.integers(0, 2**16))
def test_deltaproduct_block_matches_the_step_by_step_reference(shape, on, heads, d_key, d_value, n_h, q_norm, gated,
                                                               exact, seed):
    batch, length, d_model = shape
    layer = LayerConfig(d_state=d_key, d_value=d_value, n_h=n_h, heads=heads, q_norm=q_norm, gated=gated,
                        gate_range=(0.0, 2.0), **on)
    rec = randomised(DeltaProductRecurrence(d_model, layer, exact=exact), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    torch.testing.assert_close(rec(x), deltaproduct_reference(rec, x), **TOL)
    assert rec.states(x).shape == (batch, length, heads * d_key * d_value) == (batch, length, rec.state_size)


@pytest.mark.parametrize("family", ["elman", "lstm", "gru", "dense-lrnn", "lti", "hawk"])
@settings(max_examples=10, deadline=None)
@given(shapes, st.booleans(), st.booleans(), st.integers(1, 3), st.integers(0, 2**16))
def test_output_parts_of_the_other_classes_read_their_features(family, shape, out_norm, out_gate, d_state, seed):
    batch, length, d_model = shape
    out_gate = out_gate and "out_gate" in registry.FAMILY_PARTS[family]
    layer = LayerConfig(d_state=d_state, out_norm=out_norm, out_gate=out_gate)
    rec = randomised(registry.recurrence_class(family)(d_model, layer), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    torch.testing.assert_close(rec(x), output_reference(rec, rec.features(x), x), **TOL)


@settings(max_examples=20, deadline=None)
@given(shapes, st.integers(0, 3), st.integers(0, 2**16))
def test_pre_norm_block_normalises_what_the_recurrence_and_the_mlp_read(shape, mlp_hidden, seed):
    batch, length, d_model = shape
    config = ModelConfig("diag", 2, 2, d_model, (LayerConfig(d_state=2, mlp_hidden=mlp_hidden, norm=True),))
    block = randomised(Block(config, config.layers[0]), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    mid = x + block.recurrence(rms_reference(x, block.norm.weight))
    expected = mid if block.mlp is None else mid + block.mlp(rms_reference(mid, block.mlp_norm.weight))
    torch.testing.assert_close(block(x), expected, **TOL)


def test_final_norm_reads_the_last_stream() -> None:
    config = ModelConfig("diag", 3, 2, 4, (LayerConfig(d_state=2),), norm=True)
    model = randomised(RecurrentModel(config), 0)
    symbols = torch.tensor([[0, 2, 1, 1]])
    last = model.streams(symbols)[-1]
    torch.testing.assert_close(model(symbols), model.readout(rms_reference(last, model.norm.weight)), **TOL)


@pytest.mark.parametrize("family", sorted(registry.FAMILIES))
def test_plain_defaults_add_no_parameter_and_absent_parts_are_refused(family: str) -> None:
    layer = LayerConfig(d_state=2, gate_range=(0.0, 1.0))
    config = ModelConfig(family, 2, 2, 3, (layer,))
    names = RecurrentModel(config).state_dict()
    assert not [n for n in names if any(part in n for part in ("norm", "conv.", "_conv", "out_gate"))]
    for part, value in (("heads", 2), ("conv", 4), ("out_gate", True), ("q_norm", True), ("tied_input", True)):
        if part not in registry.FAMILY_PARTS[family]:
            with pytest.raises(ValueError, match=f"{family} has no {part} part"):
                registry.recurrence_class(family)(3, LayerConfig(d_state=2, **{part: value}))


def test_a_config_saved_before_the_block_parts_loads_as_the_plain_block() -> None:
    saved = {"arch": "deltaproduct", "n_symbols": 2, "n_labels": 2, "d_model": 3, "exact": True,
             "layers": [{"d_state": 2, "mlp_hidden": 0, "gate_range": [0.0, 2.0], "n_h": 1, "nonlinearity": "relu",
                         "d_value": 0, "gated": False}]}
    config = ModelConfig.from_json(saved)
    assert config.layers[0] == LayerConfig(d_state=2, gate_range=(0.0, 2.0)) and not config.norm
    assert sorted(RecurrentModel(config).state_dict()) == sorted(
        ["embedding.weight", "readout.weight", "readout.bias", "blocks.0.recurrence.s0"]
        + [f"blocks.0.recurrence.{p}.{w}" for p in ("to_q", "to_k", "to_v", "to_beta", "out")
           for w in ("weight", "bias")])


REPRESENTATIVE = [("parity", "diag-neg"), ("no-aa", "diag-01"), ("S:3", "deltaproduct"), ("mod:5", "rotation"),
                  ("mod:3", "lstm"), ("mod:3", "gru"), ("mod:3", "elman"), ("tomita:1", "mamba")]


@pytest.mark.parametrize("task_name, arch", REPRESENTATIVE)
def test_compiled_models_are_instances_of_their_trained_counterparts_classes(task_name: str, arch: str) -> None:
    task = get_task(task_name)
    compiled = compile_automaton(task.dfa, arch, task.labels).model
    trained = build_model(TrainConfig(task=task_name, arch=arch, d_model=8, d_state=2), task)
    assert compiled.config.arch == trained.config.arch
    trained_class = type(trained.blocks[0].recurrence)
    assert all(type(block.recurrence) is trained_class for block in compiled.blocks)
    assert all(block.norm is None and block.recurrence.out_norm is None for block in compiled.blocks)


def test_the_docs_table_of_reference_blocks_is_the_registry() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "architectures.md").read_text()
    table = doc.split("| class | reference layer |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    word = {"yes": True, "no": False, "—": False, "(built in)": False}
    seen = set()
    for row in table:
        names, _, *cells = (c.strip() for c in row.strip("|").split("|"))
        documented = {part: int(cell) if cell.isdigit() else word[cell]
                      for part, cell in zip(registry.BLOCK_PARTS, cells)}
        for name in names.split(", "):
            block = {part: getattr(LayerConfig(d_state=1), part) for part in registry.BLOCK_PARTS}
            assert documented == block | dict(registry.get(name).block), name
            seen.add(name)
    assert seen == {a.name for a in registry.with_path("train")}


@settings(max_examples=20, deadline=None)
@given(shapes, st.sampled_from((0, 2, 3, 4)), st.booleans(), st.integers(0, 2**16))
def test_block_states_carry_the_recurrence_and_the_convolution_window(shape, conv, norm, seed):
    """The state after t: the recurrence's, then the inputs read at t - conv + 2 .. t (zeros before the start)."""
    batch, length, d_model = shape
    config = ModelConfig("diag", 2, 2, d_model, (LayerConfig(d_state=2, conv=conv, norm=norm),))
    block = randomised(Block(config, config.layers[0]), seed)
    x = torch.randn(batch, length, d_model, dtype=torch.float64)
    read = rms_reference(x, block.norm.weight) if norm else x
    states = block.states(x)
    torch.testing.assert_close(states[..., :2], block.recurrence.states(read), **TOL)
    for t in range(length):
        window = [read[:, s] if s >= 0 else torch.zeros_like(read[:, 0]) for s in range(t - conv + 2, t + 1)]
        torch.testing.assert_close(states[:, t, 2:], torch.cat([torch.zeros(batch, 0, dtype=x.dtype), *window], -1))


@pytest.mark.parametrize("part", [p for p in registry.BLOCK_PARTS if p != "heads"])
def test_an_exact_model_with_a_block_part_is_refused(part: str, tmp_path) -> None:
    """Certificates read the plain block, so a compiled config.json that switches a part on does not load."""
    from lsrl.cli import main
    from models.config import ConfigError

    value = 4 if part == "conv" else True
    with pytest.raises(ConfigError, match=f"no {part} part"):
        ModelConfig("diag", 2, 2, 3, (LayerConfig(d_state=2, **{part: value}),), exact=True)
    assert main(["compile", "task:parity", "--arch", "diag-neg", "-o", str(tmp_path / "p")]) == 0
    path = tmp_path / "p" / "config.json"
    path.write_text(path.read_text().replace(f'"{part}": {"0" if part == "conv" else "false"}',
                                             f'"{part}": {"4" if part == "conv" else "true"}', 1))
    assert main(["verify", str(tmp_path / "p")]) == 2
