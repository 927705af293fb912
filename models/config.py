"""Configuration of a layered recurrent model: one frozen dataclass, saved as config.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ARCHS = ("dense-lrnn", "elman", "diag", "rotation", "deltaproduct", "lstm", "gru", "lti", "mamba", "hawk")


@dataclass(frozen=True)
class LayerConfig:
    """One block: a recurrence reading the residual stream and writing ``d_out`` back into it,
    then an optional position-wise ReLU MLP of hidden width ``mlp_hidden``."""

    d_state: int
    mlp_hidden: int = 0
    gate_range: tuple[float, float] = (0.0, 1.0)  # diagonal gates / Householder beta range
    n_h: int = 1  # Householder factors per token (deltaproduct)
    nonlinearity: str = "relu"  # elman: "relu" or "tanh"
    d_value: int = 0  # deltaproduct: value width d_v of the d_state x d_v matrix state (0: d_v = d_state)
    gated: bool = False  # deltaproduct: a scalar decay of the state before each token's factors


@dataclass(frozen=True)
class ModelConfig:
    """A stack of blocks over a residual stream of width ``d_model``; symbols enter by an embedding
    and every position is read out into ``n_labels`` logits. ``exact`` selects the compiled path:
    piecewise-linear gates whose values are exact rationals, instead of the trained sigmoids."""

    arch: str
    n_symbols: int
    n_labels: int
    d_model: int
    layers: tuple[LayerConfig, ...]
    exact: bool = False
    dtype: str = "float32"
    meta: dict[str, Any] = field(default_factory=dict)
    d_input: int = 0  # > 0: inputs are real vectors of this width, read by a linear projection, not the embedding

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; known: {', '.join(ARCHS)}")
        object.__setattr__(self, "layers", tuple(
            layer if isinstance(layer, LayerConfig) else LayerConfig(**{**layer, "gate_range": tuple(layer.get("gate_range", (0.0, 1.0)))})
            for layer in self.layers))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**data)
