"""Compiled-automaton directories: the model (safetensors + config.json), the DFA it simulates,
and its exactness certificate, written together atomically and re-checked by ``verify_directory``."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from automata.bounded_input import check_number_strings, load_json
from automata.dfa import DFA
from automata.equivalence import first_label_difference
from automata.errors import LsrlInputError
from automata.fileformat import dfa_from_json, dfa_to_json
from lsrl.build import FIELD, this_build
from lsrl.constructions.labelling import minimal_labelled, resolve_labels
from lsrl.sources import Language, resolve_language
from models import checkpoint, registry
from models.origin import ConstructionOrigin
from proofs.certificate import first_layer_spectrum
from proofs.certificate_kinds import ALL_LENGTHS, KINDS, certify, certify_bounded_length, from_json, proven_classes
from proofs.document import CertificateError, save_certificate
from proofs.exact_model import NotCertifiable
from proofs.stored_model import StoredModel, load_stored

if TYPE_CHECKING:
    from lsrl.constructions.result import CompiledAutomaton

CERTIFICATE = "certificate.json"
DFA_FILE = "dfa.json"


class CheckerFailed(RuntimeError):
    """An exception inside a certificate checker that is no verdict on the directory: a bug in lsrl, never
    reported as the user's malformed file (not an ``LsrlInputError``: the CLI shows it with its traceback and
    exit code 1, as any internal error)."""

    def __init__(self, path: Path, kind: str, error: Exception):
        super().__init__(f"{path}: the {kind} certificate checker failed ({type(error).__name__}: {error}); this is "
                         "a bug in lsrl, not a verdict on the certificate: please report it with this directory")
        self.error = error


@dataclass(frozen=True)
class CompileReport:
    directory: Path
    construction: str
    size: dict[str, int]
    certificate: str | None  # the line lsrl compile prints of the all-lengths certificate, None if none was made
    not_certified: str | None  # why not, when certificate is None
    bounded: dict[str, Any] | None = None  # a proved safe length when no all-length certificate exists


def compile_language(language: Language, arch: str, directory: str | os.PathLike, n_h: int | None = None,
                     max_configurations: int = 20_000) -> CompileReport:
    """Compile ``language`` for ``arch`` (a task's labels, else acceptance), certify it, and write
    the directory atomically."""
    from lsrl.constructions.select import compile_automaton  # torch: lsrl verify does without it

    compiled = compile_automaton(language.dfa, arch, language.labels, n_h)
    certificate, reason = _certificate(compiled, max_configurations)
    bounded_document, bounded_failure = _bounded_attempt(compiled) if certificate is None else (None, None)
    reason = f"{reason}; {bounded_failure}" if bounded_failure else reason
    bounded = bounded_statement(compiled, bounded_document) if certificate is None else None
    extra = {"source": language.name, "arch": registry.get(arch).name, "construction": compiled.construction,
             "reference": compiled.reference, "size": compiled.size(),
             "certified": certificate is not None, "not_certified": reason, "bounded_statement": bounded,
             FIELD: this_build()}
    files = {DFA_FILE: json.dumps({**dfa_to_json(compiled.dfa), "labels": [int(x) for x in compiled.labels]}) + "\n"}
    if certificate is not None or bounded_document is not None:
        files[CERTIFICATE] = save_certificate(certificate or bounded_document)
    out = checkpoint.save(compiled.model, directory, extra=extra, files=files)
    made = ALL_LENGTHS[certificate["kind"]].made(certificate) if certificate is not None else None
    return CompileReport(out, compiled.construction, compiled.size(), made, reason, bounded)


def bounded_certificate(compiled: CompiledAutomaton) -> dict[str, Any] | None:
    """The bounded-length certificate of a rotation model that drifts in float: kind "bounded"
    (``proofs.bounded``) when its channel values are roots of unity, kind "bounded-disk"
    (``proofs.disk_certificate``) for cascades with reset traces (``exact_values`` False); None for other
    models and when the certificate does not close."""
    return _bounded_attempt(compiled)[0]


def _bounded_attempt(compiled: CompiledAutomaton) -> tuple[dict[str, Any] | None, str | None]:
    """``bounded_certificate`` and, when a model that drifts gets none, why not."""
    try:
        cert = certify_bounded_length(compiled.model, compiled.dfa, compiled.labels)
    except CertificateError as err:
        return None, f"no bounded certificate either: {err}"
    if cert is None:
        return None, None
    construction = {"name": compiled.construction, "reference": compiled.reference, **compiled.size()}
    return cert.to_json(compiled.dfa, compiled.labels, construction), None


def bounded_statement(compiled: CompiledAutomaton, document: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """For a construction that drifts in float (rotations of order other than 1, 2, 4), the length up to
    which every prediction is proved right: the bounded certificate's L (re-checked by ``lsrl verify``)
    when ``document`` is one, else the construction's own bound (not re-checked); None if neither exists."""
    origin = compiled.model.config.origin
    length = origin.safe_length if isinstance(origin, ConstructionOrigin) else None
    if document is not None:
        return {"all_lengths": False, "correct_up_to_length": document["correct_up_to_length"],
                "statement": document["claim"] + f" Re-checked by lsrl verify ({CERTIFICATE}, kind \"{document['kind']}\").",
                "first_layer_spectrum": first_layer_spectrum(compiled.model)}
    if length is None:
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


def verify_directory(directory: str | os.PathLike, source: str | None = None) -> dict[str, Any]:
    """Re-check a compiled directory and re-derive everything it states: the DFA and labels from the
    source (``source``, else the one recorded in config.json), compared with dfa.json and the
    certificate's; the certificate against the weights; and each claim of the certificate
    (``all_lengths``, margins, dtypes, assumptions) against the recomputed values."""
    directory = Path(directory)
    model = load_stored(directory)
    config = checkpoint.read_config(directory)
    if "program_hash" in config and source is None:  # a compiled program: recompiled from its source
        from lsrl.compiler.verify import verify_program
        return verify_program(str(directory), config, checkpoint.load(directory))
    path = directory / CERTIFICATE
    if not path.exists():
        reason = config.get("not_certified") if isinstance(config.get("not_certified"), str) else None
        bounded = config.get("bounded_statement")
        if reason and isinstance(bounded, dict) and type(bounded.get("correct_up_to_length")) is int:
            reason += (f"; config.json records a bound instead: predictions correct up to length "
                       f"{bounded['correct_up_to_length']} (proved by the construction, not re-checked here)")
        if "program_hash" in config:
            reason = ("a compiled program: its exactness was proved at compile time by the range analysis "
                      "(config.json: exact_in_dtype, error_bounds); lsrl verify re-checks automaton certificates")
        raise LsrlInputError(f"{directory}: no {CERTIFICATE} to verify ({reason or 'no certificate was written'})")
    document = load_json(path, "certificate")
    check_number_strings(document, str(path))
    kind = from_json(document, str(path))
    dfa, labels = _rederived_language(directory, config, source)
    _same_language(document.get("dfa"), document.get("labels"), dfa, labels, f"{path}: fields 'dfa', 'labels'")
    if isinstance(model, StoredModel) and not kind.reads_stored:
        model = checkpoint.load(directory)
    try:
        summary = kind.verify(model, document, None, True)
    except LsrlInputError:
        raise
    except Exception as err:  # the checkers validate what they read: anything else is a bug, not a bad file
        raise CheckerFailed(path, kind.name, err) from err
    kind.check_claims(document, summary, str(path))
    _check_class(config, proven_classes(document), directory)
    return {**summary, "kind": kind.name, "source": config["source"] if source is None else source}


def verified(summary: dict[str, Any]) -> str:
    """The line ``lsrl verify`` prints of ``verify_directory``'s summary (after the directory): the certificate
    kind's summary, or what a compiled program's recompilation re-derived."""
    if summary["kind"] != "program":
        return KINDS[summary["kind"]].summary(summary)
    claim = (f"exact in {summary['dtype']}" if summary["exact_in_dtype"] else "error bounds " + ", ".join(
        f"{k} <= {v:.3g}" for k, v in summary["error_bounds"].items()))
    bounded = summary.get("bounded", {}).get("correct_up_to_length")
    return (f"recompiled from {summary['source']}: the same weights and claims ({claim}"
            + (f"; every output rounds to its exact value up to length {bounded}" if bounded else "") + ")")


def _check_class(config: dict[str, Any], proven: list[str], directory: Path) -> None:
    """The class config.json names is the one whose transitions the certificate proves (a model of
    diag-neg relabelled diag-01 would claim parity for a class that provably cannot)."""
    name = config.get("arch")
    if not isinstance(name, str):
        raise LsrlInputError(f"{directory / checkpoint.CONFIG}: field 'arch' must name an architecture class")
    arch = registry.get(name)
    wrong = sorted({c for c in proven if c != arch.classifier})
    if arch.classifier is not None and wrong:
        raise CertificateError(f"{directory / checkpoint.CONFIG}: field 'arch' says {name} (transitions in "
                               f"{arch.classifier}), but the certificate's layers are of class {', '.join(wrong)}")


def _rederived_language(directory: Path, config: dict[str, Any], source: str | None) -> tuple[DFA, np.ndarray]:
    """The minimal labelled DFA of the directory's source, checked against its dfa.json."""
    spec = config.get("source") if source is None else source
    if not isinstance(spec, str) or not spec:
        raise LsrlInputError(f"{directory / checkpoint.CONFIG}: field 'source' must name the task, regex or DFA file "
                             "the model was compiled from")
    regex = spec.removeprefix("regex:") if spec.startswith("regex:") else None
    try:
        language = resolve_language(None if regex is not None else spec, regex)
    except LsrlInputError as err:
        hint = "" if source is not None else "; pass --source SPEC if it lives elsewhere"
        raise LsrlInputError(f"{directory}: the DFA cannot be re-derived from the source {spec!r}{hint}: {err}") from None
    labels, _ = resolve_labels(language.dfa, language.labels)
    dfa, labels = minimal_labelled(language.dfa, labels)
    stored = load_json(directory / DFA_FILE, "DFA file")
    _same_language(stored, stored.get("labels") if isinstance(stored, dict) else None, dfa, labels,
                   f"{directory / DFA_FILE} (against {spec})")
    return dfa, labels


def _same_language(document: Any, stored_labels: Any, dfa: DFA, labels: np.ndarray, where: str) -> None:
    """The labelled DFA in ``document`` gives ``dfa``'s label after every word; else an error with a
    shortest word on which they differ."""
    if not isinstance(document, dict):
        raise CertificateError(f"{where}: missing or malformed DFA")
    stored = dfa_from_json({k: v for k, v in document.items() if k != "labels"}, where)
    if not (isinstance(stored_labels, list) and len(stored_labels) == stored.n_states
            and all(type(x) is int and x >= 0 for x in stored_labels)):
        raise CertificateError(f"{where}: labels must be one non-negative integer per state ({stored.n_states})")
    if stored.alphabet != dfa.alphabet:
        raise CertificateError(f"{where}: alphabet {list(stored.alphabet)} differs from the source's {list(dfa.alphabet)}")
    stored_labels = np.asarray(stored_labels)
    word = first_label_difference(stored, 2 * stored_labels + stored.accepting_mask(), dfa,
                                  2 * labels + dfa.accepting_mask())
    if word is not None:
        p, q = stored.run(word), dfa.run(word)
        raise CertificateError(f"{where}: does not match the source: after {' '.join(word) or 'the empty word'!r} "
                               f"it gives label {int(stored_labels[p])} ({'accept' if p in stored.accepting else 'reject'})"
                               f", the source {int(labels[q])} ({'accept' if q in dfa.accepting else 'reject'})")
