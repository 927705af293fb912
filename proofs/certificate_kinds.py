"""The registry of certificate kinds, the one place that dispatches on a kind: which kind a model's construction
calls for, how it is made and re-checked, the claims of its documents that the checker re-derives (a lie in the
metadata is a failed check) and the line ``lsrl`` prints of it. Adding a kind: docs/theorems.md#adding-a-certificate-kind."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from automata.bounded_input import parse_rational
from automata.dfa import DFA
from models.origin import ConstructionOrigin
from proofs import bounded, certificate, disk_certificate, interval_certificate
from proofs.document import FORMAT, VERSION, CertificateError

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


class Certified(Protocol):
    """A made certificate (each kind's own class): its document is ``to_json``."""

    def to_json(self, dfa: DFA, labels: np.ndarray, construction: dict[str, Any] | None = None) -> dict[str, Any]: ...


class CertificateKind(ABC):
    """A kind of certificate: ``certify`` makes one for a model whose construction calls for it (``applies``),
    ``verify`` re-checks a document from the weights and returns what it recomputed, ``check_claims`` compares
    the document's stated ``claims`` with that, and ``summary`` is the line ``lsrl verify`` prints of it."""

    name: ClassVar[str]
    all_lengths: ClassVar[bool]  # the claim holds at every length (exact, interval) or up to a proved L (bounded)
    claims: ClassVar[tuple[Claim, ...]]
    reads_stored: ClassVar[bool] = False  # verify also takes a torch-free ``proofs.stored_model.StoredModel``

    @abstractmethod
    def applies(self, model: RecurrentModel) -> bool:
        """The model's construction calls for this kind (of those with the same ``all_lengths``)."""

    @abstractmethod
    def certify(self, model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                batched: bool) -> Certified:
        """A certificate of the model against the DFA and labels; a ``CertificateError`` saying why there is none."""

    @abstractmethod
    def verify(self, model: RecurrentModel, document: dict[str, Any], dfa: DFA | None, batched: bool) -> dict[str, Any]:
        """Re-check ``document`` against the model's weights (and ``dfa``, else the document's): what was recomputed."""

    @abstractmethod
    def summary(self, checked: dict[str, Any]) -> str:
        """The line ``lsrl verify`` prints of a certificate ``verify`` accepted (after the directory)."""

    def check_claims(self, document: dict[str, Any], checked: dict[str, Any], source: str) -> None:
        """Every stated claim of ``document`` equals the recomputed one; else a ``CertificateError`` naming the field."""
        if document.get("all_lengths") is not self.all_lengths:
            proves = "every length" if self.all_lengths else "a bounded length"
            raise CertificateError(f"{source}: field 'all_lengths' is {document.get('all_lengths')!r}, but a "
                                   f"{self.name} certificate proves {proves}")
        for claim in self.claims:
            stated = _lookup(document, claim.path)
            expected = claim.expected(checked)
            same = (_as_rational(stated, claim, source) == Fraction(expected)) if claim.rational else stated == expected
            if not same:
                raise CertificateError(f"{source}: field {'.'.join(claim.path)!r} states {stated!r}; "
                                       f"re-derived from the weights: {expected!r}")


class AllLengthsKind(CertificateKind):
    """A kind whose claim holds at every length; ``lsrl compile`` prints ``made`` of its documents."""

    all_lengths = True

    @abstractmethod
    def made(self, document: dict[str, Any]) -> str:
        """The line ``lsrl compile`` prints of a certificate it wrote."""


class BoundedLengthKind(CertificateKind):
    """A kind that proves the float model right up to a length L, for constructions that drift in float (those with
    a ``safe_length``); ``lsrl compile`` makes one when no all-lengths kind certifies."""

    all_lengths = False
    exact_values: ClassVar[bool]  # the construction's channel values are finitely many (no reset traces)

    def applies(self, model: RecurrentModel) -> bool:
        origin = _origin(model)
        return origin is not None and origin.safe_length is not None and origin.exact_values is self.exact_values


class Exact(AllLengthsKind):
    """``proofs.certificate``: the reachable (configuration, DFA state) pairs, checked in exact arithmetic."""

    name = certificate.KIND
    reads_stored = True
    claims = (Claim(("claim",), constant=certificate.CLAIM),
              Claim(("readout_margin",), "margin", rational=True),
              Claim(("float_safety", "exact_in"), "exact_in"),
              Claim(("float_safety", "summation_bits"), "summation_bits"))

    def applies(self, model: RecurrentModel) -> bool:
        origin = _origin(model)  # a drifting construction is tried here too: the failure says why
        return origin is None or origin.exact_values or origin.safe_length is not None

    def certify(self, model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                batched: bool) -> Certified:
        return certificate.certify_exact(model, dfa, labels, max_configurations, batched)

    def verify(self, model: RecurrentModel, document: dict[str, Any], dfa: DFA | None, batched: bool) -> dict[str, Any]:
        return {"kind": self.name, **certificate.verify_exact(model, document, dfa, batched)}

    def summary(self, checked: dict[str, Any]) -> str:
        return (f"certificate holds for every length: {checked['configurations']} configurations x "
                f"{checked['symbols']} symbols checked exactly, readout margin {checked['margin']}, "
                f"exact in {', '.join(checked['exact_in']) or 'no float dtype'}")

    def made(self, document: dict[str, Any]) -> str:
        return (f"certified for all lengths: {len(document['configurations'])} configurations, readout margin "
                f"{document['readout_margin']}, exact in "
                f"{', '.join(document['float_safety']['exact_in']) or 'no float dtype'}")


class Interval(AllLengthsKind):
    """``proofs.interval_certificate``: boxes closed under the step, for cascades whose channel values are not a
    finite set (reset traces) and that do not drift."""

    name = interval_certificate.KIND
    claims = (Claim(("claim",), constant=interval_certificate.CLAIM),
              Claim(("readout_margin",), "margin", rational=True),
              Claim(("float_safety", "rounding"), "rounding"),
              Claim(("float_safety", "sound_in"), "sound_in"))

    def applies(self, model: RecurrentModel) -> bool:
        origin = _origin(model)
        return origin is not None and not origin.exact_values and origin.safe_length is None

    def certify(self, model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                batched: bool) -> Certified:
        try:
            return interval_certificate.certify_interval(model, dfa, labels, max_configurations)
        except interval_certificate.IntervalCertificateError as err:
            raise CertificateError(f"interval certificate: {err}") from None

    def verify(self, model: RecurrentModel, document: dict[str, Any], dfa: DFA | None, batched: bool) -> dict[str, Any]:
        _check_interval_fields(model, document)
        return interval_certificate.verify_interval(model, document, dfa)

    def summary(self, checked: dict[str, Any]) -> str:
        return (f"certificate holds for every length: {checked['configurations']} boxes x {checked['symbols']} "
                f"symbols checked in exact interval arithmetic, readout margin >= "
                f"{float(Fraction(checked['margin'])):.6g}, sound in "
                f"{', '.join(checked['sound_in']) or 'exact arithmetic only (no float format)'}")

    def made(self, document: dict[str, Any]) -> str:
        return (f"certified for all lengths (interval certificate): {len(document['boxes'])} boxes, sound in "
                f"{', '.join(document['float_safety']['sound_in']) or 'exact arithmetic only'}")


class Bounded(BoundedLengthKind):
    """``proofs.bounded``: rotation models whose gates are roots of unity, right up to L in float32."""

    name = bounded.KIND
    exact_values = True
    claims = (Claim(("assumptions",), constant=list(bounded.ASSUMPTIONS)),
              Claim(("spectral", "class"), constant="diag-complex"),
              Claim(("ideal", "margin_lower_bound"), "margin", rational=True))

    def certify(self, model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                batched: bool) -> Certified:
        orders = list(_origin(model).rotation_orders)
        return bounded.certify_bounded(model, dfa, labels, orders, max_configurations)

    def verify(self, model: RecurrentModel, document: dict[str, Any], dfa: DFA | None, batched: bool) -> dict[str, Any]:
        return bounded.verify_bounded(model, document)

    def summary(self, checked: dict[str, Any]) -> str:
        return (f"bounded certificate holds: the float32 model is right at every position up to length "
                f"{checked['correct_up_to_length']}; the exact-root model at every length "
                f"({checked['configurations']} configurations x {checked['symbols']} symbols checked exactly, "
                f"readout margin >= {checked['margin_float']:.6g}, {checked['gates']} gates within "
                f"{checked['gate_error']:.3g} of their roots, all in the closed unit disk)")


class Disk(BoundedLengthKind):
    """``proofs.disk_certificate``: rotation cascades with reset traces, over disks, right up to L in float32."""

    name = disk_certificate.KIND
    exact_values = False
    claims = (Claim(("assumptions",), constant=[*bounded.ASSUMPTIONS, bounded.PAIRED_ROWS]),
              Claim(("spectral", "class"), constant="diag-complex"),
              Claim(("disks", "margin_lower_bound"), "margin", rational=True))

    def certify(self, model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                batched: bool) -> Certified:
        return disk_certificate.certify_disk(model, dfa, labels)

    def verify(self, model: RecurrentModel, document: dict[str, Any], dfa: DFA | None, batched: bool) -> dict[str, Any]:
        return disk_certificate.verify_disk(model, document)

    def summary(self, checked: dict[str, Any]) -> str:
        return (f"bounded disk certificate holds: the float32 model is right at every position up to length "
                f"{checked['correct_up_to_length']} ({checked['nodes']} disk nodes x {checked['symbols']} symbols "
                f"checked exactly, {checked['gates']} gates within {checked['gate_error']:.3g} of their roots, all "
                f"in the closed unit disk; assumes paired detector rows share one dot product)")


ALL_LENGTHS: dict[str, AllLengthsKind] = {kind.name: kind for kind in (Exact(), Interval())}
BOUNDED_LENGTH: dict[str, BoundedLengthKind] = {kind.name: kind for kind in (Bounded(), Disk())}
KINDS: dict[str, CertificateKind] = {**ALL_LENGTHS, **BOUNDED_LENGTH}


def certify(model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_configurations: int = 100_000,
            batched: bool = True) -> Certified:
    """The all-lengths certificate of the model's kind (exact, or interval for constructions with inexact channel
    values and no safe length); a ``CertificateError`` (or ``NotCertifiable``) saying why there is none."""
    kind = next(kind for kind in ALL_LENGTHS.values() if kind.applies(model))  # Exact where Interval does not
    return kind.certify(model, dfa, labels, max_configurations, batched)


def certify_bounded_length(model: RecurrentModel, dfa: DFA, labels: np.ndarray,
                           max_configurations: int = 20_000) -> Certified | None:
    """The bounded-length certificate of a construction that drifts in float (kind "bounded", or "bounded-disk"
    with reset traces); None for a model without a safe length; a ``CertificateError`` if it does not close."""
    kind = next((kind for kind in BOUNDED_LENGTH.values() if kind.applies(model)), None)
    return None if kind is None else kind.certify(model, dfa, labels, max_configurations, batched=True)


def from_json(document: Any, source: str | None = None) -> CertificateKind:
    """The registered kind of a certificate document (its format, version and kind fields); anything else is a
    ``CertificateError``, whose message opens with ``source`` when given."""
    where = f"{source}: " if source else ""
    if not isinstance(document, dict):
        raise CertificateError(f"{where}expected a JSON object at top level")
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise CertificateError(f"{where}not an {FORMAT} version {VERSION} document")
    kind = KINDS.get(document.get("kind")) if isinstance(document.get("kind"), str) else None
    if kind is None:
        raise CertificateError(f"{where}field 'kind': unknown certificate kind {document.get('kind')!r} "
                               f"(known: {', '.join(KINDS)})")
    return kind


def verify(model: RecurrentModel, document: dict[str, Any], dfa: DFA | None = None,
           batched: bool = True) -> dict[str, Any]:
    """Re-check a certificate of any kind against the model's weights and the DFA (the document's own unless one
    is given); returns what was recomputed, or raises a ``CertificateError`` naming what breaks."""
    return from_json(document).verify(model, document, dfa, batched)


def proven_classes(document: dict[str, Any]) -> list[str]:
    """The transition classes a checked certificate proves its layers stay in (its spectral section:
    recomputed from the weights for exact and interval kinds, fixed by the kind for bounded ones)."""
    spectral = document["spectral"]
    return [str(layer["class"]) for layer in spectral["layers"]] if "layers" in spectral else [str(spectral["class"])]


def _check_interval_fields(model: RecurrentModel, document: dict[str, Any]) -> None:
    """The fields ``verify_interval`` reads, shaped as it reads them: a malformed document is a ``CertificateError``
    naming the field, so that an exception inside the checker is a bug (``lsrl.artifacts.CheckerFailed``)."""
    boxes, safety, spectral = document.get("boxes"), document.get("float_safety"), document.get("spectral")
    if not isinstance(boxes, list) or not boxes:
        raise CertificateError("field 'boxes' must be a non-empty list of boxes")
    if not isinstance(safety, dict) or not isinstance(safety.get("rounding"), str):
        raise CertificateError("field 'float_safety.rounding' must name a rounding model")
    layers = spectral.get("layers") if isinstance(spectral, dict) else None
    if not isinstance(layers, list) or len(layers) != len(model.config.layers):
        raise CertificateError(f"field 'spectral.layers' must describe each of the model's {len(model.config.layers)} "
                               "layers")
    certificate.check_successor_table(document.get("successors"), len(boxes), model.config.n_symbols)


def _origin(model: RecurrentModel) -> ConstructionOrigin | None:
    origin = model.config.origin
    return origin if isinstance(origin, ConstructionOrigin) else None


def _lookup(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _as_rational(value: Any, claim: Claim, source: str) -> Fraction:
    return parse_rational(value, f"{source}: field {'.'.join(claim.path)!r}")
