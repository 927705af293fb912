"""``models.tensor_shapes``: the tensors of a plain exact model are the module's, and the parameter count checked
against --max-parameters is the module's (exactly where the shapes are known, an upper estimate elsewhere)."""
from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.config import ConfigError, LayerConfig, ModelConfig
from models.stack import RecurrentModel
from models.tensor_shapes import exact_tensors, parameter_count

FAMILIES = ("dense-lrnn", "elman", "diag", "rotation", "deltaproduct", "lstm", "gru", "mamba", "lti", "hawk")
GATE_RANGES = [(0.0, 1.0), (-1.0, 1.0), (0.0, 2.0), (1.0, 1.0), (-2.0, 1.0), (0.0, 3.0)]

layers = st.builds(LayerConfig, d_state=st.integers(0, 5), mlp_hidden=st.integers(0, 3),
                   gate_range=st.sampled_from(GATE_RANGES), n_h=st.integers(0, 3), d_value=st.integers(0, 3),
                   gated=st.booleans(), heads=st.integers(1, 2), nonlinearity=st.sampled_from(["relu", "tanh"]),
                   norm=st.booleans(), conv=st.sampled_from([0, 0, 2, 4]), out_norm=st.booleans(),
                   out_gate=st.booleans(), q_norm=st.booleans(), tied_input=st.booleans())


@st.composite
def configs(draw) -> ModelConfig:
    try:
        return ModelConfig(arch=draw(st.sampled_from(FAMILIES)), n_symbols=draw(st.integers(1, 4)),
                           n_labels=draw(st.integers(1, 3)), d_model=draw(st.integers(1, 6)),
                           layers=tuple(draw(st.lists(layers, min_size=1, max_size=2))), exact=draw(st.booleans()),
                           dtype=draw(st.sampled_from(["float32", "float64", "bfloat16", "float16"])),
                           d_input=draw(st.sampled_from([0, 0, 2])), norm=draw(st.booleans()))
    except ConfigError:
        return draw(st.nothing())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(config=configs())
def test_the_expected_tensors_are_the_modules(config: ModelConfig) -> None:
    """Where ``exact_tensors`` answers, the module builds and has exactly those tensors, in the config's dtype, and
    ``parameter_count`` is their count; elsewhere it bounds the module's count from above. A layer the module
    refuses gets no answer (the checkpoint loader then refuses it)."""
    expected = exact_tensors(config)
    try:
        module = RecurrentModel(config).to(getattr(torch, config.dtype))
    except (ValueError, ZeroDivisionError):
        assert expected is None
        return
    count = sum(t.numel() for t in module.state_dict().values())
    if expected is None:
        assert parameter_count(config) >= count
        return
    assert expected == {name: tuple(t.shape) for name, t in module.state_dict().items()}
    assert {str(t.dtype) for t in module.state_dict().values()} == {f"torch.{config.dtype}"}
    assert parameter_count(config) == count


def test_plain_exact_models_of_every_stepped_family_are_read_without_torch() -> None:
    for arch in FAMILIES[:7]:
        layer = LayerConfig(d_state=2, mlp_hidden=1, gate_range=(0.0, 1.0), n_h=2)
        assert exact_tensors(ModelConfig(arch, 2, 2, 3, (layer,), exact=True)) is not None, arch


