"""Ported models (compiled programs): each map reads and writes only the stream channels its config lists, and
computes what the whole-stream model with those weights (zero elsewhere) computes; bad channel lists are refused."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models import registry
from models.checkpoint import load, save
from models.config import ConfigError, LayerConfig, ModelConfig
from models.stack import RecurrentModel

D_MODEL, D_INPUT = 6, 2


def _subset(draw: st.DrawFn, size: int | None = None) -> tuple[int, ...]:
    channels = draw(st.lists(st.integers(0, D_MODEL - 1), unique=True, min_size=size or 0, max_size=size or D_MODEL))
    return tuple(sorted(channels))


@st.composite
def ported_configs(draw: st.DrawFn) -> ModelConfig:
    """A two-layer ported model of a random family with random channel lists."""
    family = draw(st.sampled_from(sorted(registry.FAMILIES)))
    layers = []
    for _ in range(2):
        d_state = draw(st.sampled_from((2, 4)))
        writes = _subset(draw, d_state if family in ("lti", "dense-lrnn") else None)
        layers.append(LayerConfig(d_state, mlp_hidden=draw(st.integers(0, 3)), reads=_subset(draw), writes=writes,
                                  mlp_reads=_subset(draw), mlp_writes=_subset(draw), out_bias=draw(st.booleans()),
                                  gate_range=(-1.0, 1.0) if family == "diag" else (0.0, 1.0)))
    return ModelConfig(family, 0, 3, D_MODEL, tuple(layers), exact=True, dtype="float64", d_input=D_INPUT,
                       ported=True, readout_reads=_subset(draw))


def whole_stream(ported: RecurrentModel) -> RecurrentModel:
    """The unported model holding the ported model's weights on its channels and zeros elsewhere: the input
    projection places the input in the first channels; maps from the stream keep their read channels as columns,
    output projections their written channels as rows."""
    config = ported.config
    layers = tuple(replace(layer, reads=(), writes=(), mlp_reads=(), mlp_writes=(), out_bias=False)
                   for layer in config.layers)
    dense = RecurrentModel(replace(config, layers=layers, ported=False, readout_reads=())).double()
    lists = {"readout.": (config.readout_reads, None)}
    for i, layer in enumerate(config.layers):
        lists[f"blocks.{i}.recurrence."] = (layer.reads, layer.writes)
        lists[f"blocks.{i}.mlp."] = (layer.mlp_reads, layer.mlp_writes)
    source = ported.state_dict()
    with torch.no_grad():
        for name, target in dense.state_dict().items():
            target.zero_()
            if name.startswith("embedding.weight"):
                target[:D_INPUT] = torch.eye(D_INPUT, dtype=target.dtype)
            if name not in source:  # the embedding, and the biases of output projections
                continue
            value = source[name]
            if value.shape == target.shape:
                target.copy_(value)
                continue
            reads, writes = next(v for prefix, v in lists.items() if name.startswith(prefix))
            writing = name.split(".")[-2] in ("out", "down")
            index = torch.tensor(writes if writing else reads, dtype=torch.long)
            target.index_copy_(0 if writing else 1, index, value)
    return dense


@settings(max_examples=30, deadline=None)
@given(config=ported_configs(), seed=st.integers(0, 2 ** 16))
def test_a_ported_model_computes_what_the_whole_stream_model_computes(config: ModelConfig, seed: int) -> None:
    torch.manual_seed(seed)
    model = RecurrentModel(config).double()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randint(-4, 5, param.shape, dtype=torch.float64) / 4)
    x = torch.randint(-2, 3, (2, 5, D_INPUT), dtype=torch.float64)
    dense = whole_stream(model)
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in dense.parameters())
    torch.testing.assert_close(model(x), dense(x), rtol=1e-9, atol=1e-9)


def test_a_ported_config_survives_save_and_load(tmp_path) -> None:
    layer = LayerConfig(2, mlp_hidden=2, reads=(0,), writes=(2, 3), mlp_reads=(1, 3), mlp_writes=(4,))
    config = ModelConfig("lti", 0, 1, 5, (layer,), exact=True, dtype="float64", d_input=2, ported=True,
                         readout_reads=(4,))
    model = RecurrentModel(config).double()
    save(model, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.config.layers == config.layers and loaded.config.readout_reads == (4,)
    x = torch.rand(1, 4, 2, dtype=torch.float64)
    assert torch.equal(loaded(x), model(x))


BASE = {"arch": "lti", "n_symbols": 0, "n_labels": 1, "d_model": 4, "exact": True, "d_input": 1, "ported": True,
        "layers": [{"d_state": 1, "reads": [0], "writes": [1]}], "readout_reads": [1]}


@pytest.mark.parametrize("change, field", [
    ({"layers": [{"d_state": 1, "reads": [0, 0], "writes": [1]}]}, "layers[0].reads"),
    ({"layers": [{"d_state": 1, "reads": [0], "writes": [4]}]}, "layers[0].writes"),
    ({"layers": [{"d_state": 1, "reads": [0], "writes": [1], "mlp_reads": [-1]}]}, "layers[0].mlp_reads"),
    ({"layers": [{"d_state": 1, "reads": [0], "writes": [1], "mlp_writes": ["2"]}]}, "mlp_writes"),
    ({"readout_reads": [1, 7]}, "readout_reads"),
    ({"ported": False}, "readout_reads"),
    ({"ported": False, "readout_reads": [], "layers": [{"d_state": 1, "out_bias": True}]}, "layers[0].out_bias"),
    ({"exact": False}, "exact"),
    ({"d_input": 0}, "d_input"),
])
def test_bad_channel_lists_are_refused_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        ModelConfig.from_json({**BASE, **change})
