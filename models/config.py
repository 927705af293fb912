"""Configuration of a layered recurrent model: one frozen dataclass, saved as config.json."""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from automata.errors import LsrlInputError
from models.origin import ORIGIN_KEYS, Origin, ProgramIO, ProgramOrigin, origin_to_json
from models.registry import BLOCK_PARTS, FAMILIES


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
    # The literature block (docs/architectures.md); the defaults are today's plain block, which compiled models use.
    heads: int = 1  # independent heads; d_state and d_value are per head (deltaproduct, diag, mamba)
    norm: bool = False  # RMSNorm of the stream before the recurrence and before the MLP (pre-normalisation)
    conv: int = 0  # width of the short causal depthwise convolution (SiLU) on the recurrence's inputs; 0: none
    out_norm: bool = False  # RMSNorm of each head's output before the output projection
    out_gate: bool = False  # output times SiLU(W_g x), after out_norm (fla's FusedRMSNormGated)
    q_norm: bool = False  # deltaproduct: L2-normalised queries, read with scale d_k^-1/2 (fla's kernels)
    tied_input: bool = False  # diag: the input is silu(W_b x + c_b) * (1 - a_t), HGRN's
    # Ports (ModelConfig.ported, compiled programs): the stream channels the recurrence and the MLP read and write.
    reads: tuple[int, ...] = ()
    writes: tuple[int, ...] = ()
    mlp_reads: tuple[int, ...] = ()
    mlp_writes: tuple[int, ...] = ()
    out_bias: bool = False  # ported: the recurrence's output projection has a bias (the threshold cells' constants)


@dataclass(frozen=True)
class ModelConfig:
    """A stack of blocks over a residual stream of width ``d_model``; symbols enter by an embedding
    and every position is read out into ``n_labels`` logits. ``exact`` selects the compiled path:
    piecewise-linear gates whose values are exact rationals, instead of the trained sigmoids. ``origin`` says
    what the model was trained or compiled from (``models.origin``; saved as config.json's "meta")."""

    arch: str
    n_symbols: int
    n_labels: int
    d_model: int
    layers: tuple[LayerConfig, ...]
    exact: bool = False
    dtype: str = "float32"
    origin: Origin | None = None
    d_input: int = 0  # > 0: inputs are real vectors of this width, read by a linear projection, not the embedding
    norm: bool = False  # RMSNorm of the stream before the readout (the final norm of fla's models)
    # Ported (compiled programs): the stream begins as the input followed by zeros, and every map reads and writes
    # only the channels its layer lists (writes without a bias); the readout reads ``readout_reads``.
    ported: bool = False
    readout_reads: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.arch not in FAMILIES:
            raise ValueError(f"unknown module family {self.arch!r}; known: {', '.join(FAMILIES)}")
        object.__setattr__(self, "layers", tuple(
            layer if isinstance(layer, LayerConfig)
            else LayerConfig(**{**layer, "gate_range": tuple(layer.get("gate_range", (0.0, 1.0)))})
            for layer in self.layers))
        if self.exact:
            parts = [p for p in BLOCK_PARTS if p != "heads"]
            on = ["norm"] * self.norm + [p for layer in self.layers for p in parts if getattr(layer, p)]
            if on:
                raise ConfigError(f"an exact (compiled) model has no {on[0]} part: its certificate reads the plain "
                                  "block (docs/architectures.md)")
        _check_ports(self)

    def to_json(self) -> dict[str, Any]:
        return {META if name == "origin" else name: origin_to_json(self.origin) if name == "origin" else value
                for name, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Any, source: str = "config.json") -> ModelConfig:
        """Parse a saved config, checking every field's type and bounds before anything is allocated;
        a malformed one raises ``ConfigError`` naming the field."""
        fields = _checked_fields(cls, data, source, required=("arch", "n_symbols", "n_labels", "d_model", "layers"))
        fields["origin"] = _origin_from_json(fields.pop(META, {}), f"{source}: field {META!r}")
        if fields["arch"] not in FAMILIES:
            raise ConfigError(f"{source}: field 'arch': unknown architecture {fields['arch']!r}")
        if fields.get("dtype", "float32") not in DTYPES:
            raise ConfigError(f"{source}: field 'dtype' must be one of {', '.join(DTYPES)}")
        if not isinstance(fields["layers"], list) or not 1 <= len(fields["layers"]) <= MAX_LAYERS:
            raise ConfigError(f"{source}: field 'layers' must be a list of 1 to {MAX_LAYERS} layer objects")
        layers = tuple(_layer_from_json(layer, f"{source}: layers[{i}]") for i, layer in enumerate(fields["layers"]))
        try:
            config = cls(**{**fields, "layers": layers, **_port_fields(fields, source)})
        except ConfigError as error:  # the checks across fields (exact parts, channel lists) name no file
            raise ConfigError(f"{source}: {error}") from None
        from models.tensor_shapes import check_parameters  # tensor_shapes reads this module's types

        check_parameters(config, source)  # --max-parameters, before anything is allocated
        return config

    def size_scale(self) -> int:
        """The order of magnitude of the parameter count (the widest map of each layer times d_model, plus
        the embedding): what a saved config is checked against before anything is allocated."""
        widest = max(max(layer.d_state, layer.d_value, layer.mlp_hidden) * max(layer.n_h, 1) * max(layer.heads, 1)
                     for layer in self.layers)
        return self.d_model * widest * len(self.layers) + max(self.n_symbols, self.d_input) * self.d_model


DTYPES = ("float16", "bfloat16", "float32", "float64")
META = "meta"  # config.json's name for ModelConfig.origin
MAX_LAYERS = 256
MAX_WIDTH = 1 << 20


class ConfigError(LsrlInputError):
    """A saved model configuration that is malformed: the message names the file and the field."""


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "an object",
          list: "a list"}


def _json_kind(annotation: str) -> type:
    """The JSON type that stores a dataclass field annotated ``annotation`` (tuples are lists)."""
    base = annotation.split("[", 1)[0].split("|", 1)[0].strip()
    return {"int": int, "float": float, "bool": bool, "str": str, "dict": dict, "tuple": list, "list": list,
            "Origin": dict}[base]


def _checked_fields(cls: type, data: Any, source: str, required: tuple[str, ...]) -> dict[str, Any]:
    """The fields of dataclass ``cls`` in ``data``, each of its annotated JSON type; integers (widths,
    counts) in 0..MAX_WIDTH."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    known = {(META if f.name == "origin" else f.name): _json_kind(str(f.type)) for f in dataclass_fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source}: unknown field {unknown[0]!r}")
    for name in required:
        if name not in data:
            raise ConfigError(f"{source}: missing field {name!r}")
    for name, value in data.items():
        kind = known[name]
        numeric = kind is float and isinstance(value, int)
        if not (isinstance(value, kind) or numeric) or (kind in (int, float) and isinstance(value, bool)):
            raise ConfigError(f"{source}: field {name!r} must be {_KINDS[kind]}, got {type(value).__name__}")
        if kind is int and not 0 <= value <= MAX_WIDTH:
            raise ConfigError(f"{source}: field {name!r} = {value} is outside 0..{MAX_WIDTH}")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{source}: field {name!r} must be a finite number")
    return dict(data)


MAX_COUNT = 2**63 - 1  # lengths in an origin (a safe length may reach 2^62)


def _origin_from_json(data: dict[str, Any], source: str) -> Origin | None:
    """The origin recorded in a saved "meta" object, told apart by its key field; {} (a model built by hand) is None."""
    if not data:
        return None
    kinds = [cls for key, cls in ORIGIN_KEYS.items() if key in data]
    if len(kinds) != 1:
        raise ConfigError(f"{source}: expected exactly one of the fields {', '.join(map(repr, ORIGIN_KEYS))}")
    known = {f.name: str(f.type) for f in dataclass_fields(kinds[0])}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source}: unknown field {unknown[0]!r}")
    missing = [f.name for f in dataclass_fields(kinds[0]) if f.name not in data and f.default is MISSING]
    if missing:
        raise ConfigError(f"{source}: missing field {missing[0]!r}")
    if kinds[0] is ProgramOrigin:
        return _program_from_json(data, source)
    return kinds[0](**{name: _json_value(known[name], value, f"{source}: field {name!r}") for name, value in data.items()})


def _program_from_json(data: dict[str, Any], source: str) -> ProgramOrigin:
    """A program's origin: its ports are saved as [name, dim, alphabet or null] (inputs) and [name, dim] (outputs)."""
    ports = {}
    for field_name, width in (("inputs", 3), ("outputs", 2)):
        items = _json_value("list", data[field_name], f"{source}: field {field_name!r}")
        if not all(isinstance(item, list) and len(item) == width for item in items):
            raise ConfigError(f"{source}: field {field_name!r} must hold lists of {width} values")
        ports[field_name] = tuple(
            ProgramIO(_json_value("str", item[0], f"{source}: {field_name}[{i}][0]"),
                        _json_value("int", item[1], f"{source}: {field_name}[{i}][1]"),
                        _json_value("tuple[str, ...] | None", item[2], f"{source}: {field_name}[{i}][2]")
                        if width == 3 else None)
            for i, item in enumerate(items))
    return ProgramOrigin(_json_value("str", data["program_hash"], f"{source}: field 'program_hash'"),
                         _json_value("str", data["compiled_for"], f"{source}: field 'compiled_for'"),
                         _json_value("int | None", data["max_length"], f"{source}: field 'max_length'"),
                         ports["inputs"], ports["outputs"])


def _json_value(annotation: str, value: Any, where: str) -> Any:
    """``value`` checked against a field's annotation ("int", "str | None", "tuple[int, ...]"); lists become
    tuples where the annotation says tuple, integers lie in 0..MAX_COUNT and numbers are finite."""
    options = [option.strip() for option in annotation.split("|")]
    if value is None and "None" in options:
        return None
    kind = _json_kind(options[0])
    numeric = kind is float and isinstance(value, int)
    if not (isinstance(value, kind) or numeric) or (kind in (int, float) and isinstance(value, bool)):
        raise ConfigError(f"{where} must be {_KINDS[kind]}, got {type(value).__name__}")
    if kind is int and not 0 <= value <= MAX_COUNT:
        raise ConfigError(f"{where} = {value} is outside 0..{MAX_COUNT}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number")
    if options[0].startswith("tuple["):
        item = options[0][len("tuple["):].split(",", 1)[0]
        return tuple(_json_value(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    return float(value) if kind is float else value


def _layer_from_json(data: Any, source: str) -> LayerConfig:
    fields = _checked_fields(LayerConfig, data, source, required=("d_state",))
    if "gate_range" in fields:
        lo_hi = fields["gate_range"]
        if (len(lo_hi) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lo_hi)
                or not -4 <= lo_hi[0] <= lo_hi[1] <= 4):
            raise ConfigError(f"{source}: field 'gate_range' must be [lo, hi] with -4 <= lo <= hi <= 4")
        fields["gate_range"] = (float(lo_hi[0]), float(lo_hi[1]))
    if fields.get("nonlinearity", "relu") not in ("relu", "tanh"):
        raise ConfigError(f"{source}: field 'nonlinearity' must be 'relu' or 'tanh'")
    return LayerConfig(**{**fields, **_port_fields(fields, source)})


PORTS = ("reads", "writes", "mlp_reads", "mlp_writes")


def _port_fields(fields: dict[str, Any], source: str) -> dict[str, tuple[int, ...]]:
    """The channel lists among ``fields`` as tuples, each entry an integer."""
    out = {}
    for name in (*PORTS, "readout_reads"):
        if name in fields:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in fields[name]):
                raise ConfigError(f"{source}: field {name!r} must be a list of channel indices")
            out[name] = tuple(fields[name])
    return out


def _check_ports(config: ModelConfig) -> None:
    """A ported model's channel lists name distinct channels of its stream, which holds its input; an unported
    model has none."""
    lists = [("readout_reads", config.readout_reads)]
    lists += [(f"layers[{i}].{name}", getattr(layer, name)) for i, layer in enumerate(config.layers) for name in PORTS]
    if not config.ported:
        named = next((name for name, channels in lists if channels), None)
        named = named or next((f"layers[{i}].out_bias" for i, layer in enumerate(config.layers) if layer.out_bias), None)
        if named:
            raise ConfigError(f"field {named!r} belongs to ported models (field 'ported')")
        return
    if not config.exact:
        raise ConfigError("a ported model is a compiled one (field 'exact')")
    if not 0 < config.d_input <= config.d_model:
        raise ConfigError(f"a ported model reads real vectors (d_input {config.d_input}) into the first channels of "
                          f"its stream (d_model {config.d_model})")
    for name, channels in lists:
        if len(set(channels)) != len(channels) or not all(0 <= c < config.d_model for c in channels):
            raise ConfigError(f"field {name!r} must list distinct channels in 0..{config.d_model - 1}")

