"""``RationalModel.step`` for many (configuration, symbol) pairs at once, in exact integer arithmetic.

Applies to the nonlinear RNNs (Elman ReLU/tanh, LSTM, GRU) whose weights are all dyadic rationals.
Every array of values is a pair (ints, e) meaning ints / 2^e exactly, ints an int64 array whose
entries are all below ``LIMIT`` = 2^53 in magnitude (checked after every operation; an operation whose
a-priori bound exceeds it raises ``Unbatchable`` and the caller falls back to ``RationalModel.step``).
Matrix products are float64 matrix products of such integers: every product and every partial sum,
in any order, is an integer of magnitude at most the row's sum of |terms|, which is checked < 2^53
before the product is taken, so float64 holds each exactly and the result is the exact integer.

Per pair, the batched step returns exactly what ``RationalModel.step`` returns (next configuration,
logits), and the bits ``Ledger.affine`` would record for that pair: for each linear map row, the
bit length of (sum of |terms|) / 2^t, t the least 2-adic valuation among the nonzero terms (that
quantity does not depend on the grid the integers are scaled to), maximised over rows and maps;
and the largest magnitude (sum of |terms|) of any row over the batch. Pairs whose tanh / sigmoid
pre-activations are not saturated (``exact_model``'s thresholds, same comparisons) are flagged
``bad``; the caller re-runs those through ``RationalModel.step``, which raises ``NotCertifiable``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from proofs.exact_model import SIGMOID_ONE, SIGMOID_ZERO, TANH_SATURATION, RationalModel, _scaled

LIMIT = 1 << 53
# True: the products are numpy int64 matrix products (no reliance on the BLAS; about 3x slower per
# product); False: float64 BLAS products, exact by the same < 2^53 bound for any classical
# (sum-of-products, any order, FMA or not) dgemm, which numpy's OpenBLAS is.
INTEGER_MATMUL = False
ARCHS = ("elman", "lstm", "gru")


class Unbatchable(Exception):
    """The batched integer path does not apply (non-dyadic weight, or a bound reaches 2^53)."""


def _check(ints: np.ndarray) -> np.ndarray:
    if ints.size and int(np.abs(ints).max()) >= LIMIT:
        raise Unbatchable("a value reaches 2^53 on its integer grid")
    return ints


def _ldexp_int(ints: np.ndarray, k: int) -> np.ndarray:
    """ints * 2^k for k >= 0, checked to stay below 2^53."""
    if k == 0:
        return ints
    if ints.size and int(np.abs(ints).max()) << k >= LIMIT:
        raise Unbatchable("a value reaches 2^53 on its integer grid")
    return ints << k


def _v2(ints: np.ndarray) -> np.ndarray:
    """2-adic valuation of each nonzero entry (entries 0 give -1: callers mask them)."""
    low = ints & -ints
    return np.frexp(low.astype(np.float64))[1] - 1


def _normalise(ints: np.ndarray, e: int) -> tuple[np.ndarray, int]:
    """The same values with the smallest exponent >= 0 (value-preserving)."""
    nz = ints[ints != 0]
    if e == 0 or nz.size == 0:
        return ints, 0 if nz.size == 0 else e
    t = min(int(_v2(nz).min()), e)
    return (ints >> t, e - t) if t else (ints, e)


@dataclass
class Vec:
    ints: np.ndarray  # (B, n) int64, or (n,) for a fixed vector
    e: int

    def add(self, other: "Vec") -> "Vec":
        e = max(self.e, other.e)
        return Vec(_check(_ldexp_int(self.ints, e - self.e) + _ldexp_int(other.ints, e - other.e)), e)

    def mul(self, other: "Vec") -> "Vec":
        a, b = self.ints, other.ints
        if a.size and b.size and int(np.abs(a).max()) * int(np.abs(b).max()) >= LIMIT:
            raise Unbatchable("a product reaches 2^53 on its integer grid")
        return Vec(a * b, self.e + other.e)

    def split(self, k: int) -> list["Vec"]:
        return [Vec(part, self.e) for part in np.split(self.ints, k, axis=-1)]


def _fixed(values: np.ndarray) -> Vec:
    scaled = _scaled(values)
    if scaled is None:
        raise Unbatchable("a weight is not a dyadic rational")
    ints, e = scaled
    if ints.size and max(abs(int(x)) for x in ints.ravel().tolist()) >= LIMIT:
        raise Unbatchable("a weight needs 53 or more bits on its grid")
    return Vec(ints.astype(np.int64), e)


class Matrix:
    """A weight matrix on its integer grid, with what the ledger needs: row sums of |w| and the
    0/1 indicator of the entries of each 2-adic valuation."""

    def __init__(self, values: np.ndarray):
        v = _fixed(values)
        self.ints, self.e = v.ints, v.e
        self.f = self.ints.astype(np.float64)
        self.abs_f = np.abs(self.f)
        self.max_row = int(np.abs(self.ints).sum(axis=1).max()) if self.ints.size else 0
        val = _v2(self.ints)
        nonzero = self.ints != 0
        self.classes = [(int(a), ((val == a) & nonzero).astype(np.float64)) for a in np.unique(val[nonzero])]


class BatchedModel:
    """Batched exact steps of a ``RationalModel`` (nonlinear RNN, dyadic weights)."""

    def __init__(self, exact: RationalModel):
        if exact.model.config.arch not in ARCHS:
            raise Unbatchable(f"no batched step for {exact.model.config.arch!r}")
        self.exact = exact
        self.nonlinearity = [exact.layer_config(i).nonlinearity if exact.model.config.arch == "elman" else None
                             for i in range(len(exact.model.blocks))]
        self.m: dict[str, Matrix] = {}
        self.b: dict[str, Vec] = {}
        for name, w in exact.weights.items():
            if w.ndim == 2:
                self.m[name] = Matrix(w)
            else:
                self.b[name] = _fixed(w)
        self.embedding = self.m["embedding.weight"]

    # -- the ledger's quantities, per pair ------------------------------------------------------
    def _affine(self, name: str, x: Vec, bias: Vec | None) -> Vec:
        w = self.m[name]
        rows = w.ints.shape[0]
        batch = x.ints.shape[0]
        if bias is None:
            bias = Vec(np.zeros(rows, dtype=np.int64), 0)
        g = max(w.e + x.e, bias.e)
        sp, sb = g - w.e - x.e, g - bias.e
        max_x = int(np.abs(x.ints).max()) if x.ints.size else 0
        max_b = int(np.abs(bias.ints).max()) if bias.ints.size else 0
        if ((w.max_row * max_x) << sp) + (max_b << sb) >= LIMIT:
            raise Unbatchable("a linear map's sum of |terms| reaches 2^53 on its integer grid")
        if INTEGER_MATMUL:
            out = ((x.ints @ w.ints.T) << sp) + (bias.ints << sb)  # no overflow: every partial sum < 2^53
            mag = ((np.abs(x.ints) @ np.abs(w.ints).T) << sp) + (np.abs(bias.ints) << sb)
            out, mag = out.astype(np.float64), mag.astype(np.float64)  # integers < 2^53: exact
        else:
            xf = x.ints.astype(np.float64)
            scale_p, scale_b = float(1 << sp), float(1 << sb)
            bf = bias.ints.astype(np.float64)
            out = (xf @ w.f.T) * scale_p + bf * scale_b  # exact: every partial sum is an integer < 2^53
            mag = (np.abs(xf) @ w.abs_f.T) * scale_p + np.abs(bf) * scale_b
        # least valuation among the nonzero terms w_ij x_j (and the bias) of each row, on the grid
        low = np.full((batch, rows), np.inf)
        if bias.ints.size:
            vb = np.where(bias.ints != 0, _v2(bias.ints) + sb, np.inf)
            low = np.minimum(low, np.broadcast_to(vb, low.shape))
        xnz = x.ints != 0
        vx = _v2(x.ints)
        for c in np.unique(vx[xnz]).tolist():
            xc = (xnz & (vx == c)).astype(np.float64)
            for a, wa in w.classes:
                hit = (xc @ wa.T) > 0
                low = np.where(hit, np.minimum(low, a + c + sp), low)
        positive = mag > 0
        if positive.any():
            bits = np.where(positive, np.frexp(mag)[1] - np.where(positive, low, 0), 0).astype(np.int64)
            self.bits = np.maximum(self.bits, bits.max(axis=1))
            self.max_mag = max(self.max_mag, Fraction(int(mag.max()), 1 << g))
        ints, e = _normalise(out.astype(np.int64), g)
        return Vec(ints, e)

    def _sat_check(self, v: Vec, bad: np.ndarray) -> None:
        self.bad |= bad.any(axis=1)

    def _tanh(self, v: Vec) -> Vec:
        t = min(int(TANH_SATURATION * (1 << v.e)), 1 << 62)
        x = v.ints
        self.bad |= ((x != 0) & (np.abs(x) < t)).any(axis=1)
        return Vec(np.sign(x).astype(np.int64), 0)

    def _sigmoid(self, v: Vec) -> Vec:
        one = SIGMOID_ONE * (1 << v.e)
        zero = SIGMOID_ZERO * (1 << v.e)
        assert one.denominator == 1 and zero.denominator == 1
        one, zero = min(int(one), 1 << 62), max(int(zero), -(1 << 62))
        x = v.ints
        self.bad |= ((x > zero) & (x < one)).any(axis=1)
        return Vec((x >= one).astype(np.int64), 0)

    @staticmethod
    def _relu(v: Vec) -> Vec:
        return Vec(np.maximum(v.ints, 0), v.e)

    # -- the step -------------------------------------------------------------------------------
    def step(self, states: list[Vec], symbols: np.ndarray):
        """One exact step for every row: ``states[layer]`` is (B, n_layer), ``symbols`` (B,). Returns
        (new states, logits, bits per row, the largest magnitude of the batch, bad rows)."""
        batch = len(symbols)
        self.bits = np.zeros(batch, dtype=np.int64)
        self.max_mag = Fraction(0)
        self.bad = np.zeros(batch, dtype=bool)
        stream = Vec(self.embedding.ints[symbols], self.embedding.e)
        arch = self.exact.model.config.arch
        new_states = []
        for i, state in enumerate(states):
            pre = f"blocks.{i}.recurrence."
            if arch == "elman":
                drive = self._affine(pre + "inp.weight", stream, self.b[pre + "inp.bias"])
                h = self._affine(pre + "recurrent.weight", state, drive)
                new = self._relu(h) if self.nonlinearity[i] == "relu" else self._tanh(h)
                y = new
            elif arch == "lstm":
                n = state.ints.shape[1] // 2
                h, c = Vec(state.ints[:, :n], state.e), Vec(state.ints[:, n:], state.e)
                drive = self._affine(pre + "weight_ih", stream, self.b[pre + "bias_ih"])
                i_, f, g, o = self._affine(pre + "weight_hh", h, drive.add(self.b[pre + "bias_hh"])).split(4)
                c = self._sigmoid(f).mul(c).add(self._sigmoid(i_).mul(self._tanh(g)))
                h = self._sigmoid(o).mul(self._tanh(c))
                e = max(h.e, c.e)
                new = Vec(np.concatenate([_ldexp_int(h.ints, e - h.e), _ldexp_int(c.ints, e - c.e)], axis=1), e)
                y = h
            else:  # gru
                x_r, x_z, x_n = self._affine(pre + "weight_ih", stream, self.b[pre + "bias_ih"]).split(3)
                h_r, h_z, h_n = self._affine(pre + "weight_hh", state, self.b[pre + "bias_hh"]).split(3)
                r, z = self._sigmoid(x_r.add(h_r)), self._sigmoid(x_z.add(h_z))
                nn = self._tanh(x_n.add(r.mul(h_n)))
                one_minus_z = Vec(1 - z.ints, 0)
                new = one_minus_z.mul(nn).add(z.mul(state))
                y = new
            new_states.append(new)
            stream = stream.add(self._affine(pre + "out.weight", y, self.b[pre + "out.bias"]))
            up = f"blocks.{i}.mlp.up.weight"
            if up in self.m:
                hidden = self._relu(self._affine(up, stream, self.b[f"blocks.{i}.mlp.up.bias"]))
                stream = stream.add(self._affine(f"blocks.{i}.mlp.down.weight", hidden,
                                                 self.b[f"blocks.{i}.mlp.down.bias"]))
        logits = self._affine("readout.weight", stream, self.b["readout.bias"])
        return new_states, logits, self.bits, self.max_mag, self.bad


# -- configurations as float64 rows (exact: every value is an integer < 2^53 over 2^e) -------------

def to_floats(v: Vec) -> np.ndarray:
    """The exact values as float64 (each ints < 2^53 scaled by 2^-e is a float64), -0.0 made +0.0."""
    if v.e > 900:
        raise Unbatchable("exponent too large for float64 keys")
    return np.ldexp(v.ints.astype(np.float64), -v.e) + 0.0


def from_floats(values: np.ndarray) -> Vec:
    """float64 rows of dyadic values back onto one integer grid (exact)."""
    for e in range(0, 64):
        scaled = np.ldexp(values, e)
        if np.all(scaled == np.floor(scaled)):
            if scaled.size and np.abs(scaled).max() >= LIMIT:
                raise Unbatchable("a state value needs 53 or more bits on its grid")
            return Vec(scaled.astype(np.int64), e)
    raise Unbatchable("a state value is not on a grid of 2^-63")


def fractions_to_floats(values) -> np.ndarray:
    """Exact float64 images of Fractions; ``Unbatchable`` if some value is not a float64."""
    images = {}
    for v in set(values):  # few distinct values: each converted and checked once
        f = float(v)
        if Fraction(f) != v:
            raise Unbatchable("a configuration value is not a float64")
        images[v] = f
    return np.array([images[v] for v in values], dtype=np.float64) + 0.0


# -- the loops certify and verify run over a frontier of pairs ------------------------------------

CHUNK_ROWS = 8192  # (configuration, symbol) rows evaluated per batch


class Frontier:
    """Configurations as float64 rows per layer, keyed by their bytes (exact, canonical)."""

    def __init__(self, batched: BatchedModel):
        self.batched = batched
        self.rows: list[list[np.ndarray]] = []  # [configuration] -> per-layer float64 row

    def add(self, layers: list[np.ndarray]) -> None:
        self.rows.append(layers)

    @staticmethod
    def key(layers: list[np.ndarray]) -> bytes:
        return b"".join(np.ascontiguousarray(r).tobytes() for r in layers)

    def evaluate(self, first: int, last: int, n_symbols: int):
        """Batched steps of configurations first..last-1 under every symbol, row (p - first) * S + a.
        Returns (per-row next-configuration float rows per layer, logits Vec, bits, max magnitude, bad)."""
        count = last - first
        n_layers = len(self.rows[first])
        states = [from_floats(np.repeat(np.stack([self.rows[p][l] for p in range(first, last)]), n_symbols, axis=0))
                  for l in range(n_layers)]
        symbols = np.tile(np.arange(n_symbols), count)
        new, logits, bits, mag, bad = self.batched.step(states, symbols)
        return [to_floats(v) for v in new], logits, bits, mag, bad


def margins(logits: Vec, labels: np.ndarray) -> np.ndarray:
    """Per row, label's logit minus the largest other logit, on the logits' grid (int64)."""
    ints = logits.ints
    rows = np.arange(ints.shape[0])
    if ints.shape[1] == 1:
        return None
    others = ints.copy()
    others[rows, labels] = np.iinfo(np.int64).min
    return ints[rows, labels] - others.max(axis=1)


def to_fraction_config(layers: list[np.ndarray], cache: dict[float, Fraction]) -> tuple[tuple[Fraction, ...], ...]:
    out = []
    for row in layers:
        values = []
        for x in row.tolist():
            f = cache.get(x)
            if f is None:
                f = cache[x] = Fraction(x)
            values.append(f)
        out.append(tuple(values))
    return tuple(out)
