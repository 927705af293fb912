"""Compiled-automaton directories: the model (safetensors + config.json), the DFA it simulates,
and its exactness certificate, written together atomically and re-checked by ``verify_directory``."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automata.errors import LsrlInputError
from automata.fileformat import dfa_to_json
from lsrl.constructions.result import CompiledAutomaton
from lsrl.constructions.select import compile_automaton
from lsrl.sources import Language
from models import checkpoint
from proofs.bounded import KIND as BOUNDED_KIND
from proofs.bounded import BoundedCertificateError, certify_bounded, verify_bounded
from proofs.certificate import CertificateError, certify, first_layer_spectrum, save_certificate, verify
from proofs.disk_certificate import KIND as DISK_KIND
from proofs.disk_certificate import DiskCertificateError, certify_disk, verify_disk
from proofs.exact_model import NotCertifiable

CERTIFICATE = "certificate.json"
DFA_FILE = "dfa.json"


@dataclass(frozen=True)
class CompileReport:
    directory: Path
    construction: str
    size: dict[str, int]
    certificate: dict[str, Any] | None  # summary of the certificate, None if it could not be made
    not_certified: str | None  # why not, when certificate is None
    bounded: dict[str, Any] | None = None  # a proved safe length when no all-length certificate exists


def compile_language(language: Language, arch: str, directory: str | os.PathLike, n_h: int | None = None,
                     max_configurations: int = 20_000) -> CompileReport:
    """Compile ``language`` for ``arch`` (a task's labels, else acceptance), certify it, and write
    the directory atomically."""
    compiled = compile_automaton(language.dfa, arch, language.labels, n_h)
    certificate, reason = _certificate(compiled, max_configurations)
    bounded_document = bounded_certificate(compiled) if certificate is None else None
    bounded = bounded_statement(compiled, bounded_document) if certificate is None else None
    extra = {"source": language.name, "arch": arch, "construction": compiled.construction,
             "reference": compiled.reference, "size": compiled.size(),
             "certified": certificate is not None, "not_certified": reason, "bounded_statement": bounded}
    files = {DFA_FILE: json.dumps({**dfa_to_json(compiled.dfa), "labels": [int(x) for x in compiled.labels]}) + "\n"}
    if certificate is not None or bounded_document is not None:
        files[CERTIFICATE] = save_certificate(certificate or bounded_document)
    out = checkpoint.save(compiled.model, directory, extra=extra, files=files)
    summary = _summary(certificate) if certificate is not None else None
    return CompileReport(out, compiled.construction, compiled.size(), summary, reason, bounded)


def bounded_certificate(compiled: CompiledAutomaton) -> dict[str, Any] | None:
    """The bounded-length certificate of a rotation model that drifts in float: kind "bounded"
    (``proofs.bounded``) when its channel values are roots of unity, kind "bounded-disk"
    (``proofs.disk_certificate``) for cascades with reset traces (``exact_values`` False); None for other
    models and when the certificate does not close."""
    meta = compiled.model.config.meta
    if not isinstance(meta.get("safe_length"), int):
        return None
    try:
        if meta.get("exact_values") is False:
            cert = certify_disk(compiled.model, compiled.dfa, compiled.labels)
        else:
            orders = [int(m) for m in meta.get("moduli") or meta.get("primes") or ()]
            cert = certify_bounded(compiled.model, compiled.dfa, compiled.labels, orders)
    except (BoundedCertificateError, DiskCertificateError):
        return None
    construction = {"name": compiled.construction, "reference": compiled.reference, **compiled.size()}
    return cert.to_json(compiled.dfa, compiled.labels, construction)


def bounded_statement(compiled: CompiledAutomaton, document: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """For a construction that drifts in float (rotations of order other than 1, 2, 4), the length up to
    which every prediction is proved right: the bounded certificate's L (re-checked by ``lsrl verify``)
    when ``document`` is one, else the construction's own bound (not re-checked); None if neither exists."""
    length = compiled.model.config.meta.get("safe_length")
    if document is not None:
        return {"all_lengths": False, "correct_up_to_length": document["correct_up_to_length"],
                "statement": document["claim"] + f" Re-checked by lsrl verify ({CERTIFICATE}, kind \"{document['kind']}\").",
                "first_layer_spectrum": first_layer_spectrum(compiled.model)}
    if not isinstance(length, int):
        return None
    return {"all_lengths": False, "correct_up_to_length": length,
            "statement": f"every float32 prediction on every string of length <= {length} equals the DFA's "
                         "label: a worst-case rounding bound proved by the construction (RotationBound, "
                         "Higham 2002 Lemma 3.5), not an exact certificate; longer strings may drift",
            "first_layer_spectrum": first_layer_spectrum(compiled.model)}


def _certificate(compiled: CompiledAutomaton, max_configurations: int) -> tuple[dict | None, str | None]:
    try:
        cert = certify(compiled.model, compiled.dfa, compiled.labels, max_configurations)
    except (CertificateError, NotCertifiable) as err:
        return None, str(err)
    construction = {"name": compiled.construction, "reference": compiled.reference, **compiled.size()}
    return cert.to_json(compiled.dfa, compiled.labels, construction), None


def _summary(certificate: dict[str, Any]) -> dict[str, Any]:
    """What ``lsrl compile`` prints of a certificate: exact ones list configurations and the dtypes they are
    exact in, interval ones their boxes and the float formats the boxes are sound in."""
    safety = certificate["float_safety"]
    if certificate.get("kind") == "interval":
        return {"kind": "interval", "configurations": len(certificate["boxes"]),
                "margin": certificate["readout_margin"], "exact_in": [], "sound_in": safety["sound_in"]}
    return {"kind": "exact", "configurations": len(certificate["configurations"]),
            "margin": certificate["readout_margin"], "exact_in": safety["exact_in"]}


def verify_directory(directory: str | os.PathLike) -> dict[str, Any]:
    """Re-check a compiled directory's certificate against its weights and its DFA."""
    directory = Path(directory)
    model = checkpoint.load(directory)
    path = directory / CERTIFICATE
    if not path.exists():
        config = checkpoint.read_config(directory)
        reason = config.get("not_certified") or "no certificate was written"
        bounded = config.get("bounded_statement")
        if bounded:
            reason += (f"; config.json records a bound instead: predictions correct up to length "
                       f"{bounded['correct_up_to_length']} (proved by the construction, not re-checked here)")
        raise LsrlInputError(f"{directory}: no {CERTIFICATE} to verify ({reason})")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CertificateError(f"{path}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}") from None
    if document.get("kind") == BOUNDED_KIND:
        return verify_bounded(model, document)
    if document.get("kind") == DISK_KIND:
        return verify_disk(model, document)
    return verify(model, document)
