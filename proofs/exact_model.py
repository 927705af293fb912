"""A compiled model re-evaluated in exact rational arithmetic, one time step at a time.

``RationalModel`` mirrors ``models.stack.RecurrentModel``'s exact path: embedding, then per block
the recurrence step, its output projection added to the residual stream, the optional MLP, and
the readout. A configuration is the tuple of every layer's recurrent state. Each linear map is
also recorded in a ``Ledger`` that bounds the bits any float summation of it needs, which decides
the dtypes in which the float model computes exactly what the rational model computes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from automata.errors import LsrlInputError
from models.stack import RecurrentModel
from proofs.rational import MANTISSA_BITS, dyadic_exponent, fits, key, to_rational

Config = tuple[tuple[Fraction, ...], ...]

# |x| from which tanh and sigmoid round to exactly +-1 / 1 (and sigmoid to 0 from below for
# float32) in IEEE binary32 and binary64: tanh(x) = 1 - 2e^{-2x}/(1+e^{-2x}) and 2e^{-2*19.1} < 2^-54.
SATURATION = Fraction(25)


class NotCertifiable(LsrlInputError):
    """The model's computation leaves the exactly certifiable fragment (e.g. an unsaturated tanh)."""


def _scaled(values: np.ndarray) -> tuple[np.ndarray, int] | None:
    """(integers m, e) with values = m / 2^e exactly, as an object array of Python ints; None if
    some value is not a dyadic rational."""
    exponents = [dyadic_exponent(x) for x in values.ravel().tolist()]
    if None in exponents:
        return None
    e = max(exponents, default=0)
    ints = np.empty(values.shape, dtype=object)
    ints.ravel()[:] = [int(x * 2**e) for x in values.ravel().tolist()]
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
        self._cache: dict[int, tuple[np.ndarray, tuple[np.ndarray, int] | None]] = {}

    def _weight(self, weight: np.ndarray) -> tuple[np.ndarray, int] | None:
        hit = self._cache.get(id(weight))
        if hit is None or hit[0] is not weight:
            hit = (weight, _scaled(weight))
            self._cache[id(weight)] = hit
        return hit[1]

    def affine(self, weight: np.ndarray, vector: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """``weight @ vector + bias`` exactly, recording the bits a float summation of it needs."""
        w_scaled, v_scaled = self._weight(weight), _scaled(vector)
        b_scaled = _scaled(bias) if bias is not None else (np.zeros(weight.shape[0], dtype=object) + 0, 0)
        if w_scaled is None or v_scaled is None or b_scaled is None:
            self.non_dyadic = True
            out = weight.dot(vector) if weight.shape[1] else np.full(weight.shape[0], Fraction(0), dtype=object)
            return out + bias if bias is not None else out
        (w, ew), (v, ev), (b, eb) = w_scaled, v_scaled, b_scaled
        # Every product is a multiple of 2^-(ew + ev) and every bias entry of 2^-eb, so every
        # partial sum, in any order, is an integer multiple of 2^-grid bounded by ``magnitude``.
        grid = max(ew + ev, eb)
        used = np.flatnonzero(v != 0)
        products = w[:, used].dot(v[used]) if used.size else np.zeros(weight.shape[0], dtype=object) + 0
        sizes = np.abs(w[:, used]).dot(np.abs(v[used])) if used.size else np.zeros(weight.shape[0], dtype=object) + 0
        out = products * 2 ** (grid - ew - ev) + b * 2 ** (grid - eb)
        magnitude = sizes * 2 ** (grid - ew - ev) + np.abs(b) * 2 ** (grid - eb)
        worst = int(max(magnitude.tolist(), default=0))
        self.bits = max(self.bits, worst.bit_length())
        self.max_magnitude = max(self.max_magnitude, Fraction(worst, 2**grid))
        result = np.empty(len(out), dtype=object)
        result[:] = [Fraction(int(x), 2**grid) for x in out.tolist()]
        return result

    def exact_in(self, dtype: str) -> bool:
        return not self.non_dyadic and self.bits <= MANTISSA_BITS[dtype]


def _relu(v: np.ndarray) -> np.ndarray:
    return np.array([x if x > 0 else Fraction(0) for x in v.tolist()], dtype=object)


def _saturated_tanh(v: np.ndarray) -> np.ndarray:
    out = []
    for x in v.tolist():
        if x == 0:
            out.append(Fraction(0))  # tanh(0) = 0 exactly in every float format
            continue
        if abs(x) < SATURATION:
            raise NotCertifiable(f"tanh pre-activation {x} is not saturated (|x| < {SATURATION})")
        out.append(Fraction(1 if x > 0 else -1))
    return np.array(out, dtype=object)


Step = Callable[["RationalModel", int, tuple[Fraction, ...], np.ndarray, Ledger], np.ndarray]


def _dense_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger) -> np.ndarray:
    p = self.params(layer)
    n = len(state)
    a = ledger.affine(p["to_a.weight"], x, p["to_a.bias"]).reshape(n, n)
    b = ledger.affine(p["to_b.weight"], x, p["to_b.bias"])
    return ledger.affine(a, np.array(state, dtype=object), b)


def _elman_step(self: RationalModel, layer: int, state: tuple, x: np.ndarray, ledger: Ledger) -> np.ndarray:
    p = self.params(layer)
    drive = ledger.affine(p["inp.weight"], x, p["inp.bias"])
    pre = ledger.affine(p["recurrent.weight"], np.array(state, dtype=object), drive)
    nonlinearity = self.model.config.layers[layer].nonlinearity
    return _relu(pre) if nonlinearity == "relu" else _saturated_tanh(pre)


STEPS: dict[str, Step] = {"dense-lrnn": _dense_step, "elman": _elman_step}


class RationalModel:
    def __init__(self, model: RecurrentModel):
        config = model.config
        if not config.exact:
            raise NotCertifiable("only models on the exact (compiled) path can be certified")
        if config.arch not in STEPS:
            raise NotCertifiable(f"no exact rational step for architecture {config.arch!r} yet")
        self.model = model
        self.step_fn = STEPS[config.arch]
        self.weights = {name: to_rational(t) for name, t in model.state_dict().items()}

    def params(self, layer: int) -> dict[str, np.ndarray]:
        prefix = f"blocks.{layer}.recurrence."
        return {name[len(prefix):]: w for name, w in self.weights.items() if name.startswith(prefix)}

    def initial(self) -> Config:
        return tuple(key(self.weights[f"blocks.{i}.recurrence.h0"]) for i in range(len(self.model.blocks)))

    def step(self, config: Config, symbol: int, ledger: Ledger) -> tuple[Config, np.ndarray]:
        """The next configuration and the logits after reading ``symbol`` in ``config``."""
        stream = self.weights["embedding.weight"][symbol].copy()
        states = []
        for i, state in enumerate(config):
            new = self.step_fn(self, i, state, stream, ledger)
            states.append(key(new))
            p = self.params(i)
            stream = stream + ledger.affine(p["out.weight"], new, p["out.bias"])
            if f"blocks.{i}.mlp.up.weight" in self.weights:
                w = self.weights
                hidden = _relu(ledger.affine(w[f"blocks.{i}.mlp.up.weight"], stream, w[f"blocks.{i}.mlp.up.bias"]))
                stream = stream + ledger.affine(w[f"blocks.{i}.mlp.down.weight"], hidden, w[f"blocks.{i}.mlp.down.bias"])
        logits = ledger.affine(self.weights["readout.weight"], stream, self.weights["readout.bias"])
        return tuple(states), logits

    def weights_fit(self, dtype: str) -> bool:
        return all(fits(w.ravel().tolist(), dtype) for w in self.weights.values())
