"""The registry of architecture classes: every name a user types (canonical or alias) to its transition class, state,
classifier class, compile paths, training module and paper, and module family to recurrence class; torch-free (modules
imported lazily)."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from automata.errors import LsrlInputError, UnknownArchitecture

if TYPE_CHECKING:
    from torch import nn

# Module family (``ModelConfig.arch``) -> (module, recurrence class): one module per class in models/.
FAMILIES: dict[str, tuple[str, str]] = {
    "dense-lrnn": ("models.dense", "DenseRecurrence"),
    "elman": ("models.elman", "ElmanRecurrence"),
    "diag": ("models.diagonal", "DiagonalRecurrence"),
    "rotation": ("models.rotation", "RotationRecurrence"),
    "deltaproduct": ("models.deltaproduct", "DeltaProductRecurrence"),
    "lstm": ("models.gated_rnn", "LSTMRecurrence"),
    "gru": ("models.gated_rnn", "GRURecurrence"),
    "lti": ("models.lti", "LtiRecurrence"),
    "mamba": ("models.mamba", "MambaRecurrence"),
    "hawk": ("models.rglru", "RGLRURecurrence"),
}

# The parts of the literature block (``models.layer_parts``, ``models.config.LayerConfig``) and, per module family,
# those its module has; pre-normalisation (``norm``) belongs to the stack's block and every family has it.
BLOCK_PARTS = ("heads", "norm", "conv", "out_norm", "out_gate", "q_norm", "tied_input")
_NONLINEAR_PARTS = ("norm", "out_norm", "out_gate")
FAMILY_PARTS: dict[str, tuple[str, ...]] = {
    "dense-lrnn": _NONLINEAR_PARTS, "elman": _NONLINEAR_PARTS, "lstm": _NONLINEAR_PARTS, "gru": _NONLINEAR_PARTS,
    "lti": _NONLINEAR_PARTS, "diag": ("heads", "norm", "conv", "out_norm", "out_gate", "tied_input"),
    "mamba": ("heads", "norm", "conv", "out_norm", "out_gate"), "rotation": ("norm", "conv", "out_norm", "out_gate"),
    "deltaproduct": ("heads", "norm", "conv", "out_norm", "out_gate", "q_norm"), "hawk": ("norm", "out_norm"),
}

PATHS = ("program", "automaton", "train")

SARROF = "Sarrof, Veitsman, Hahn 2024 (arXiv:2405.17394)"
GRAZZI = "Grazzi et al. 2025, 'Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues' (arXiv:2411.12537)"
SIEMS = "Siems et al. 2025, 'DeltaProduct' (arXiv:2502.10297)"
DELTANET = "Schlag et al. 2021; Yang et al. 2024, 'Parallelizing Linear Transformers with the Delta Rule' (arXiv:2406.06484)"


class NoPath(LsrlInputError):
    """An architecture with no implementation of a path (program, automaton, train) or no classifier class
    (``classify``); the message says which classes have one."""

    def __init__(self, arch: str, path: str, message: str):
        super().__init__(message)
        self.arch = arch
        self.path = path


@dataclass(frozen=True)
class Architecture:
    """One architecture class. ``family``, ``layer``, ``gate_range`` and ``n_h`` configure its module
    (``models.config.LayerConfig``); ``automaton`` names the constructions it compiles automata with (those of
    a class it equals, with ``n_h`` fixed), ``program`` whether an lsrl program backend exists; ``universal``
    that its classifier class recognises every regular language (no theorem excludes one); ``upgrade`` is the
    next class up, which ``gains`` (what it adds) names in refusals; ``fla`` the flash-linear-attention 0.6.0
    layer that ``lsrl export`` writes its models as (``lsrl.export``; n_h factors per token run as n_h DeltaNet steps)."""

    name: str
    aliases: tuple[str, ...]
    transition: str
    state: str
    classifier: str | None
    family: str
    reference: str
    layer: tuple[tuple[str, Any], ...] = ()
    gate_range: tuple[float, float] | None = None
    n_h: int | None = None
    program: bool = False
    automaton: str | None = None
    trains: bool = True
    universal: bool = False
    upgrade: str | None = None
    gains: str = ""
    fla: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def has(self, path: str) -> bool:
        return {"program": self.program, "automaton": self.automaton is not None, "train": self.trains}[path]

    @property
    def block(self) -> tuple[tuple[str, Any], ...]:
        """The ``LayerConfig`` parts of the reference layer that trained models of this class use by default
        (docs/architectures.md gives each source)."""
        return REFERENCE_BLOCKS.get(self.name, ())

    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in PATHS if self.has(p))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": list(self.aliases), "transition": self.transition, "state": self.state,
                "classifier": self.classifier, "universal": self.universal, "paths": list(self.paths()),
                "family": self.family,
                "gate_range": self.gate_range and list(self.gate_range), "n_h": self.n_h, "reference": self.reference,
                "block": dict(self.block), "fla": self.fla}


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("diag-01", ("mamba", "mamba2", "gla", "mlstm", "hgrn", "diag"),
                 "diagonal, input-dependent, gates in [0, 1]", "d_state real channels", "diag-01", "diag",
                 f"Gu, Dao 2023 (Mamba); Yang et al. 2024 (GLA); {SARROF}", gate_range=(0.0, 1.0), program=True,
                 automaton="diag-01", upgrade="diag-neg", gains="input-dependent (selective) gates", fla="HGRNAttention"),
    Architecture("diag-neg", ("mamba-neg",), "diagonal, input-dependent, gates in [-1, 1]", "d_state real channels",
                 "diag-neg", "diag", GRAZZI, gate_range=(-1.0, 1.0), program=True, automaton="diag-neg",
                 upgrade="rotation", gains="negative eigenvalues"),
    Architecture("rotation", ("lru", "complex-diag", "diag-complex"),
                 "diagonal, input-dependent, complex gates of modulus <= 1 (rotations)",
                 "d_state / 2 complex channels", "diag-complex", "rotation",
                 "Orvieto et al. 2023 (LRU, input-independent); Merrill, Petty, Sabharwal 2024 (arXiv:2404.08819)",
                 program=True, automaton="rotation", upgrade="deltaproduct", gains="complex eigenvalues"),
    Architecture("deltaproduct", (), "n_h generalized Householder factors I - beta k k^T per token, beta in [0, 2]",
                 "d_state x d_value matrix", "deltaproduct", "deltaproduct", SIEMS, gate_range=(0.0, 2.0),
                 program=True, automaton="deltaproduct", universal=True, gains="non-diagonal (Householder) transitions",
                 fla="DeltaNet"),
    Architecture("deltanet", (), "one generalized Householder factor I - beta k k^T per token, beta in [0, 2]",
                 "d_state x d_value matrix", "deltaproduct", "deltaproduct", f"{DELTANET}; {GRAZZI}",
                 gate_range=(0.0, 2.0), n_h=1, program=True, automaton="deltaproduct", universal=True,
                 upgrade="deltaproduct",
                 gains="beta in [0, 2] (negative eigenvalues)", fla="DeltaNet"),
    Architecture("deltanet-01", (), "one Householder factor I - beta k k^T per token, beta in [0, 1]",
                 "d_state x d_value matrix", None, "deltaproduct", DELTANET, gate_range=(0.0, 1.0), n_h=1,
                 program=True, upgrade="deltanet", fla="DeltaNet"),
    Architecture("gated-deltaproduct", (), "a scalar decay in [0, 1] times n_h Householder factors, beta in [0, 2]",
                 "d_state x d_value matrix", "deltaproduct", "deltaproduct", f"{SIEMS}; Yang et al. 2025 (Gated DeltaNet)",
                 layer=(("gated", True),), gate_range=(0.0, 2.0), program=True, universal=True, fla="GatedDeltaProduct"),
    Architecture("dense-lrnn", (), "dense, input-dependent transition matrix", "d_state real vector", "dense-lrnn",
                 "dense-lrnn", "folklore; Merrill, Petty, Sabharwal 2024 (arXiv:2404.08819)", program=True,
                 automaton="dense-lrnn", universal=True, gains="dense transition matrices"),
    Architecture("hawk", ("rglru",), "RG-LRU: diagonal gates in (0, 1) after a width-4 causal convolution",
                 "d_state real channels", "diag-01", "hawk", "De et al. 2024, 'Griffin' (arXiv:2402.19427)",
                 program=True, upgrade="diag-neg"),
    Architecture("lti", (), "constant dense transition matrix (linear time-invariant)", "d_state real vector", None,
                 "lti", "Petrov et al. 2024 (LSRL, arXiv:2406.01424)", program=True, upgrade="diag-01"),
    Architecture("elman", (), "nonlinear: h = relu(W h + U x + c)", "d_state real vector", "nonlinear-rnn", "elman",
                 "Elman 1990; Minsky 1967", layer=(("nonlinearity", "relu"),), program=True, automaton="elman",
                 universal=True),
    Architecture("elman-tanh", (), "nonlinear: h = tanh(W h + U x + c)", "d_state real vector", "nonlinear-rnn",
                 "elman", "Elman 1990", layer=(("nonlinearity", "tanh"),),
                 program=True, automaton="elman-tanh", universal=True),
    Architecture("lstm", (), "nonlinear: LSTM cell (torch.nn.LSTM layout)", "d_state hidden + d_state cell",
                 "nonlinear-rnn", "lstm", "Hochreiter, Schmidhuber 1997", program=True, automaton="lstm",
                 universal=True),
    Architecture("gru", (), "nonlinear: GRU cell (torch.nn.GRU layout)", "d_state real vector", "nonlinear-rnn",
                 "gru", "Cho et al. 2014", program=True, automaton="gru", universal=True),
)

_HGRN = (("norm", True), ("out_norm", True), ("out_gate", True), ("tied_input", True))  # fla/layers/hgrn.py
_DELTANET = (("heads", 4), ("norm", True), ("conv", 4), ("out_norm", True), ("q_norm", True))  # fla/layers/delta_net.py
_GATED_DELTAPRODUCT = (("heads", 6), ("norm", True), ("conv", 4), ("out_norm", True), ("out_gate", True),
                       ("q_norm", True))  # fla/layers/gated_deltaproduct.py
REFERENCE_BLOCKS: dict[str, tuple[tuple[str, Any], ...]] = {
    "diag-01": _HGRN, "diag-neg": _HGRN, "deltanet": _DELTANET, "deltanet-01": _DELTANET,
    "deltaproduct": _GATED_DELTAPRODUCT, "gated-deltaproduct": _GATED_DELTAPRODUCT,
    "rotation": (("norm", True),), "hawk": (("norm", True),),  # Orvieto et al. 2023; De et al. 2024
}  # the nonlinear RNNs, dense-lrnn and lti train as the bare cells (Deletang et al. 2023)

_BY_NAME: dict[str, Architecture] = {name: arch for arch in ARCHITECTURES for name in arch.names}


def names() -> tuple[str, ...]:
    """Every accepted name, canonical names first."""
    return (*(a.name for a in ARCHITECTURES), *(alias for a in ARCHITECTURES for alias in a.aliases))


def get(name: str) -> Architecture:
    """The architecture ``name`` (canonical or alias) denotes; ``UnknownArchitecture`` names the closest."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    close = difflib.get_close_matches(name, names(), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownArchitecture(f"unknown architecture {name!r}{hint}; known: "
                              + ", ".join(f"{a.name}" + (f" ({', '.join(a.aliases)})" if a.aliases else "")
                                          for a in ARCHITECTURES) + " (lsrl archs lists them)")


def with_path(path: str) -> tuple[Architecture, ...]:
    return tuple(a for a in ARCHITECTURES if a.has(path))


def require(name: str, path: str) -> Architecture:
    """``get(name)``, refused with ``NoPath`` when the class has no ``path`` here."""
    arch = get(name)
    if not arch.has(path):
        what = {"program": "no lsrl program backend", "automaton": "no automaton construction",
                "train": "no trainable module"}[path]
        alias = f" ({arch.name})" if name != arch.name else ""
        raise NoPath(arch.name, path, f"{name}{alias} has {what} here; classes with one: "
                     + ", ".join(a.name for a in with_path(path)))
    return arch


def spelled_like(arch: Architecture, typed: str) -> str:
    """The name of ``arch`` that reads like the alias ``typed`` (``mamba`` -> ``mamba-neg``), else its
    canonical name (always for a canonical ``typed``)."""
    if _BY_NAME[typed].name == typed:
        return arch.name
    stem = typed.split("-")[0]
    return next((n for n in arch.names if n.split("-")[0] == stem), arch.name)


def upgrade(arch: Architecture, can: Callable[[Architecture], bool]) -> Architecture | None:
    """The first class up ``arch``'s upgrade chain for which ``can`` holds (e.g. the classifier's verdict
    is constructible), or None."""
    seen = {arch.name}
    while arch.upgrade is not None and arch.upgrade not in seen:
        arch = _BY_NAME[arch.upgrade]
        seen.add(arch.name)
        if can(arch):
            return arch
    return None


def recurrence_class(family: str) -> type[nn.Module]:
    """The recurrence module of a module family (``ModelConfig.arch``)."""
    module, name = FAMILIES[family]
    return getattr(import_module(module), name)
