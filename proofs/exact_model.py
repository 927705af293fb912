"""A compiled model re-evaluated in exact rational arithmetic, one time step at a time, with a ``Ledger`` of the bits
every float summation needs (docs/theorems.md#exact-certificates)."""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from automata.errors import LsrlInputError
from proofs.rational import MANTISSA_BITS, key, significant_bits_of, to_rational
from proofs.stored_model import StoredModel

if TYPE_CHECKING:
    from models.stack import RecurrentModel

Config = tuple[tuple[Fraction, ...], ...]



class NotCertifiable(LsrlInputError):
    """The model's computation leaves the exactly certifiable fragment (e.g. an unsaturated tanh)."""


def _scaled(values: np.ndarray) -> tuple[np.ndarray, int] | None:
    """(integers m, e) with values = m / 2^e exactly, as an object array of Python ints; None if
    some value is not a dyadic rational. Integer arithmetic only: each denominator divides 2^e."""
    flat = values.ravel().tolist()
    denominators = [x.denominator for x in flat]
    if any(d & (d - 1) for d in denominators):
        return None
    e = max(denominators, default=1).bit_length() - 1
    scale = 1 << e
    ints = np.empty(values.shape, dtype=object)
    ints.ravel()[:] = [x.numerator * (scale // d) for x, d in zip(flat, denominators)]
    return ints, e


@dataclass
class Ledger:
    """The worst case over all linear maps evaluated: bits needed for any summation order, and the
    largest magnitude of any value (state, pre-activation, logit). Arithmetic is exact: dyadic
    rationals are scaled to Python integers, multiplied and summed, and scaled back."""

    bits: int = 0
    max_magnitude: Fraction = Fraction(0)
    non_dyadic: bool = False

    def __post_init__(self) -> None:
        self._fixed: dict[int, tuple[np.ndarray, tuple[np.ndarray, int] | None]] = {}

    def fix(self, weights: dict[str, np.ndarray]) -> None:
        """Scale the model's weights to integers once; matrices computed during a step are scaled per call."""
        self._fixed = {id(w): (w, _scaled(w)) for w in weights.values()}

    def _weight(self, weight: np.ndarray) -> tuple[np.ndarray, int] | None:
        hit = self._fixed.get(id(weight))
        return hit[1] if hit is not None and hit[0] is weight else _scaled(weight)

    def affine(self, weight: np.ndarray, vector: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """``weight @ vector + bias`` exactly, recording the bits a float summation of it needs."""
        w_scaled, v_scaled = self._weight(weight), _scaled(vector)
        b_scaled = _scaled(bias) if bias is not None else (np.zeros(weight.shape[0], dtype=object) + 0, 0)
        if w_scaled is None or v_scaled is None or b_scaled is None:
            self.non_dyadic = True
            out = weight.dot(vector) if weight.shape[1] else np.full(weight.shape[0], Fraction(0), dtype=object)
            return out + bias if bias is not None else out
        (w, ew), (v, ev), (b, eb) = w_scaled, v_scaled, b_scaled
        # On the grid 2^-grid every term of row i (products w_ij v_j and the bias) is an integer; all
        # are multiples of 2^t_i, t_i the least 2-adic valuation among them (that of their bitwise OR),
        # so every partial sum of the row, in any order, is a multiple of 2^t_i bounded by
        # ``magnitude_i``: it needs bitlength(magnitude_i / 2^t_i) bits of mantissa.
        grid = max(ew + ev, eb)
        rows = weight.shape[0]
        used = np.flatnonzero(v != 0)
        terms = w[:, used] * v[used] if used.size else np.zeros((rows, 0), dtype=object)
        shift_p, shift_b = 2 ** (grid - ew - ev), 2 ** (grid - eb)
        out = terms.sum(axis=1) * shift_p + b * shift_b if used.size else b * shift_b
        magnitude = np.abs(terms).sum(axis=1) * shift_p + np.abs(b) * shift_b if used.size else np.abs(b) * shift_b
        for i, m in enumerate(magnitude.tolist()):
            if m:
                common = functools.reduce(operator.or_, (abs(x) for x in terms[i].tolist()), 0) * shift_p
                common |= abs(int(b[i])) * shift_b
                self.bits = max(self.bits, (int(m) >> ((common & -common).bit_length() - 1)).bit_length())
        worst = int(max(magnitude.tolist(), default=0))
        self.max_magnitude = max(self.max_magnitude, Fraction(worst, 2**grid))
        result = np.empty(len(out), dtype=object)
        result[:] = [Fraction(int(x), 2**grid) for x in out.tolist()]
        return result

    def exact_in(self, dtype: str) -> bool:
        return not self.non_dyadic and self.bits <= MANTISSA_BITS[dtype]


def _relu(v: np.ndarray) -> np.ndarray:
    return _vector([x if x > 0 else Fraction(0) for x in v.tolist()])


def _vector(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# Saturation thresholds from which the float functions round to exact values, in float32 and
# float64 alike (checked by tests/proofs/test_saturation.py on torch's implementations):
# tanh(x) = +-1 for |x| >= 25 (2e^{-50} < 2^-54); sigmoid(x) = 1 for x >= 40 (e^{-40} < 2^-54) and
# sigmoid(x) = 0 for x <= -750 (e^{-750} underflows float64's smallest subnormal, 2^-1074).
TANH_SATURATION = Fraction(25)
SIGMOID_ONE = Fraction(40)
SIGMOID_ZERO = Fraction(-750)


def _tanh(v: np.ndarray) -> np.ndarray:
    out = []
    for x in v.tolist():
        if x != 0 and abs(x) < TANH_SATURATION:
            raise NotCertifiable(f"tanh pre-activation {x} is not saturated (0 < |x| < {TANH_SATURATION})")
        out.append(Fraction((x > 0) - (x < 0)))  # tanh(0) = 0 exactly
    return _vector(out)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    out = []
    for x in v.tolist():
        if SIGMOID_ZERO < x < SIGMOID_ONE:
            raise NotCertifiable(f"sigmoid pre-activation {x} is not saturated")
        out.append(Fraction(int(x >= SIGMOID_ONE)))
    return _vector(out)


def _clamp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    lo, hi = Fraction(lo), Fraction(hi)
    return _vector([min(max(x, lo), hi) for x in v.tolist()])


# A step maps (layer's state, the stream entering the layer) to (new state, the vector the layer's
# ``out`` projection reads). ``spectral`` collects, per layer, the transition values the step used.
Step = Callable[["RationalModel", int, tuple[Fraction, ...], np.ndarray, Ledger], tuple[np.ndarray, np.ndarray]]


def _dense_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    p = self.params(layer)
    n = len(state)
    a = ledger.affine(p["to_a.weight"], x, p["to_a.bias"]).reshape(n, n)
    self.record(layer, ("matrix", key(a.ravel()), n))
    b = ledger.affine(p["to_b.weight"], x, p["to_b.bias"])
    new = ledger.affine(a, _vector(list(state)), b)
    return new, new


def _elman_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    p = self.params(layer)
    drive = ledger.affine(p["inp.weight"], x, p["inp.bias"])
    pre = ledger.affine(p["recurrent.weight"], _vector(list(state)), drive)
    new = _relu(pre) if self.layer_config(layer).nonlinearity == "relu" else _tanh(pre)
    return new, new


def _diagonal_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    p = self.params(layer)
    lo, hi = self.layer_config(layer).gate_range
    a = _clamp(ledger.affine(p["to_a.weight"], x, p["to_a.bias"]), lo, hi)
    self.record(layer, ("diagonal", key(a)))
    b = ledger.affine(p["to_b.weight"], x, p["to_b.bias"])
    new = ledger.affine(_diagonal_matrix(a), _vector(list(state)), b)
    return new, new


def _diagonal_matrix(values: np.ndarray) -> np.ndarray:
    n = len(values)
    m = np.full((n, n), Fraction(0), dtype=object)
    m[np.arange(n), np.arange(n)] = values
    return m


def _rotation_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    """Complex channels in Cartesian form: h <- a h + b with a = u + i w (the exact path)."""
    p = self.params(layer)
    c = len(state) // 2
    a = ledger.affine(p["to_a.weight"], x, p["to_a.bias"])
    self.record(layer, ("complex", key(a)))
    b = ledger.affine(p["to_b.weight"], x, p["to_b.bias"])
    u, w = _diagonal_matrix(a[:c]), _diagonal_matrix(a[c:])
    real_imag = np.block([[u, -w], [w, u]])  # (u + i w)(hr + i hi) as a real 2c x 2c map
    new = ledger.affine(real_imag, _vector(list(state)), b)
    return new, new


def _deltaproduct_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    """S <- S + k beta (v - S^T k) per factor (unnormalised keys, clamped beta: the exact path);
    the layer reads out S^T q. A scalar gate, if any, multiplies S by clamp(alpha, 0, 1) first."""
    p = self.params(layer)
    cfg = self.layer_config(layer)
    d_k = cfg.d_state
    d_v = cfg.d_value or cfg.d_state
    s = _vector(list(state)).reshape(d_k, d_v)
    q = ledger.affine(p["to_q.weight"], x, p["to_q.bias"])
    keys = ledger.affine(p["to_k.weight"], x, p["to_k.bias"]).reshape(cfg.n_h, d_k)
    values = ledger.affine(p["to_v.weight"], x, p["to_v.bias"]).reshape(cfg.n_h, d_v)
    betas = _clamp(ledger.affine(p["to_beta.weight"], x, p["to_beta.bias"]), *cfg.gate_range)
    decay: tuple[Fraction, ...] = ()
    if "to_alpha.weight" in p:
        alpha = _clamp(ledger.affine(p["to_alpha.weight"], x, p["to_alpha.bias"]), 0.0, 1.0)[0]
        s = s * alpha
        decay = (alpha,)
    self.record(layer, ("householder", tuple(key(k) for k in keys), key(betas), decay))
    for k, v, beta in zip(keys, values, betas.tolist()):
        predicted = ledger.affine(s.T, k, None)
        correction = ledger.affine(_diagonal_matrix(_vector([beta] * d_v)), v - predicted, None)
        s = s + np.outer(k, correction)
    return s.ravel(), ledger.affine(s.T, q, None)


def _lstm_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    """State (h, c); torch.nn.LSTM's equations with saturated gates (the exact path)."""
    p = self.params(layer)
    n = len(state) // 2
    h, c = _vector(list(state[:n])), _vector(list(state[n:]))
    drive = ledger.affine(p["weight_ih"], x, p["bias_ih"])
    i, f, g, o = np.split(ledger.affine(p["weight_hh"], h, drive + p["bias_hh"]), 4)
    c = _sigmoid(f) * c + _sigmoid(i) * _tanh(g)
    h = _sigmoid(o) * _tanh(c)
    return np.concatenate([h, c]), h


def _gru_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger):
    p = self.params(layer)
    h = _vector(list(state))
    x_r, x_z, x_n = np.split(ledger.affine(p["weight_ih"], x, p["bias_ih"]), 3)
    h_r, h_z, h_n = np.split(ledger.affine(p["weight_hh"], h, p["bias_hh"]), 3)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = _tanh(x_n + r * h_n)
    new = (1 - z) * n + z * h
    return new, new


STEPS: dict[str, Step] = {"dense-lrnn": _dense_step, "elman": _elman_step, "diag": _diagonal_step,
                          "rotation": _rotation_step, "deltaproduct": _deltaproduct_step,
                          "lstm": _lstm_step, "gru": _gru_step}

def _float64_arrays(model: RecurrentModel | StoredModel) -> dict[str, np.ndarray]:
    """The weights as float64 arrays (exact: every stored float is a float64), read without torch from a
    ``StoredModel``."""
    if isinstance(model, StoredModel):
        return dict(model.arrays)
    return {name: t.detach().double().cpu().numpy() for name, t in model.state_dict().items()}


class RationalModel:
    def __init__(self, model: RecurrentModel | StoredModel):
        config = model.config
        if not config.exact:
            raise NotCertifiable("only models on the exact (compiled) path can be certified")
        if config.arch not in STEPS:
            raise NotCertifiable(f"no exact rational step for architecture {config.arch!r} yet")
        self.model = model
        self.step_fn = STEPS[config.arch]
        self.arrays = _float64_arrays(model)
        self.weights = {name: to_rational(a) for name, a in self.arrays.items()}
        self.transitions: list[set[tuple]] = [set() for _ in config.layers]
        self.fresh: list[tuple[int, tuple]] = []  # recorded since the last ``take_fresh``

    def params(self, layer: int) -> dict[str, np.ndarray]:
        prefix = f"blocks.{layer}.recurrence."
        return {name[len(prefix):]: w for name, w in self.weights.items() if name.startswith(prefix)}

    def layer_config(self, layer: int):
        return self.model.config.layers[layer]

    def record(self, layer: int, transition: tuple) -> None:
        """Remember a transition value the model used (for the spectral certificate)."""
        if transition not in self.transitions[layer]:
            self.transitions[layer].add(transition)
            self.fresh.append((layer, transition))

    def take_fresh(self) -> list[tuple[int, tuple]]:
        """The (layer, transition) values first used since the last call."""
        fresh, self.fresh = self.fresh, []
        return fresh

    def initial(self) -> Config:
        """Every layer's initial state: h0 (and c0 for LSTM; the matrix s0 for DeltaProduct)."""
        out = []
        for i in range(len(self.model.config.layers)):
            p = self.params(i)
            state = p["s0"].ravel() if "s0" in p else np.concatenate([p["h0"], p["c0"]]) if "c0" in p else p["h0"]
            out.append(key(state))
        return tuple(out)

    def step(self, config: Config, symbol: int, ledger: Ledger) -> tuple[Config, np.ndarray]:
        """The next configuration and the logits after reading ``symbol`` in ``config``."""
        stream = self.weights["embedding.weight"][symbol].copy()
        states = []
        for i, state in enumerate(config):
            new, y = self.step_fn(self, i, state, stream, ledger)
            states.append(key(new))
            p = self.params(i)
            stream = stream + ledger.affine(p["out.weight"], y, p["out.bias"])
            if f"blocks.{i}.mlp.up.weight" in self.weights:
                w = self.weights
                hidden = _relu(ledger.affine(w[f"blocks.{i}.mlp.up.weight"], stream, w[f"blocks.{i}.mlp.up.bias"]))
                stream = stream + ledger.affine(w[f"blocks.{i}.mlp.down.weight"], hidden, w[f"blocks.{i}.mlp.down.bias"])
        logits = ledger.affine(self.weights["readout.weight"], stream, self.weights["readout.bias"])
        return tuple(states), logits

    def weights_fit(self, dtype: str) -> bool:
        """Every weight is exactly a ``dtype`` number (read from their float64 values, which are exact)."""
        return all(significant_bits_of(a).max(initial=0) <= MANTISSA_BITS[dtype] for a in self.arrays.values())
