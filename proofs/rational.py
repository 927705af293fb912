"""Exact rational arithmetic on numpy object arrays of ``Fraction``, the numbers a certificate uses: every float weight is
a dyadic rational, so the rational model *is* the float model's weights."""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

MANTISSA_BITS = {"float64": 53, "float32": 24, "bfloat16": 8}


def to_rational(tensor: torch.Tensor | np.ndarray) -> np.ndarray:
    """The exact rational value of every entry, as an object array of ``Fraction`` (each distinct value
    converted once: compiled weights take few)."""
    values = np.asarray(tensor, float) if isinstance(tensor, np.ndarray) else tensor.detach().double().cpu().numpy()
    distinct, index = np.unique(values.ravel(), return_inverse=True)
    fractions = np.empty(len(distinct), dtype=object)
    fractions[:] = [Fraction(v) for v in distinct.tolist()]
    return fractions[index.ravel()].reshape(values.shape)


def key(vector: np.ndarray) -> tuple[Fraction, ...]:
    return tuple(vector.tolist())


def dyadic_exponent(value: Fraction) -> int | None:
    """e with value = m / 2^e (e >= 0, m integer), or None if the denominator is not a power of two."""
    d = value.denominator
    return d.bit_length() - 1 if d & (d - 1) == 0 else None


def significant_bits(value: Fraction) -> int | None:
    """Bits of mantissa needed to hold ``value`` exactly in binary floating point, or None if it is
    not a dyadic rational."""
    if value == 0:
        return 0
    if dyadic_exponent(value) is None:
        return None
    m = abs(value.numerator)
    while m % 2 == 0:
        m //= 2
    return m.bit_length()


def significant_bits_of(values: np.ndarray) -> np.ndarray:
    """``significant_bits`` of every entry of a float64 array (each is a dyadic rational), vectorised:
    a nonzero value is M 2^k with M a 53-bit integer, and needs 53 minus M's trailing zero bits."""
    mantissa = np.ldexp(np.frexp(np.asarray(values, dtype=np.float64))[0], 53).astype(np.int64)
    lowest = mantissa & -mantissa
    return np.where(mantissa != 0, 53 - (np.frexp(lowest.astype(np.float64))[1] - 1), 0)


def fits(values: Iterable[Fraction], dtype: str) -> bool:
    """Every value is exactly representable in ``dtype`` (range ignored: magnitudes here are small)."""
    bits = MANTISSA_BITS[dtype]
    return all((b := significant_bits(v)) is not None and b <= bits for v in set(values))
