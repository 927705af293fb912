"""Checkers of what a model claims: certificate kinds (exact, interval, bounded, disk) and exact arithmetic."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it, loaded on first use: `lsrl verify` of an exact certificate must not
# import torch, which the interval and bounded checkers' modules do.
_EXPORTS = {name: module for module, names in {
    "certificate_kinds": ("ALL_LENGTHS", "BOUNDED_LENGTH", "KINDS", "Bounded", "CertificateKind", "Disk", "Exact",
                          "Interval", "certify", "certify_bounded_length", "from_json", "proven_classes", "verify"),
    "certificate": ("certify_exact", "first_layer_spectrum", "verify_exact"),
    "document": ("FORMAT", "VERSION", "CertificateError", "header", "save_certificate"),
    "exact_model": ("NotCertifiable", "RationalModel"),
    "stored_model": ("StoredModel", "load_stored"),
    "cyclotomic": ("Algebraic", "Cyclotomic", "Number", "cos_pi", "exact_root", "from_sympy", "root_of_unity",
                   "sin_pi", "sqrt_rational", "to_sympy"),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
