"""The registry of certificate kinds: for each, its checker and the claims of a document that the
checker re-derives, so that ``verify`` states only what it recomputed and refuses a document whose
stated claims differ from the recomputed ones (a lie in the metadata is a failed check)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from automata.bounded_input import parse_rational
from proofs import bounded, certificate, disk_certificate, interval_certificate

if TYPE_CHECKING:
    from models.stack import RecurrentModel


@dataclass(frozen=True)
class Claim:
    """A field of the document (``path``) that must equal what the checker recomputed: the summary's
    ``summary_key``, or ``constant`` when the kind fixes it. ``rational``: compare as exact numbers."""

    path: tuple[str, ...]
    summary_key: str | None = None
    constant: Any = None
    rational: bool = False

    def expected(self, summary: dict[str, Any]) -> Any:
        return summary[self.summary_key] if self.summary_key is not None else self.constant


@dataclass(frozen=True)
class CertificateKind:
    name: str
    all_lengths: bool  # the claim holds at every length (exact, interval) or up to a proved L (bounded)
    check: Callable[[RecurrentModel, dict[str, Any]], dict[str, Any]]
    claims: tuple[Claim, ...]
    reads_stored: bool = False  # the checker also takes a torch-free ``proofs.stored_model.StoredModel``


def _exact(model: RecurrentModel, document: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "exact", **certificate.verify(model, document)}


def _interval(model: RecurrentModel, document: dict[str, Any]) -> dict[str, Any]:
    return interval_certificate.verify_interval(model, document)


KINDS: dict[str, CertificateKind] = {kind.name: kind for kind in (
    CertificateKind("exact", True, _exact, (
        Claim(("claim",), constant=certificate.CLAIM),
        Claim(("readout_margin",), "margin", rational=True),
        Claim(("float_safety", "exact_in"), "exact_in"),
        Claim(("float_safety", "summation_bits"), "summation_bits"),
    ), reads_stored=True),
    CertificateKind("interval", True, _interval, (
        Claim(("claim",), constant=interval_certificate.CLAIM),
        Claim(("readout_margin",), "margin", rational=True),
        Claim(("float_safety", "rounding"), "rounding"),
        Claim(("float_safety", "sound_in"), "sound_in"),
    )),
    CertificateKind(bounded.KIND, False, bounded.verify_bounded, (
        Claim(("assumptions",), constant=list(bounded.ASSUMPTIONS)),
        Claim(("spectral", "class"), constant="diag-complex"),
        Claim(("ideal", "margin_lower_bound"), "margin", rational=True),
    )),
    CertificateKind(disk_certificate.KIND, False, disk_certificate.verify_disk, (
        Claim(("assumptions",), constant=[*bounded.ASSUMPTIONS, bounded.PAIRED_ROWS]),
        Claim(("spectral", "class"), constant="diag-complex"),
        Claim(("disks", "margin_lower_bound"), "margin", rational=True),
    )),
)}


def kind_of(document: Any, source: str) -> CertificateKind:
    """The registered kind of a certificate document; anything else is a ``CertificateError``."""
    if not isinstance(document, dict):
        raise certificate.CertificateError(f"{source}: expected a JSON object at top level")
    if document.get("format") != certificate.FORMAT or document.get("version") != certificate.VERSION:
        raise certificate.CertificateError(f"{source}: not an {certificate.FORMAT} version {certificate.VERSION} document")
    kind = KINDS.get(document.get("kind")) if isinstance(document.get("kind"), str) else None
    if kind is None:
        raise certificate.CertificateError(f"{source}: field 'kind': unknown certificate kind {document.get('kind')!r} "
                                           f"(known: {', '.join(KINDS)})")
    return kind


def check_claims(kind: CertificateKind, document: dict[str, Any], summary: dict[str, Any], source: str) -> None:
    """Every stated claim of ``document`` equals the recomputed one; else a ``CertificateError`` naming the field."""
    if document.get("all_lengths") is not kind.all_lengths:
        proves = "every length" if kind.all_lengths else "a bounded length"
        raise certificate.CertificateError(f"{source}: field 'all_lengths' is {document.get('all_lengths')!r}, but a "
                                           f"{kind.name} certificate proves {proves}")
    for claim in kind.claims:
        stated = _lookup(document, claim.path)
        expected = claim.expected(summary)
        same = (_as_rational(stated, claim, source) == Fraction(expected)) if claim.rational else stated == expected
        if not same:
            raise certificate.CertificateError(f"{source}: field {'.'.join(claim.path)!r} states {stated!r}; "
                                               f"re-derived from the weights: {expected!r}")


def proven_classes(document: dict[str, Any]) -> list[str]:
    """The transition classes a checked certificate proves its layers stay in (its spectral section:
    recomputed from the weights for exact and interval kinds, fixed by the kind for bounded ones)."""
    spectral = document["spectral"]
    return [str(layer["class"]) for layer in spectral["layers"]] if "layers" in spectral else [str(spectral["class"])]


def _lookup(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _as_rational(value: Any, claim: Claim, source: str) -> Fraction:
    return parse_rational(value, f"{source}: field {'.'.join(claim.path)!r}")
