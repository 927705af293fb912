"""The batched exact path (proofs.batched_model) gives the one-step path's certificates, summaries and
errors exactly, on the nonlinear RNN and DeltaProduct constructions with dyadic weights."""
import json
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.select import compile_automaton
from lsrl.constructions.transformation_units import smallest
from proofs import batched_model as bm
from proofs.certificate_kinds import certify, verify
from proofs.document import CertificateError
from proofs.exact_model import Ledger, NotCertifiable, RationalModel

CLASSES = ["elman", "elman-tanh", "lstm", "gru"]


def _both(fn, *args, **kwargs):
    """(result, or the exception's type, check id and text) of the one-step and of the batched path."""
    out = []
    for batched in (False, True):
        try:
            out.append(fn(*args, batched=batched, **kwargs))
        except (CertificateError, NotCertifiable) as err:
            out.append((type(err).__name__, getattr(err, "check", None), str(err)))
    return out


@pytest.mark.parametrize("task", ["S:3", "A:4"])
@pytest.mark.parametrize("cls", CLASSES)
def test_batched_certificate_is_the_same_json(task, cls):
    t = get_task(task)
    model = smallest(t.dfa, t.labels, cls).model
    one, many = (json.dumps(certify(model, t.dfa, t.labels, batched=b).to_json(t.dfa, t.labels)) for b in (False, True))
    assert one == many
    document = json.loads(many)
    assert verify(model, document, batched=False) == verify(model, document)


@settings(max_examples=6, deadline=None)
@given(dfas(max_states=4, max_symbols=3, minimal=True))
def test_batched_certificate_on_drawn_dfas(dfa):
    labels = dfa.accepting_mask().astype(np.int64)
    for cls in CLASSES:
        model = smallest(dfa, labels, cls).model
        one, many = _both(certify, model, dfa, labels)
        if isinstance(one, tuple):
            assert one == many
            continue
        assert json.dumps(one.to_json(dfa, labels)) == json.dumps(many.to_json(dfa, labels))
        document = many.to_json(dfa, labels)
        assert verify(model, document, batched=False) == verify(model, document)


@pytest.mark.parametrize("task, arch", [("S:4", "deltaproduct"), ("tomita:3", "deltaproduct"),
                                        ("dyck:1:2", "deltaproduct"), ("Q8", "deltaproduct"),
                                        ("S:4", "dense-lrnn"), ("tomita:3", "dense-lrnn"), ("modarith:3", "dense-lrnn")])
def test_batched_linear_certificate_is_the_same_json(task, arch):
    # deltaproduct: one Householder layer for groups, cascades of several layers otherwise; dense-lrnn: one layer
    t = get_task(task)
    compiled = compile_automaton(t.dfa, arch, t.labels)
    one, many = (json.dumps(certify(compiled.model, compiled.dfa, compiled.labels, batched=b)
                            .to_json(compiled.dfa, compiled.labels)) for b in (False, True))
    assert one == many
    document = json.loads(many)
    assert verify(compiled.model, document, batched=False) == verify(compiled.model, document)


@settings(max_examples=6, deadline=None)
@given(dfas(max_states=4, max_symbols=3, minimal=True))
def test_batched_linear_certificate_on_drawn_dfas(dfa):
    for arch in ("deltaproduct", "dense-lrnn"):
        compiled = compile_automaton(dfa, arch)
        one, many = _both(certify, compiled.model, compiled.dfa, compiled.labels)
        if isinstance(one, tuple):
            assert one == many
        else:
            args = (compiled.dfa, compiled.labels)
            assert json.dumps(one.to_json(*args)) == json.dumps(many.to_json(*args))


def test_a_householder_factor_out_of_range_fails_the_same_way():
    # (d): a beta pushed past 2/|k|^2 makes one token's factor expand; both paths name the same pair
    t = get_task("S:3")
    compiled = compile_automaton(t.dfa, "deltaproduct", t.labels)
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.to_k.weight.mul_(2.0)
    one, many = _both(certify, compiled.model, compiled.dfa, compiled.labels)
    assert one == many and one[:2] == ("CertificateError", "d") and re.match(r"\(d\) after DFA state", one[2]), one


@pytest.mark.parametrize("cls", [*CLASSES, "deltaproduct"])
def test_batched_step_is_the_exact_step_with_the_same_ledger_bits(cls):
    t = get_task("A:4")
    model = (compile_automaton(t.dfa, cls, t.labels) if cls == "deltaproduct" else smallest(t.dfa, t.labels, cls)).model
    configs = certify(model, t.dfa, t.labels, batched=False).configurations
    exact = RationalModel(model)
    frontier = bm.Frontier(bm.BatchedModel(exact))
    for config in configs:
        frontier.add([bm.fractions_to_floats(layer) for layer in config])
    nxt, logits, bits, magnitude, bad = frontier.evaluate(0, len(configs), t.dfa.n_symbols)
    assert not bad.any()
    biggest = 0
    for i, config in enumerate(configs):
        for a in range(t.dfa.n_symbols):
            b = i * t.dfa.n_symbols + a
            ledger = Ledger()
            ledger.fix(exact.weights)
            want, want_logits = exact.step(config, a, ledger)
            assert bm.to_fraction_config([layer[b] for layer in nxt], {}) == want
            assert [x / 2**logits.e for x in logits.ints[b].tolist()] == want_logits.tolist()
            assert int(bits[b]) == ledger.bits
            biggest = max(biggest, ledger.max_magnitude)
    assert magnitude == biggest


@pytest.mark.parametrize("cls", ["elman", "lstm"])
def test_corrupted_weight_fails_the_same_way_naming_the_configuration(cls):
    t = get_task("S:3")
    compiled = smallest(t.dfa, t.labels, cls)
    document = certify(compiled.model, t.dfa, t.labels).to_json(t.dfa, t.labels)
    rec = compiled.model.blocks[0].recurrence
    weight = rec.recurrent.weight if cls == "elman" else rec.weight_hh
    with torch.no_grad():
        row, col = (weight != 0).nonzero()[-1].tolist()
        weight[row, col] = 0.0  # one connection of the recurrence cut
    one, many = _both(verify, compiled.model, document)
    assert one == many
    assert many[:2] == ("CertificateError", "b")
    assert re.match(r"\(b\) configuration \d+ \(DFA state '[^']*'\) reading '[^']*': layer 0", many[2]), many[2]


def test_unsaturated_tanh_raises_the_same_error():
    t = get_task("S:3")
    compiled = smallest(t.dfa, t.labels, "elman-tanh")
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.recurrent.weight.mul_(2.0 ** -10)
        compiled.model.blocks[0].recurrence.inp.weight.mul_(2.0 ** -10)
        compiled.model.blocks[0].recurrence.inp.bias.mul_(2.0 ** -10)
    one, many = _both(certify, compiled.model, t.dfa, t.labels)
    assert one == many and one[0] == "NotCertifiable"


def test_weights_too_large_for_the_integer_grid_fall_back_to_the_one_step_path():
    t = get_task("S:3")
    compiled = smallest(t.dfa, t.labels, "elman")
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.out.weight[0, 0] = 2.0 ** 60
        compiled.model.blocks[0].recurrence.out.weight[1, 1] = 2.0 ** -10
    with pytest.raises(bm.Unbatchable):
        bm.BatchedModel(RationalModel(compiled.model)).step(
            [bm.Vec(np.zeros((1, compiled.model.config.layers[0].d_state), dtype=np.int64), 0)], np.array([0]))
    one, many = _both(certify, compiled.model, t.dfa, t.labels)
    if isinstance(one, tuple):
        assert one == many
    else:
        assert json.dumps(one.to_json(t.dfa, t.labels)) == json.dumps(many.to_json(t.dfa, t.labels))


def test_integer_and_float64_products_give_the_same_certificate(monkeypatch):
    t = get_task("A:4")
    model = smallest(t.dfa, t.labels, "lstm").model
    via_float = json.dumps(certify(model, t.dfa, t.labels).to_json(t.dfa, t.labels))
    monkeypatch.setattr(bm, "INTEGER_MATMUL", True)
    assert json.dumps(certify(model, t.dfa, t.labels).to_json(t.dfa, t.labels)) == via_float
