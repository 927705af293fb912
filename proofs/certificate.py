"""Exactness certificates: a compiled model simulates its DFA at every position of every string, checked over
the finite set of reachable (configuration, DFA state) pairs in exact arithmetic. Proof: docs/theorems.md#exact-certificates
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from automata.dfa import DFA
from automata.fileformat import dfa_from_json, dfa_to_json
from proofs import batched_model as bm
from proofs.document import CertificateError, header
from proofs.exact_model import Config, Ledger, RationalModel
from proofs.rational import MANTISSA_BITS
from proofs.spectral import (
    KNOWN_CLASSES,
    SpectralViolation,
    check_transition,
    layer_class,
    spectral_report,
    unchecked_layer_report,
)

if TYPE_CHECKING:
    from models.stack import RecurrentModel

KIND = "exact"
CLAIM = ("For every string over the alphabet and every position t, the argmax of the model's logits "
         "after t symbols equals the label of the DFA state after t symbols (by induction on t over "
         "the listed reachable (configuration, state) pairs, all checked in exact rational arithmetic).")


@dataclass(frozen=True)
class Certificate:
    states: tuple[int, ...]  # DFA state of each configuration
    configurations: tuple[Config, ...]
    successors: tuple[tuple[int, ...], ...]  # [configuration][symbol] -> configuration index
    margin: Fraction
    max_magnitude: Fraction
    bits: int
    exact_dtypes: tuple[str, ...]
    spectral: dict[str, Any]

    def to_json(self, dfa: DFA, labels: np.ndarray, construction: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            **header(KIND), "claim": CLAIM, "all_lengths": True,
            "construction": construction or {},
            "dfa": dfa_to_json(dfa), "labels": [int(x) for x in labels],
            "start": 0,
            "configurations": [{"dfa_state": dfa.name(q), "layers": [[str(v) for v in layer] for layer in config]}
                               for q, config in zip(self.states, self.configurations)],
            "successors": [list(row) for row in self.successors],
            "readout_margin": str(self.margin),
            "float_safety": {"max_abs_value": str(self.max_magnitude), "summation_bits": self.bits,
                             "exact_in": list(self.exact_dtypes),
                             "rule": "every weight and value is dyadic and every linear map's partial sums, "
                                     "in any order, need at most summation_bits bits of mantissa"},
            "spectral": self.spectral,
        }


def _label_margin(logits: np.ndarray, label: int) -> Fraction:
    others = [v for j, v in enumerate(logits.tolist()) if j != label]
    return logits[label] - max(others) if others else Fraction(1)


def _check_representable(ledger: Ledger, dfa: DFA, q: int, a: int) -> None:
    """Stop as soon as some linear map needs more mantissa than float64 has: the float model then
    does not compute the certified values (e.g. a rotation by 2 pi / 3, whose powers never repeat)."""
    if ledger.non_dyadic or ledger.bits > MANTISSA_BITS["float64"]:
        raise CertificateError(f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}, a value needs "
                               f"{ledger.bits} bits of mantissa: no float dtype computes this model exactly")


def _model_classes(model: RecurrentModel) -> list[str]:
    return [layer_class(model.config.arch, layer) for layer in model.config.layers]


def _claimed_classes(model: RecurrentModel, document: dict[str, Any]) -> list[str]:
    """The class each layer's spectral section claims (checked against the model's own at the end)."""
    try:
        claimed = [str(layer["class"]) for layer in document["spectral"]["layers"]]
    except (KeyError, TypeError):
        raise CertificateError("the certificate has no well-formed spectral section", check="d") from None
    if len(claimed) != len(model.config.layers) or not set(claimed) <= set(KNOWN_CLASSES):
        raise CertificateError(f"the spectral section claims classes {claimed} for a model of "
                               f"{len(model.config.layers)} layers", check="d")
    return claimed


def _check_spectra(exact: RationalModel, where: str, classes: list[str]) -> None:
    """(d) for the transitions first used by the last step against each layer's class; the error names
    the pair, the layer and the value."""
    for layer, transition in exact.take_fresh():
        try:
            check_transition(layer, classes[layer], transition)
        except SpectralViolation as err:
            raise CertificateError(f"{where}: {err}", check="d") from None


def _spectral_section(exact: RationalModel) -> dict[str, Any]:
    return spectral_report(exact.model.config.arch, exact.model.config.layers, exact.transitions)


def certify_exact(model: RecurrentModel, dfa: DFA, labels: np.ndarray,
                  max_configurations: int = 100_000, batched: bool = True) -> Certificate:
    """Explore reachable (configuration, state) pairs breadth-first in exact arithmetic and check
    (a)-(c); raise ``CertificateError`` naming the first pair that breaks or if they do not close. Which
    kind a model gets is ``proofs.certificate_kinds``'s choice."""
    exact = RationalModel(model)
    classes = _model_classes(model)
    if batched:
        try:
            return _certify_batched(exact, dfa, labels, max_configurations, classes)
        except bm.Unbatchable:
            exact = RationalModel(model)
    ledger = Ledger()
    ledger.fix(exact.weights)
    start = (exact.initial(), dfa.start)
    index = {start: 0}
    pairs = [start]
    successors: list[tuple[int, ...]] = []
    margin: Fraction | None = None
    for config, q in pairs:  # grows while iterating
        row = []
        for a in range(dfa.n_symbols):
            nxt_config, logits = exact.step(config, a, ledger)
            _check_spectra(exact, f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}", classes)
            _check_representable(ledger, dfa, q, a)
            r = int(dfa.delta[q, a])
            m = _label_margin(logits, int(labels[r]))
            if m <= 0:
                raise CertificateError(f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}, the readout "
                                       f"does not pick label {int(labels[r])} of state {dfa.name(r)!r} (margin {m})")
            margin = m if margin is None else min(margin, m)
            pair = (nxt_config, r)
            if pair not in index:
                if len(pairs) >= max_configurations:
                    raise CertificateError(f"more than {max_configurations} reachable configurations: the "
                                           "model's state does not close up into a finite set")
                index[pair] = len(pairs)
                pairs.append(pair)
            row.append(index[pair])
        successors.append(tuple(row))
    exact_dtypes = tuple(d for d in ("float64", "float32", "bfloat16") if ledger.exact_in(d) and exact.weights_fit(d))
    return Certificate(tuple(q for _, q in pairs), tuple(c for c, _ in pairs), tuple(successors),
                       margin if margin is not None else Fraction(1), ledger.max_magnitude, ledger.bits, exact_dtypes,
                       _spectral_section(exact))


def first_layer_spectrum(model: RecurrentModel) -> dict[str, Any]:
    """Layer 0's spectral section, complete without a certificate: its transitions depend only on the
    embedded symbol, so one step from the initial configuration per symbol reaches all of them."""
    exact = RationalModel(model)
    ledger = Ledger()
    ledger.fix(exact.weights)
    for a in range(model.config.n_symbols):
        exact.step(exact.initial(), a, ledger)
    config = model.config
    return unchecked_layer_report(config.arch, 0, config.layers[0], exact.transitions[0])


def verify_exact(model: RecurrentModel, document: dict[str, Any], dfa: DFA | None = None,
           batched: bool = True) -> dict[str, Any]:
    """Re-check a saved certificate against the model's weights and the DFA (the certificate's own
    DFA unless one is given). Returns a summary; raises ``CertificateError`` naming what breaks. The document's
    format and kind are ``proofs.certificate_kinds``'s to check."""
    cert_dfa = dfa_from_json(document["dfa"], "certificate")
    dfa = dfa or cert_dfa
    if dfa.alphabet != cert_dfa.alphabet:
        raise CertificateError("the certificate's DFA has a different alphabet")
    labels = np.asarray(document["labels"], dtype=np.int64)
    configs, states = _read_configurations(document, dfa)
    check_successor_table(document.get("successors"), len(configs), dfa.n_symbols)
    start = document.get("start")
    if type(start) is not int or not 0 <= start < len(configs):
        raise CertificateError(f"field 'start' must be a configuration index in 0..{len(configs) - 1}, got {start!r}",
                               check="a")
    exact = RationalModel(model)
    widths = [len(layer) for layer in exact.initial()]
    for i, config in enumerate(configs):
        if [len(layer) for layer in config] != widths:
            raise CertificateError(f"configuration {i} has layer widths {[len(layer) for layer in config]}, the "
                                   f"model's states have {widths}")
    classes = _claimed_classes(model, document)
    if configs[document["start"]] != exact.initial() or states[document["start"]] != dfa.start:
        raise CertificateError("the start configuration is not the model's initial state with the DFA's start state",
                               check="a")
    if batched:
        try:
            return _verify_batched(exact, document, dfa, labels, configs, states, classes)
        except bm.Unbatchable:
            exact = RationalModel(model)
    ledger = Ledger()
    ledger.fix(exact.weights)
    margin = None
    for i, (config, q) in enumerate(zip(configs, states)):
        for a, j in enumerate(document["successors"][i]):
            nxt, logits = exact.step(config, a, ledger)
            where = f"configuration {i} (DFA state {dfa.name(q)!r}) reading {dfa.alphabet[a]!r}"
            _check_spectra(exact, where, classes)
            if states[j] != int(dfa.delta[q, a]):
                raise CertificateError(f"{where}: the DFA goes to {dfa.name(int(dfa.delta[q, a]))!r}, "
                                       f"the certificate says {dfa.name(states[j])!r}", check="b")
            if nxt != configs[j]:
                raise _unreached(where, nxt, configs[j], j)
            m = _label_margin(logits, int(labels[states[j]]))
            if m <= 0:
                raise CertificateError(f"{where}: the readout does not pick label "
                                           f"{int(labels[states[j]])} (margin {m})", check="c")
            margin = m if margin is None else min(margin, m)
    return _verified_summary(exact, document, ledger, len(configs), dfa.n_symbols, margin)


def _read_configurations(document: dict[str, Any], dfa: DFA) -> tuple[list[Config], list[int]]:
    """The certificate's configurations (rationals per layer) and their DFA states; a malformed field is a
    ``CertificateError`` naming it, so that an exception past this point is the checker's own failure."""
    found = document.get("configurations")
    if not isinstance(found, list) or not found:
        raise CertificateError("the certificate's field 'configurations' must be a non-empty list")
    names = {name: q for q, name in enumerate(dfa.state_names)}
    try:
        configs = [tuple(tuple(Fraction(v) for v in layer) for layer in c["layers"]) for c in found]
        states = [names[c["dfa_state"]] for c in found]
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
        raise CertificateError(f"the certificate's field 'configurations' is malformed ({type(err).__name__}: "
                               f"{err})") from None
    return configs, states


def _batched(exact: RationalModel) -> bm.BatchedModel:
    if exact.model.config.arch not in bm.ARCHS:
        raise bm.Unbatchable(f"no batched step for {exact.model.config.arch!r}")
    return bm.BatchedModel(exact)


def _check_labels_batchable(exact: RationalModel, dfa: DFA, labels: np.ndarray) -> None:
    """The batched margins index the logits by label: labels outside [0, logits) (or too few) are left
    to the one-step path, whose behaviour on them is the reference."""
    n_logits = exact.weights["readout.weight"].shape[0]
    values = np.asarray(labels)
    if len(values) < dfa.n_states or not all(type(x) is int and 0 <= x < n_logits for x in values.tolist()):
        raise bm.Unbatchable("labels outside the logits: left to the one-step path")


def _batch_spectra(exact: RationalModel, classes: list[str], used: list,
                   errors: dict[int, list[str | None]]) -> list[tuple[np.ndarray, list[str | None]]]:
    """(d) for a batched step: per linear layer, each row's transition number and, per transition, its
    violation (None if it checks), kept in ``errors`` across batches; new transitions are recorded in
    ``exact`` for the spectral section, as its step does."""
    checked = []
    for layer, ids, values in used:
        known = errors.setdefault(layer, [])
        for transition in values[len(known):]:
            exact.record(layer, transition)
            try:
                check_transition(layer, classes[layer], transition)
                known.append(None)
            except SpectralViolation as err:
                known.append(str(err))
        checked.append((ids, known))
    exact.take_fresh()
    return checked


def _check_batch_spectra(checked: list[tuple[np.ndarray, list[str | None]]], row: int, where: str) -> None:
    """Raise (d) at the first row that uses a transition outside its class, as the one-step path does."""
    for ids, errors in checked:
        if errors[ids[row]] is not None:
            raise CertificateError(f"{where}: {errors[ids[row]]}", check="d")


def _certify_batched(exact: RationalModel, dfa: DFA, labels: np.ndarray, max_configurations: int,
                     classes: list[str]) -> Certificate:
    """``certify_exact``'s loop for nonlinear RNNs and DeltaProduct with dyadic weights, a frontier of pairs at a
    time through ``proofs.batched_model``: the same pairs in the same order, the same checks in the same order per
    (pair, symbol), the same ledger. ``bm.Unbatchable`` (raised before anything is returned) sends the
    caller to the one-step path."""
    _check_labels_batchable(exact, dfa, labels)
    frontier = bm.Frontier(_batched(exact))
    ledger = Ledger()
    spectral_errors: dict[int, list[str | None]] = {}
    initial = exact.initial()
    frontier.add([bm.fractions_to_floats(layer) for layer in initial])
    index = {(frontier.key(frontier.rows[0]), dfa.start): 0}
    pair_states = [dfa.start]
    successors: list[tuple[int, ...]] = []
    margin: Fraction | None = None
    cache: dict[float, Fraction] = {}
    n_symbols = dfa.n_symbols
    delta = np.asarray(dfa.delta)
    per_chunk = max(1, bm.CHUNK_ROWS // max(1, n_symbols))
    first = 0
    while first < len(pair_states):
        last = min(len(pair_states), first + per_chunk)
        nxt, logits, bits, magnitude, bad = frontier.evaluate(first, last, n_symbols)
        spectral = _batch_spectra(exact, classes, frontier.batched.used, spectral_errors)
        qs = np.repeat(np.asarray(pair_states[first:last]), n_symbols)
        targets = delta[qs, np.tile(np.arange(n_symbols), last - first)]
        row_margins = bm.margins(logits, np.asarray(labels)[targets])
        for p in range(first, last):
            q = pair_states[p]
            row = []
            for a in range(n_symbols):
                b = (p - first) * n_symbols + a
                if bad[b]:  # an unsaturated activation: the exact step raises NotCertifiable
                    exact.step(bm.to_fraction_config(frontier.rows[p], cache), a, ledger)
                    raise AssertionError("the batched step flagged a pair the exact step accepts")
                _check_batch_spectra(spectral, b, f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}")
                ledger.bits = max(ledger.bits, int(bits[b]))
                _check_representable(ledger, dfa, q, a)
                r = int(targets[b])
                if row_margins is not None and row_margins[b] <= 0:
                    m = Fraction(int(row_margins[b]), 1 << logits.e)
                    raise CertificateError(f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}, the readout "
                                           f"does not pick label {int(labels[r])} of state {dfa.name(r)!r} (margin {m})")
                layers = [layer[b] for layer in nxt]
                pair = (frontier.key(layers), r)
                if pair not in index:
                    if len(pair_states) >= max_configurations:
                        raise CertificateError(f"more than {max_configurations} reachable configurations: the "
                                               "model's state does not close up into a finite set")
                    index[pair] = len(pair_states)
                    pair_states.append(r)
                    frontier.add(layers)
                row.append(index[pair])
            successors.append(tuple(row))
        m = Fraction(1) if row_margins is None else Fraction(int(row_margins.min()), 1 << logits.e)
        margin = m if margin is None else min(margin, m)
        ledger.max_magnitude = max(ledger.max_magnitude, magnitude)
        first = last
    configurations = [bm.to_fraction_config(rows, cache) for rows in frontier.rows]
    if configurations[0] != initial:
        raise AssertionError("the batched path's initial configuration differs")
    exact_dtypes = tuple(d for d in ("float64", "float32", "bfloat16") if ledger.exact_in(d) and exact.weights_fit(d))
    return Certificate(tuple(pair_states), tuple(configurations), tuple(successors),
                       margin if margin is not None else Fraction(1), ledger.max_magnitude, ledger.bits, exact_dtypes,
                       _spectral_section(exact))


def _verify_batched(exact: RationalModel, document: dict[str, Any], dfa: DFA, labels: np.ndarray,
                    configs: list[Config], states: list[int], classes: list[str]) -> dict[str, Any]:
    """``verify_exact``'s loop (after (a)) through ``proofs.batched_model``, the same checks in the same order;
    an error message is rebuilt from the one-step path, so it is the same message."""
    n_symbols = dfa.n_symbols
    if any(len(row) != n_symbols for row in document["successors"]) or len(document["successors"]) != len(configs):
        raise bm.Unbatchable("successor rows of another length: left to the one-step path")
    if not all(type(j) is int and 0 <= j < len(configs) for row in document["successors"] for j in row):
        raise bm.Unbatchable("a successor index out of range: left to the one-step path")
    _check_labels_batchable(exact, dfa, labels)
    frontier = bm.Frontier(_batched(exact))
    keys = []
    for config in configs:
        layers = [bm.fractions_to_floats(layer) for layer in config]
        frontier.add(layers)
        keys.append(frontier.key(layers))
    ledger = Ledger()
    spectral_errors: dict[int, list[str | None]] = {}
    margin = None
    delta = np.asarray(dfa.delta)
    per_chunk = max(1, bm.CHUNK_ROWS // max(1, n_symbols))
    successors = document["successors"]
    for first in range(0, len(configs), per_chunk):
        last = min(len(configs), first + per_chunk)
        nxt, logits, bits, magnitude, bad = frontier.evaluate(first, last, n_symbols)
        spectral = _batch_spectra(exact, classes, frontier.batched.used, spectral_errors)
        listed = [states[j] for i in range(first, last) for j in successors[i]]
        row_margins = bm.margins(logits, labels[np.asarray(listed, dtype=np.int64)])
        for i in range(first, last):
            q = states[i]
            for a, j in enumerate(successors[i]):
                b = (i - first) * n_symbols + a
                where = f"configuration {i} (DFA state {dfa.name(q)!r}) reading {dfa.alphabet[a]!r}"
                if bad[b]:
                    exact.step(configs[i], a, ledger)
                    raise AssertionError("the batched step flagged a pair the exact step accepts")
                _check_batch_spectra(spectral, b, where)
                ledger.bits = max(ledger.bits, int(bits[b]))
                if states[j] != int(delta[q, a]):
                    raise CertificateError(f"{where}: the DFA goes to {dfa.name(int(delta[q, a]))!r}, "
                                           f"the certificate says {dfa.name(states[j])!r}", check="b")
                if frontier.key([layer[b] for layer in nxt]) != keys[j]:
                    got, _ = exact.step(configs[i], a, Ledger())
                    if got == configs[j]:
                        raise AssertionError("the batched and the exact step disagree")
                    raise _unreached(where, got, configs[j], j)
                if row_margins is not None and row_margins[b] <= 0:
                    m = Fraction(int(row_margins[b]), 1 << logits.e)
                    raise CertificateError(f"{where}: the readout does not pick label "
                                           f"{int(labels[states[j]])} (margin {m})", check="c")
        m = Fraction(1) if row_margins is None else Fraction(int(row_margins.min()), 1 << logits.e)
        margin = m if margin is None else min(margin, m)
        ledger.max_magnitude = max(ledger.max_magnitude, magnitude)
    return _verified_summary(exact, document, ledger, len(configs), dfa.n_symbols, margin)


def _unreached(where: str, reached: Config, listed: Config, j: int) -> CertificateError:
    """(b): the step from ``where`` reaches ``reached``, not the listed configuration ``j``; names the first
    differing layer and coordinate."""
    layer = next(k for k, (x, y) in enumerate(zip(reached, listed)) if x != y)
    coordinate = next(t for t, (x, y) in enumerate(zip(reached[layer], listed[layer])) if x != y)
    return CertificateError(f"{where}: layer {layer} of the model does not reach the listed configuration {j} "
                            f"(first differing coordinate {coordinate})", check="b")


def _verified_summary(exact: RationalModel, document: dict[str, Any], ledger: Ledger, n_configurations: int,
                      n_symbols: int, margin: Fraction | None) -> dict[str, Any]:
    """(d) the document's spectral section against the transitions the checked steps used, then the
    summary of a verified exact certificate (both verification paths end here)."""
    spectral = _spectral_section(exact)
    if document.get("spectral") != spectral:
        raise CertificateError(f"the certificate's spectral section does not match the transitions the model "
                               f"uses: {_first_difference(document.get('spectral'), spectral)}", check="d")
    exact_dtypes = [d for d in ("float64", "float32", "bfloat16") if ledger.exact_in(d) and exact.weights_fit(d)]
    return {"configurations": n_configurations, "symbols": n_symbols, "margin": str(margin),
            "exact_in": exact_dtypes, "summation_bits": ledger.bits, "mantissa_bits": MANTISSA_BITS,
            "spectral": [{"layer": layer["layer"], "class": layer["class"]} for layer in spectral["layers"]]}


def check_successor_table(successors: Any, n_configurations: int, n_symbols: int) -> None:
    """(b) needs one successor per configuration and symbol: a short row would leave symbols unchecked."""
    if not isinstance(successors, list) or len(successors) != n_configurations:
        raise CertificateError(f"the successor table must have one row per configuration ({n_configurations})", check="b")
    for i, row in enumerate(successors):
        if not isinstance(row, list) or len(row) != n_symbols:
            raise CertificateError(f"successor row {i} must list one configuration per symbol ({n_symbols})", check="b")
        if not all(isinstance(j, int) and 0 <= j < n_configurations for j in row):
            raise CertificateError(f"successor row {i} names a configuration outside 0..{n_configurations - 1}", check="b")


def _first_difference(claimed: Any, actual: dict[str, Any]) -> str:
    """Where a certificate's spectral section departs from the recomputed one, in a few words."""
    if not isinstance(claimed, dict) or not isinstance(claimed.get("layers"), list):
        return "the section is missing or malformed"
    if len(claimed["layers"]) != len(actual["layers"]):
        return f"{len(claimed['layers'])} layers listed, the model has {len(actual['layers'])}"
    for want, got in zip(claimed["layers"], actual["layers"]):
        for field, value in got.items():
            if want.get(field) != value:
                return f"layer {got['layer']} lists {field} = {want.get(field)!r}, the model's are {value!r}"
    return "the rule differs"

