"""Derived result (ours; Krohn & Rhodes 1965 with Grazzi et al. 2025): the word problem of a group whose
order is a power of two (every composition factor Z_2) is computed exactly by a cascade of diagonal layers
with gates in {-1, 1}: one Z_2 counter per composition factor, each layer's gate a function of the letter
and the lower levels. Not a published theorem: it is proved here by construction and certificate.

Tested: Z_4, D_4 and Q_8 compile on diag-neg to a cascade, the certificate verifies (every prediction
right for every string, float32-exact), every gate reached is -1 or 1 (class diag-neg, [-1, 1]), and
the non-abelian groups need more than one layer. The odd-order counterpart (Z_3) is refused with the
theorem of Grazzi et al. (triangular real transitions do not count modulo 3).
"""
from __future__ import annotations

import pytest

from automata.classify import classify
from automata.tasks import get_task
from lsrl.constructions.errors import NotExpressible
from lsrl.constructions.select import compile_automaton
from proofs.certificate_kinds import certify, verify

pytestmark = pytest.mark.theorem


@pytest.mark.parametrize("name, order", [("Z:4", 4), ("dihedral:4", 8), ("Q8", 8)])
def test_two_group_cascade_is_certified(name, order):
    t = get_task(name)
    assert classify(t.dfa).verdict("diag-neg").status == "constructible"
    compiled = compile_automaton(t.dfa, "diag-neg", t.labels)
    assert compiled.dfa.n_states == order and compiled.construction == "diag-neg-group-cascade"
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    summary = verify(compiled.model, document)
    assert "float32" in summary["exact_in"]
    for layer in document["spectral"]["layers"]:
        assert layer["class"] == "diag-neg" and set(layer["gate_values"]) <= {"-1", "1"}
    assert len(document["spectral"]["layers"]) >= (2 if name != "Z:4" else 1)


def test_odd_order_is_refused_with_the_theorem():
    t = get_task("Z:3")
    with pytest.raises(NotExpressible, match="Grazzi"):
        compile_automaton(t.dfa, "diag-neg", t.labels)
