"""``RationalModel.step`` for many (configuration, symbol) pairs at once, in exact integer arithmetic on dyadic grids (why
it is exact: docs/theorems.md#certificates-proofs)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from proofs.exact_model import SIGMOID_ONE, SIGMOID_ZERO, TANH_SATURATION, RationalModel

LIMIT = 1 << 53  # Why: docs/theorems.md#certificates-proofs
# True: the products are numpy int64 matrix products (no reliance on the BLAS; about 3x slower per
# product); False: float64 BLAS products, exact by the same < 2^53 bound for any classical
# (sum-of-products, any order, FMA or not) dgemm, which numpy's OpenBLAS is.
INTEGER_MATMUL = False
ARCHS = ("elman", "lstm", "gru", "deltaproduct", "dense-lrnn")


class Unbatchable(Exception):
    """The batched integer path does not apply (non-dyadic weight, or a bound reaches 2^53)."""


def _largest(ints: np.ndarray) -> int:
    """The largest magnitude of the entries (0 for none), without an array of magnitudes."""
    return max(int(ints.max()), -int(ints.min())) if ints.size else 0


def _check(ints: np.ndarray) -> np.ndarray:
    if _largest(ints) >= LIMIT:
        raise Unbatchable("a value reaches 2^53 on its integer grid")
    return ints


def _ldexp_int(ints: np.ndarray, k: int) -> np.ndarray:
    """ints * 2^k for k >= 0, checked to stay below 2^53."""
    if k == 0:
        return ints
    if _largest(ints) << k >= LIMIT:
        raise Unbatchable("a value reaches 2^53 on its integer grid")
    return ints << k


def _v2(ints: np.ndarray) -> np.ndarray:
    """2-adic valuation of each nonzero entry (entries 0 give -1: callers mask them)."""
    low = ints & -ints
    return np.frexp(low.astype(np.float64))[1] - 1


def _normalise(ints: np.ndarray, e: int) -> tuple[np.ndarray, int]:
    """The same values with the smallest exponent >= 0 (value-preserving). The least 2-adic valuation of the
    nonzero entries is that of their bitwise OR (x and -x have the same lowest set bit)."""
    low = int(np.bitwise_or.reduce(ints, axis=None)) if ints.size else 0
    if low == 0:
        return ints, 0
    t = min((low & -low).bit_length() - 1, e)
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
        if _largest(a) * _largest(b) >= LIMIT:
            raise Unbatchable("a product reaches 2^53 on its integer grid")
        return Vec(a * b, self.e + other.e)

    def split(self, k: int) -> list["Vec"]:
        return [Vec(part, self.e) for part in np.split(self.ints, k, axis=-1)]

    def neg(self) -> "Vec":
        return Vec(-self.ints, self.e)

    def clamp(self, lo: Fraction, hi: Fraction) -> "Vec":
        """min(max(x, lo), hi) exactly, on a grid fine enough for lo and hi (both dyadic)."""
        e = max(self.e, _exponent(lo), _exponent(hi))
        ints = _ldexp_int(self.ints, e - self.e)
        return Vec(np.clip(ints, int(lo * (1 << e)), int(hi * (1 << e))), e)


def _fractions(ints: np.ndarray, e: int) -> tuple[Fraction, ...]:
    """The exact values ints / 2^e of one row, as ``RationalModel`` holds them."""
    return tuple(Fraction(int(x), 1 << e) for x in ints.tolist())


def _exponent(value: Fraction) -> int:
    d = value.denominator
    if d & (d - 1):
        raise Unbatchable(f"{value} is not a dyadic rational")
    return d.bit_length() - 1


def _fixed(values: np.ndarray) -> Vec:
    """A weight array given by its float64 values (each exactly its rational value) on the coarsest integer
    grid that holds it: a nonzero value M 2^(k - 53), M a 53-bit integer with t trailing zero bits, needs
    the grid 2^-(53 - k - t)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise Unbatchable("a weight is not finite")
    fraction, k = np.frexp(values)
    mantissa = np.ldexp(fraction, 53).astype(np.int64)
    nonzero = mantissa != 0
    t = np.frexp((mantissa & -mantissa).astype(np.float64))[1] - 1
    e = int(np.maximum(53 - k - t, 0)[nonzero].max(initial=0))
    if e > 1000:
        raise Unbatchable("a weight needs a grid finer than 2^-1000")
    ints = np.ldexp(values, e)
    if ints.size and np.abs(ints).max() >= LIMIT:
        raise Unbatchable("a weight needs 53 or more bits on its grid")
    return Vec(ints.astype(np.int64), e)


_HASH = np.random.default_rng(0).integers(1, 1 << 62, size=4096, dtype=np.int64) | 1


def _hashed_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(first, inverse): the first row of each distinct value and each row's distinct index (None when the
    rows are too wide to hash). Rows are grouped by a wrapping int64 hash and every row is then compared with
    its group's first row, so a collision only costs the grouping (None), never a wrong answer."""
    if rows.ndim != 2 or rows.shape[1] > len(_HASH) or len(rows) < 2:
        return None
    with np.errstate(over="ignore"):
        hashes = rows @ _HASH[:rows.shape[1]]
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    return (first, inverse) if np.array_equal(rows[first][inverse], rows) else None


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``_hashed_rows`` when at most half the rows are distinct (None otherwise)."""
    hashed = _hashed_rows(rows)
    return hashed if hashed is not None and 2 * len(hashed[0]) <= len(rows) else None


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0)``'s first indices and inverse (distinct rows in lexicographic order), through
    ``_hashed_rows`` (a sort of one int64 per row instead of one of whole rows) when it applies."""
    hashed = _hashed_rows(rows)
    if hashed is None:
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inverse.ravel()
    first, inverse = hashed
    order = np.lexsort(rows[first].T[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse]


def _partial_affine(w: "Matrix", x: np.ndarray, columns: np.ndarray, bias: np.ndarray | None, sp: int, sb: int):
    """Over the given columns of ``w`` (and the bias, if given), per row of ``x``: the sum of the terms,
    the sum of their magnitudes, and their least 2-adic valuation (inf if all are 0), on the grid 2^-g."""
    if INTEGER_MATMUL:
        wi = w.ints[:, columns]
        out = ((x @ wi.T) << sp).astype(np.float64)  # no overflow: every partial sum < 2^53; exact as float64
        mag = ((np.abs(x) @ np.abs(wi).T) << sp).astype(np.float64)
    else:
        xf, scale_p = x.astype(np.float64), float(1 << sp)
        f, abs_f, _ = w.selected(columns)
        out = (xf @ f) * scale_p  # exact: every partial sum is an integer < 2^53
        mag = (np.abs(xf) @ abs_f) * scale_p
    low = np.full(out.shape, np.inf)
    if bias is not None:
        bf, scale_b = bias.astype(np.float64), float(1 << sb)
        out, mag = out + bf * scale_b, mag + np.abs(bf) * scale_b
        low = np.minimum(low, np.where(bias != 0, _v2(bias) + sb, np.inf))
    nonzero = x != 0
    valuation = _v2(x)
    for c in np.unique(valuation[nonzero]).tolist():
        xc = (nonzero & (valuation == c)).astype(np.float64)
        for a, wc in w.selected(columns)[2]:
            hit = (xc @ wc) > 0
            low = np.where(hit, np.minimum(low, a + c + sp), low)
    return out.astype(np.int64), mag, low


def _combined(first: tuple, second: tuple, period: int | None) -> tuple[np.ndarray | None, tuple]:
    """The symbol group's and the other group's (row -> group row or None for each row its own, (sums, magnitudes,
    least valuations)) as one: per distinct pair of group rows (per row, index None, when most pairs are
    distinct), the sums and magnitudes added (exact: integers whose total is below 2^53) and the minimum of the
    valuations; with each row's pair. ``period``: row b reads symbol b mod period (the symbol group's rows are
    then broadcast, not gathered)."""
    (i, (o1, m1, l1)), (j, (o2, m2, l2)) = first, second
    j = np.arange(len(o2)) if j is None else j
    pairs, inverse = np.unique(i * len(o2) + j, return_inverse=True)
    if 2 * len(pairs) <= len(i):
        a, b = pairs // len(o2), pairs % len(o2)
        return inverse.ravel(), (o1[a] + o2[b], m1[a] + m2[b], np.minimum(l1[a], l2[b]))
    if period is None:
        return None, (o1[i] + o2[j], m1[i] + m2[j], np.minimum(l1[i], l2[j]))
    second_rows = second[0] is None

    def tiled(rows: np.ndarray, symbol_rows: np.ndarray, op) -> np.ndarray:
        mine = rows if second_rows else rows[j]
        return op(mine.reshape(-1, period, mine.shape[1]), symbol_rows[None]).reshape(mine.shape)

    return None, (tiled(o2, o1, np.add), tiled(m2, m1, np.add), tiled(l2, l1, np.minimum))


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
        self._selected: dict[bytes, tuple] = {}

    def selected(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, np.ndarray]]]:
        """The transposed float64 matrix, its magnitudes and its valuation classes over the masked ``columns``
        (made once per mask: a batch's column groups repeat from chunk to chunk)."""
        key = np.packbits(columns).tobytes()
        if key not in self._selected:
            self._selected[key] = (np.ascontiguousarray(self.f[:, columns].T),
                                   np.ascontiguousarray(self.abs_f[:, columns].T),
                                   [(a, np.ascontiguousarray(wc[:, columns].T)) for a, wc in self.classes])
        return self._selected[key]


class BatchedModel:
    """Batched exact steps of a ``RationalModel`` (nonlinear RNN, dyadic weights)."""

    def __init__(self, exact: RationalModel):
        if exact.model.config.arch not in ARCHS:
            raise Unbatchable(f"no batched step for {exact.model.config.arch!r}")
        if any(name.endswith("to_alpha.weight") for name in exact.arrays):
            raise Unbatchable("a gated DeltaProduct layer (scalar decay): left to the one-step path")
        self.exact = exact
        self.nonlinearity = [exact.layer_config(i).nonlinearity if exact.model.config.arch == "elman" else None
                             for i in range(len(exact.model.config.layers))]
        self.m: dict[str, Matrix] = {}
        self.b: dict[str, Vec] = {}
        for name, w in exact.arrays.items():
            if w.ndim == 2:
                self.m[name] = Matrix(w)
            else:
                self.b[name] = _fixed(w)
        self.embedding = self.m["embedding.weight"]
        self.transition_ids: list[dict[tuple, int]] = [{} for _ in exact.model.config.layers]
        self.transition_values: list[list[tuple]] = [[] for _ in exact.model.config.layers]

    # -- the ledger's quantities, per pair ------------------------------------------------------
    def _affine(self, name: str, x: Vec, bias: Vec | None) -> Vec:
        """``weight @ x + bias`` per row, recording the ledger's quantities. A row's sum, magnitude and
        least valuation are sums (and a minimum) over its columns, so they are computed per group of
        columns on the group's distinct rows only and combined once per distinct pair of group rows: the
        columns that depend on the symbol alone (with a fixed bias), and the others (with a per-row bias)."""
        w = self.m[name]
        rows = w.ints.shape[0]
        if bias is None:
            bias = Vec(np.zeros(rows, dtype=np.int64), 0)
        g = max(w.e + x.e, bias.e)
        sp, sb = g - w.e - x.e, g - bias.e
        max_x, max_b = _largest(x.ints), _largest(bias.ints)
        if ((w.max_row * max_x) << sp) + (max_b << sb) >= LIMIT:
            raise Unbatchable("a linear map's sum of |terms| reaches 2^53 on its integer grid")
        parts = [(index, _partial_affine(w, x_part, columns, b_part, sp, sb))
                 for index, x_part, columns, b_part in self._column_groups(x.ints, bias.ints)]
        index, (out, mag, low) = parts[0] if len(parts) == 1 else _combined(*parts, self.period)
        if out.size:
            # a row of zero magnitude has only zero terms (low = inf): its bits are 0
            bits = np.maximum((np.frexp(mag)[1] - low).max(axis=1), 0).astype(np.int64)
            self.bits = np.maximum(self.bits, bits if index is None else bits[index])
            self.max_mag = max(self.max_mag, Fraction(int(mag.max()), 1 << g))
        ints, e = _normalise(out, g)  # every distinct row is some row's: the same grid
        return Vec(ints if index is None else ints[index], e)

    def _column_groups(self, x: np.ndarray, bias: np.ndarray):
        """(row -> group row, the group's distinct rows, its column mask, its bias or None) for the columns
        determined by the symbol (rows: one per symbol) and for the rest (rows: the distinct ones); columns
        of zeros hold no term and are in neither. A fixed bias goes with the first group."""
        slot, first_of = self.symbol_rows
        used = x.any(axis=0)
        if self.period is None:
            by_symbol = used & np.all(x == x[first_of[slot]], axis=0)
        else:
            blocks = x.reshape(-1, self.period, x.shape[1])
            by_symbol = used & np.all(blocks == blocks[:1], axis=(0, 1))
        rest = used & ~by_symbol
        fixed_bias = bias.ndim == 1
        has_rest = bool(rest.any()) or not fixed_bias
        groups = []
        if by_symbol.any() or not has_rest:
            groups.append((slot, x[first_of][:, by_symbol], by_symbol, bias if fixed_bias else None))
        if has_rest:
            part = np.concatenate([x[:, rest], bias], axis=1) if not fixed_bias else x[:, rest]
            distinct = _distinct_rows(part)
            index, chosen = (None, slice(None)) if distinct is None else (distinct[1], distinct[0])
            rest_bias = bias[chosen] if not fixed_bias else None if groups else bias
            groups.append((index, x[chosen][:, rest], rest, rest_bias))
        return groups

    def _matrix_affine(self, w: Vec, x: Vec, bias: Vec | None = None) -> Vec:
        """Per row b, ``w[b] @ x[b] + bias[b]`` for a matrix that depends on the row (w (B, r, c), x (B, c),
        bias (B, r) or None), recording the bits and magnitude ``Ledger.affine`` records for it: the terms
        are formed explicitly, so their least valuation is read off directly. A bias is one more column,
        read against x = 1 (the same terms as the ledger's)."""
        if bias is not None:
            e = max(w.e, bias.e - x.e)
            columns = np.concatenate([_ldexp_int(w.ints, e - w.e), _ldexp_int(bias.ints, e + x.e - bias.e)[:, :, None]],
                                     axis=2)
            one = np.full((len(x.ints), 1), 1, dtype=np.int64)
            return self._matrix_affine(Vec(columns, e), Vec(np.concatenate([x.ints, _ldexp_int(one, x.e)], axis=1), x.e))
        if w.ints.size == 0 or x.ints.size == 0:
            return Vec(np.zeros(w.ints.shape[:2], dtype=np.int64), 0)
        if _largest(w.ints) * _largest(x.ints) * w.ints.shape[2] >= LIMIT:
            raise Unbatchable("a state-dependent product reaches 2^53 on its integer grid")
        terms = w.ints * x.ints[:, None, :]
        out, mag = terms.sum(axis=2), np.abs(terms).sum(axis=2)
        low = np.where(terms != 0, _v2(terms), 1 << 30).min(axis=2)
        positive = mag > 0
        if positive.any():
            bits = np.where(positive, np.frexp(mag.astype(np.float64))[1] - low, 0)
            self.bits = np.maximum(self.bits, bits.max(axis=1))
        self.max_mag = max(self.max_mag, Fraction(int(mag.max()), 1 << (w.e + x.e)))
        return Vec(*_normalise(out, w.e + x.e))

    def _transitions(self, layer: int, parts: list[Vec], make) -> None:
        """Record, per row, which transition value the layer used: ``parts`` (each (B, n)) determine it and
        ``make`` turns one row of each into the tuple ``RationalModel.record`` stores. Values are numbered
        once per model (``self.transition_values[layer]``), so each is built and checked once."""
        joined = np.concatenate([p.ints.reshape(len(p.ints), -1) for p in parts], axis=1)
        first, inverse = _unique_rows(joined)
        grids = tuple(p.e for p in parts)
        known, values = self.transition_ids[layer], self.transition_values[layer]
        numbers = []
        for b in first.tolist():
            key = (grids, joined[b].tobytes())
            if key not in known:
                known[key] = len(values)
                values.append(make(*(p.ints.reshape(len(p.ints), -1)[b] for p in parts)))
            numbers.append(known[key])
        self.used.append((layer, np.asarray(numbers, dtype=np.int64)[inverse], values))

    def _deltaproduct(self, i: int, state: Vec, stream: Vec) -> tuple[Vec, Vec]:
        """``exact_model._deltaproduct_step`` on every row: S <- S + k beta (v - S^T k) per factor."""
        pre = f"blocks.{i}.recurrence."
        cfg = self.exact.layer_config(i)
        d_k, d_v, batch = cfg.d_state, cfg.d_value or cfg.d_state, len(stream.ints)
        s = Vec(state.ints.reshape(batch, d_k, d_v), state.e)
        q = self._affine(pre + "to_q.weight", stream, self.b[pre + "to_q.bias"])
        keys = self._affine(pre + "to_k.weight", stream, self.b[pre + "to_k.bias"])
        values = self._affine(pre + "to_v.weight", stream, self.b[pre + "to_v.bias"])
        lo, hi = (Fraction(g) for g in cfg.gate_range)
        betas = self._affine(pre + "to_beta.weight", stream, self.b[pre + "to_beta.bias"]).clamp(lo, hi)

        def transition(k: np.ndarray, beta: np.ndarray) -> tuple:
            return ("householder", tuple(_fractions(row, keys.e) for row in k.reshape(cfg.n_h, d_k)),
                    _fractions(beta, betas.e), ())

        self._transitions(i, [keys, betas], transition)
        for h in range(cfg.n_h):
            k = Vec(keys.ints[:, h * d_k:(h + 1) * d_k], keys.e)
            v = Vec(values.ints[:, h * d_v:(h + 1) * d_v], values.e)
            predicted = self._matrix_affine(Vec(s.ints.transpose(0, 2, 1), s.e), k)
            beta = Vec(np.repeat(betas.ints[:, h:h + 1], d_v, axis=1), betas.e)
            correction = self._diagonal_affine(beta, v.add(predicted.neg()))
            s = s.add(Vec(k.ints[:, :, None], k.e).mul(Vec(correction.ints[:, None, :], correction.e)))
        y = self._matrix_affine(Vec(s.ints.transpose(0, 2, 1), s.e), q)
        return Vec(s.ints.reshape(batch, d_k * d_v), s.e), y

    def _dense(self, i: int, state: Vec, stream: Vec) -> Vec:
        """``exact_model._dense_step`` on every row: h <- A(x) h + B(x), A the n x n matrix ``to_a`` gives."""
        pre = f"blocks.{i}.recurrence."
        batch, n = state.ints.shape
        a = self._affine(pre + "to_a.weight", stream, self.b[pre + "to_a.bias"])
        self._transitions(i, [a], lambda values: ("matrix", _fractions(values, a.e), n))
        b = self._affine(pre + "to_b.weight", stream, self.b[pre + "to_b.bias"])
        return self._matrix_affine(Vec(a.ints.reshape(batch, n, n), a.e), state, b)

    def _diagonal_affine(self, diagonal: Vec, x: Vec) -> Vec:
        """``Ledger.affine(diag(d), x, None)`` per row: the same terms as the full matrix (its zeros add
        nothing to a row's sum, magnitude or least valuation)."""
        n = diagonal.ints.shape[1]
        full = np.zeros((len(diagonal.ints), n, n), dtype=np.int64)
        full[:, np.arange(n), np.arange(n)] = diagonal.ints
        return self._matrix_affine(Vec(full, diagonal.e), x)

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
        (new states, logits, bits per row, the largest magnitude of the batch, bad rows); ``self.used``
        then lists, per linear layer, (layer, each row's transition number, the layer's transition values)."""
        batch = len(symbols)
        self.bits = np.zeros(batch, dtype=np.int64)
        self.max_mag = Fraction(0)
        self.bad = np.zeros(batch, dtype=bool)
        self.used: list[tuple[int, np.ndarray, list[tuple]]] = []
        _, first_of, index = np.unique(symbols, return_index=True, return_inverse=True)
        self.symbol_rows = (index.ravel(), first_of)  # row -> its symbol's slot, slot -> its first row
        period = len(first_of)
        tiled = period and batch % period == 0 and np.array_equal(symbols, np.tile(np.arange(period), batch // period))
        self.period = period if tiled else None  # row b reads symbol b mod period (``Frontier.evaluate``'s order)
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
            elif arch == "deltaproduct":
                new, y = self._deltaproduct(i, state, stream)
            elif arch == "dense-lrnn":
                new = y = self._dense(i, state, stream)
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

CHUNK_ROWS = 1024  # (configuration, symbol) rows evaluated per batch (arrays of a batch stay in cache)


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
        Returns (per-row next-configuration float rows per layer, logits Vec, bits, max magnitude, bad); the
        transitions the rows used are then in ``self.batched.used``."""
        count = last - first
        n_layers = len(self.rows[first])
        states = [from_floats(np.repeat(np.stack([self.rows[p][layer] for p in range(first, last)]), n_symbols, axis=0))
                  for layer in range(n_layers)]
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
