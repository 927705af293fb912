"""Compile a DFA into a model of a chosen architecture class with the smallest construction known here, once
the classifier does not refuse it. The order and why: docs/constructions.md#choosing-a-construction
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from automata.classify import Verdict, classify, classify_labelling
from automata.dfa import DFA
from lsrl.constructions import (
    cascade,
    diagonal,
    diagonal_cascade,
    group_cascade,
    householder,
    onehot,
    rotation,
    transformation_units,
)
from lsrl.constructions.errors import InvalidOption, NotExpressible, NotImplementedConstruction
from lsrl.constructions.labelling import minimal_labelled, resolve_labels
from lsrl.constructions.result import CompiledAutomaton
from models import registry

Construction = Callable[[DFA, np.ndarray], CompiledAutomaton]

# The nonlinear RNN classes with constructions of their own: each compiles with transformation units.
_TRANSFORMATION_UNITS = tuple(a.name for a in registry.ARCHITECTURES
                              if a.classifier == "nonlinear-rnn" and a.automaton == a.name)
# Per architecture, its constructions from the smallest to the most general; the first that applies wins.
CONSTRUCTIONS: dict[str, tuple[Construction, ...]] = {
    "dense-lrnn": (onehot.dense_lrnn,),
    **{cls: (lambda dfa, labels, cls=cls: transformation_units.smallest(dfa, labels, cls),)
       for cls in _TRANSFORMATION_UNITS},
    "diag-01": (lambda dfa, labels: diagonal.diagonal(dfa, labels, negative=False),
                lambda dfa, labels: cascade.diagonal_cascade(dfa, labels, "diag-01")),
    "diag-neg": (lambda dfa, labels: diagonal.diagonal(dfa, labels, negative=True),
                 lambda dfa, labels: group_cascade.cascade_automaton(dfa, labels, "diag-neg"),
                 lambda dfa, labels: cascade.diagonal_cascade(dfa, labels, "diag-neg"),
                 lambda dfa, labels: diagonal_cascade.permuting_cascade(dfa, labels, "diag-neg")),
    "rotation": (rotation.rotation,
                 lambda dfa, labels: group_cascade.cascade_automaton(dfa, labels, "rotation"),
                 lambda dfa, labels: cascade.diagonal_cascade(dfa, labels, "rotation"),
                 lambda dfa, labels: diagonal_cascade.permuting_cascade(dfa, labels, "rotation")),
}
ARCHITECTURES = tuple(a.name for a in registry.ARCHITECTURES if a.automaton == a.name)  # own constructions


def check_expressible(dfa: DFA, labels: np.ndarray, arch: str) -> Verdict | None:
    """Raise ``NotExpressible`` if the classifier proves that the class cannot recognise the language of
    one label value (a model computing every label would recognise each of those languages). ``dfa`` is
    minimal as a labelled automaton: its labelling is classified once, and only when that proves some
    label value's language impossible are the values classified one by one to name it. Returns the
    labelling's verdict (None for a universal class, which is not classified)."""
    spec = registry.get(arch)
    if spec.universal or spec.classifier is None:
        return None
    cls = spec.classifier
    labelling = classify_labelling(dfa, labels, only=(cls,)).verdict(cls)
    if labelling.status != "impossible":
        return labelling
    for value in np.unique(labels).tolist():
        verdict = classify(dfa.with_accepting(np.flatnonzero(labels == value).tolist()), only=(cls,)).verdict(cls)
        if verdict.status == "impossible" and verdict.theorem is not None:
            theorem = verdict.theorem
            raise NotExpressible(arch, f"for the language of label {value}: {theorem.statement}", theorem.reference,
                                 theorem.condition, upgrade_hint(dfa, labels, arch))
    raise AssertionError(f"the labelling is impossible for {arch} but no label value's language is")


def upgrade_hint(dfa: DFA, labels: np.ndarray, arch: str) -> str | None:
    """'needs X: try Y' for the first class Y up ``arch``'s upgrade chain (``models.registry``) that the
    classifier proves able to compute every label value's language and that has constructions here; None if
    none. The labelling's verdict is the worst of its label values' (``classify_labelling``), so it is read
    once per class, and not at all for a universal class."""
    @functools.cache
    def constructible(cls: str) -> bool:
        return classify_labelling(dfa, labels, only=(cls,)).verdict(cls).status == "constructible"

    def can(candidate: registry.Architecture) -> bool:
        return candidate.has("automaton") and candidate.classifier is not None and (
            candidate.universal or constructible(candidate.classifier))

    better = registry.upgrade(registry.get(arch), can)
    return better and f"needs {better.gains}: try {registry.spelled_like(better, arch)}"


def compile_automaton(dfa: DFA, arch: str, labels: np.ndarray | None = None,
                      n_h: int | None = None) -> CompiledAutomaton:
    """A model of class ``arch`` (a name or alias of ``models.registry`` with constructions) whose prediction
    after every prefix is ``labels[state]`` (acceptance by default); ``n_h`` fixes the Householder factors of
    deltaproduct (a class such as deltanet fixes its own)."""
    spec = registry.require(arch, "automaton")
    if n_h is not None and spec.automaton != "deltaproduct":
        raise InvalidOption(f"n_h applies to deltaproduct only, not to {arch}")
    if None not in (n_h, spec.n_h) and n_h != spec.n_h:
        raise InvalidOption(f"{arch} has n_h = {spec.n_h}; more factors per token is deltaproduct")
    n_h = spec.n_h if spec.n_h is not None else n_h
    labels, _ = resolve_labels(dfa, labels)
    minimal, minimal_labels = minimal_labelled(dfa, labels)
    constructions = CONSTRUCTIONS.get(spec.automaton, (lambda d, labels: householder.deltaproduct(d, labels, n_h),
                                                       lambda d, labels: cascade.deltaproduct_cascade(d, labels, n_h)))
    verdict = check_expressible(minimal, minimal_labels, arch)
    if verdict is not None and verdict.status == "open":  # a construction would settle it: none here does
        raise NotImplementedConstruction(arch, f"the classifier leaves this language open for the class "
                                               f"({verdict.note.split('. ')[0]}), and every construction here "
                                               f"is a proof of a constructible verdict")
    missing = []
    for construct in constructions:
        try:
            return construct(minimal, minimal_labels)
        except NotImplementedConstruction as error:
            missing.append(error.missing)
    raise NotImplementedConstruction(arch, "; ".join(missing))
