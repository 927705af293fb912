"""Checkers of what a model claims: certificate kinds (exact, interval, bounded, disk) and exact arithmetic."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use: `lsrl verify` of an exact certificate must not
# import torch, which the interval and bounded checkers' modules do.
__all__, __getattr__ = lazy_exports(__name__, {
    "certificate_kinds": ("ALL_LENGTHS", "BOUNDED_LENGTH", "KINDS", "Bounded", "CertificateKind", "Disk", "Exact",
                          "Interval", "certify", "certify_bounded_length", "from_json", "proven_classes", "verify"),
    "certificate": ("certify_exact", "first_layer_spectrum", "verify_exact"),
    "document": ("FORMAT", "VERSION", "CertificateError", "header", "save_certificate"),
    "exact_model": ("NotCertifiable", "RationalModel"),
    "stored_model": ("StoredModel", "load_stored"),
    "cyclotomic": ("Algebraic", "Cyclotomic", "Number", "cos_pi", "exact_root", "from_sympy", "root_of_unity",
                   "sin_pi", "sqrt_rational", "to_sympy"),
})
