"""Theorem (Siems et al. 2025, arXiv:2502.10297): one DeltaProduct layer with n_h = n - 1 generalized
Householder factors per token (beta in [0, 2]) solves the word problem of S_n.

Tested: our construction compiles S_3, S_4 and S_5 to one layer with n_h = n - 1 and an n x n
permutation-matrix state, and its certificate verifies: for every string, every prediction is right,
checked exactly over all reachable configurations, every factor has beta |k|^2 in {0, 2} (identity or
reflection), and float32 computes it exactly. n_h = n - 2 is refused for S_n (a transposition-count bound:
an n-cycle needs n - 1 reflections, since a product of m reflections fixes a subspace of dimension >= n - m).
"""
from __future__ import annotations

import pytest

from automata.tasks import get_task
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.select import compile_automaton
from proofs.certificate_kinds import certify, verify

pytestmark = pytest.mark.theorem


@pytest.mark.parametrize("n", [3, 4, 5])
def test_sn_in_one_layer_with_n_minus_1_factors(n):
    t = get_task(f"S:{n}")
    compiled = compile_automaton(t.dfa, "deltaproduct", t.labels)
    layer = compiled.model.config.layers[0]
    assert len(compiled.model.config.layers) == 1 and layer.n_h == n - 1 and layer.d_state == n
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    summary = verify(compiled.model, document)
    assert summary["configurations"] == compiled.dfa.n_states and "float32" in summary["exact_in"]
    spectral = document["spectral"]["layers"][0]
    assert spectral["class"] == "deltaproduct" and set(spectral["normalised_betas"]) <= {"0", "2"}


@pytest.mark.parametrize("n", [3, 4])
def test_fewer_factors_are_refused(n):
    t = get_task(f"S:{n}")
    with pytest.raises(NotImplementedConstruction, match=f"n_h = {n - 2} is too few"):
        compile_automaton(t.dfa, "deltaproduct", t.labels, n_h=n - 2)
