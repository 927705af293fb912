"""Spectral certificates: every transition a layer uses has its eigenvalues in its class's allowed set.
Proof: docs/theorems.md#spectral-claims
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from automata.classify import ARCHITECTURES as CLASSIFIER_CLASSES
from automata.errors import LsrlInputError
from models import registry
from models.config import LayerConfig


def _gate_range(name: str) -> tuple[Fraction, Fraction]:
    """The gate range of the registry's architecture class ``name``, as fractions."""
    lo, hi = registry.get(name).gate_range
    return Fraction(lo), Fraction(hi)


# The diagonal classifier classes are the diagonal architecture classes of the same name (diag-01, diag-neg).
DIAGONAL_CLASSES = {a.name: _gate_range(a.name) for a in registry.ARCHITECTURES
                    if a.family == "diag" and a.classifier == a.name}
HOUSEHOLDER_RANGE = _gate_range("deltaproduct")
KNOWN_CLASSES = tuple(CLASSIFIER_CLASSES)
KIND_CLASSES = {"diagonal": tuple(DIAGONAL_CLASSES), "complex": ("diag-complex",), "householder": ("deltaproduct",),
                "matrix": ("dense-lrnn",)}  # the classes whose claim covers each recorded kind of transition
MAX_SYMPY_DIMENSION = 12
ISOLATION_EPS = Fraction(1, 2 ** 40)


class SpectralViolation(LsrlInputError):
    """A transition value outside its class's allowed set; the message names the layer and the value."""

    def __init__(self, layer: int, klass: str, message: str):
        super().__init__(f"layer {layer} ({klass}): {message}")
        self.layer = layer
        self.klass = klass


def layer_class(arch: str, layer: LayerConfig) -> str:
    """The classifier class whose spectral claim a layer of module family ``arch`` makes: that of the first
    class of ``models.registry`` with automaton constructions in this family whose range holds the layer's."""
    lo, hi = layer.gate_range
    for spec in registry.ARCHITECTURES:
        inside = spec.gate_range is None or spec.gate_range[0] <= lo <= hi <= spec.gate_range[1]
        if spec.family == arch and spec.automaton is not None and spec.classifier is not None and inside:
            return spec.classifier
    raise LsrlInputError(f"no spectral claim is defined for architecture {arch!r}")


def _interval(bounds: tuple[Fraction, Fraction]) -> str:
    return f"[{bounds[0]}, {bounds[1]}]"


def _sorted_strings(values: Iterable[Fraction]) -> list[str]:
    return [str(v) for v in sorted(set(values))]


def _check_diagonal(layer: int, klass: str, gates: tuple[Fraction, ...]) -> None:
    lo, hi = DIAGONAL_CLASSES[klass]
    for channel, g in enumerate(gates):
        if not lo <= g <= hi:
            raise SpectralViolation(layer, klass, f"gate {g} on channel {channel} is outside {_interval((lo, hi))}")


def _check_complex(layer: int, gates: tuple[Fraction, ...]) -> None:
    c = len(gates) // 2
    for channel, (u, w) in enumerate(zip(gates[:c], gates[c:])):
        if u * u + w * w > 1:
            raise SpectralViolation(layer, "diag-complex", f"gate {u} + {w}i on channel {channel} has modulus^2 "
                                                           f"{u * u + w * w} > 1")


def normalised_betas(keys: tuple[tuple[Fraction, ...], ...], betas: tuple[Fraction, ...]) -> list[Fraction]:
    """beta' = beta |k|^2 of each factor: the factor's one eigenvalue other than 1 is 1 - beta'."""
    return [beta * sum(x * x for x in k) for k, beta in zip(keys, betas)]


def _check_householder(layer: int, keys: tuple, betas: tuple, alpha: tuple[Fraction, ...]) -> None:
    lo, hi = HOUSEHOLDER_RANGE
    for j, b in enumerate(normalised_betas(keys, betas)):
        if not lo <= b <= hi:
            raise SpectralViolation(layer, "deltaproduct", f"factor {j} has beta |k|^2 = {b} outside "
                                                           f"{_interval(HOUSEHOLDER_RANGE)} (eigenvalue {1 - b})")
    for a in alpha:
        if not 0 <= a <= 1:
            raise SpectralViolation(layer, "deltaproduct", f"scalar decay alpha = {a} is outside [0, 1]")


def functional_spectrum(entries: tuple[Fraction, ...], n: int) -> dict[str, Any] | None:
    """Cycle lengths and number of zero eigenvalues of a 0/1 matrix with one 1 per column (the matrix of
    the map j -> row of column j's 1), or None for any other matrix."""
    image = []
    for j in range(n):
        nonzero = [i for i in range(n) if entries[i * n + j] != 0]
        if len(nonzero) != 1 or entries[nonzero[0] * n + j] != 1:
            return None
        image.append(nonzero[0])
    on_cycle, cycles = set(), []
    for start in range(n):
        seen, x = [], start
        while x not in seen and x not in on_cycle:
            seen.append(x)
            x = image[x]
        if x in seen:
            cycle = seen[seen.index(x):]
            on_cycle.update(cycle)
            cycles.append(len(cycle))
    return {"cycle_lengths": sorted(cycles), "zero_eigenvalues": n - len(on_cycle)}


def _roots_in_disk(poly: Any) -> bool:
    """True if every complex root of the squarefree rational polynomial is proved to lie in the closed
    unit disk: its isolating rectangles (real intervals) with rational corners are refined until every
    corner has modulus <= 1; False when that fails down to ``ISOLATION_EPS`` (outside, or undecided)."""
    import sympy  # here, not at the top: loading it costs a verify that does not need it half a second

    eps = Fraction(1, 2 ** 8)
    while eps >= ISOLATION_EPS:
        real, complex_ = poly.intervals(all=True, eps=sympy.Rational(eps.numerator, eps.denominator))
        boxes = [[(lo, 0), (hi, 0)] for (lo, hi), _ in real]
        boxes += [[(a, b) for a in (sympy.re(lo), sympy.re(hi)) for b in (sympy.im(lo), sympy.im(hi))]
                  for (lo, hi), _ in complex_]
        if all(sympy.Rational(x) ** 2 + sympy.Rational(y) ** 2 <= 1 for box in boxes for x, y in box):
            return True
        eps /= 2 ** 8
    return False


def general_spectrum(entries: tuple[Fraction, ...], n: int) -> dict[str, Any]:
    """The characteristic polynomial's factors over Q, each with the modulus claim proved for its roots."""
    if n > MAX_SYMPY_DIMENSION:
        raise LsrlInputError(f"a {n} x {n} transition matrix that is not a 0/1 map matrix: its spectrum is "
                             f"checked symbolically only up to {MAX_SYMPY_DIMENSION} x {MAX_SYMPY_DIMENSION}")
    import sympy

    x = sympy.Symbol("x")
    matrix = sympy.Matrix(n, n, [sympy.Rational(v.numerator, v.denominator) for v in entries])
    _, factors = sympy.factor_list(matrix.charpoly(x).as_expr(), x)
    described = []
    for factor, multiplicity in factors:
        poly = sympy.Poly(factor, x)
        if poly.degree() == 1 and poly.TC() == 0:
            kind = "zero"
        elif poly.is_cyclotomic:
            kind = "roots of unity"
        elif _roots_in_disk(poly):
            kind = "roots in the closed unit disk"
        else:
            kind = "a root outside the unit disk or undecided"
        described.append({"factor": str(factor), "multiplicity": int(multiplicity), "roots": kind})
    return {"charpoly_factors": sorted(described, key=lambda d: d["factor"])}


def dense_spectrum(entries: tuple[Fraction, ...], n: int) -> dict[str, Any]:
    return functional_spectrum(entries, n) or general_spectrum(entries, n)


def _check_dense(layer: int, entries: tuple[Fraction, ...], n: int) -> dict[str, Any]:
    spectrum = dense_spectrum(entries, n)
    bad = [f for f in spectrum.get("charpoly_factors", ()) if f["roots"].startswith("a root outside")]
    if bad:
        raise SpectralViolation(layer, "dense-lrnn", f"transition matrix {[str(v) for v in entries]} has a factor "
                                                     f"{bad[0]['factor']} of its characteristic polynomial with "
                                                     f"a root not proved inside the unit disk")
    return spectrum


def check_transition(layer: int, klass: str, transition: tuple) -> None:
    """Raise ``SpectralViolation`` if one recorded transition leaves the class's allowed set."""
    kind = transition[0]
    if klass not in KIND_CLASSES[kind]:
        raise SpectralViolation(layer, klass, f"the model uses {kind} transitions, which this class does not have")
    if kind == "diagonal":
        _check_diagonal(layer, klass, transition[1])
    elif kind == "complex":
        _check_complex(layer, transition[1])
    elif kind == "householder":
        _check_householder(layer, *transition[1:])
    elif kind == "matrix":
        _check_dense(layer, transition[1], transition[2])


@dataclass(frozen=True)
class LayerSpectrum:
    """The spectral claim of one layer over the recorded transitions, as it is written in the certificate."""

    layer: int
    klass: str
    transitions: frozenset[tuple]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layer": self.layer, "class": self.klass, "transitions": len(self.transitions)}
        if self.klass == "nonlinear-rnn":
            return {**out, "claim": "none: a nonlinear recurrence has no transition matrix whose spectrum "
                                    "the class restricts"}
        values = [t[1] for t in self.transitions]
        if self.klass in DIAGONAL_CLASSES:
            bounds = DIAGONAL_CLASSES[self.klass]
            return {**out, "claim": f"every gate (eigenvalue) of every reachable transition lies in {_interval(bounds)}",
                    "allowed": _interval(bounds), "gate_values": _sorted_strings(g for v in values for g in v)}
        if self.klass == "diag-complex":
            pairs = {(u, w) for v in values for u, w in zip(v[:len(v) // 2], v[len(v) // 2:])}
            moduli = {u * u + w * w for u, w in pairs}
            return {**out, "claim": "every complex gate a = u + i w of every reachable transition has |a|^2 <= 1",
                    "allowed": "|a|^2 <= 1", "gates": sorted(f"{u} + {w}i" for u, w in sorted(pairs)),
                    "squared_moduli": _sorted_strings(moduli), "unit_circle": moduli <= {Fraction(1)}}
        if self.klass == "deltaproduct":
            primes = {b for t in self.transitions for b in normalised_betas(t[1], t[2])}
            alphas = {a for t in self.transitions for a in t[3]}
            return {**out, "claim": "every Householder factor I - beta k k^T of every reachable token has "
                                    "beta |k|^2 in [0, 2] (eigenvalues 1 and 1 - beta |k|^2, in [-1, 1]); the "
                                    "token's product (times alpha in [0, 1]) has norm <= 1",
                    "allowed": f"beta |k|^2 in {_interval(HOUSEHOLDER_RANGE)}",
                    "normalised_betas": _sorted_strings(primes),
                    "factor_eigenvalues": _sorted_strings(1 - b for b in primes),
                    "decays": _sorted_strings(alphas)}
        spectra = {repr(dense_spectrum(t[1], t[2])): dense_spectrum(t[1], t[2]) for t in self.transitions}
        return {**out, "claim": "every eigenvalue of every reachable transition matrix has modulus <= 1 "
                                "(roots of unity and zeros for 0/1 map matrices)",
                "allowed": "|lambda| <= 1", "spectra": [spectra[k] for k in sorted(spectra)]}


def unchecked_layer_report(arch: str, layer_index: int, layer: LayerConfig, recorded: set[tuple]) -> dict[str, Any]:
    """A layer's spectral section without raising: ``within_class`` says whether every value passes,
    ``violation`` names the first that does not (for statements that are not certificates)."""
    klass = layer_class(arch, layer)
    out = LayerSpectrum(layer_index, klass, frozenset(recorded)).to_json()
    try:
        for t in recorded:
            check_transition(layer_index, klass, t)
    except SpectralViolation as err:
        return {**out, "within_class": False, "violation": str(err)}
    return {**out, "within_class": True}


def spectral_report(arch: str, layers: tuple[LayerConfig, ...], transitions: list[set[tuple]]) -> dict[str, Any]:
    """The certificate's ``spectral`` section: each layer's class, claim and the values it rests on,
    after checking every recorded transition (``SpectralViolation`` names the first that breaks)."""
    out = []
    for i, (layer, recorded) in enumerate(zip(layers, transitions)):
        klass = layer_class(arch, layer)
        for t in recorded:
            check_transition(i, klass, t)
        out.append(LayerSpectrum(i, klass, frozenset(recorded)).to_json())
    return {"rule": "checked in exact rational arithmetic over every transition recorded while exploring all "
                    "reachable configurations", "layers": out}
