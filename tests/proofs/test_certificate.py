"""Certificates for the one-hot constructions: they check, they say where a corrupted model breaks."""
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.onehot import dense_lrnn, elman
from proofs.certificate_kinds import certify, verify
from proofs.document import CertificateError

BUILDERS = {"dense": dense_lrnn, "elman-relu": elman, "elman-tanh": lambda d, labels: elman(d, labels, "tanh")}


@pytest.mark.parametrize("task", ["parity", "mod:3", "tomita:3", "dyck:2:2", "Q8", "flipflop", "modarith:3"])
@pytest.mark.parametrize("build", BUILDERS)
def test_task_certificates_check_and_round_trip(task, build):
    t = get_task(task)
    compiled = BUILDERS[build](t.dfa, t.labels)
    cert = certify(compiled.model, t.dfa, t.labels)
    document = json.loads(json.dumps(cert.to_json(t.dfa, t.labels)))
    summary = verify(compiled.model, document)
    assert summary["configurations"] == len(cert.configurations) >= t.dfa.n_states
    assert "float32" in summary["exact_in"]
    # The certificate's claim, checked empirically too: long random strings agree everywhere.
    x = t.sample(4, 3000, rng=0)
    assert np.array_equal(compiled.model.predict(torch.tensor(x)).numpy(), t.label_sequence(x))


@settings(max_examples=25, deadline=None)
@given(dfas(max_states=5, max_symbols=3, minimal=True))
def test_random_dfa_certificates(dfa):
    labels = dfa.accepting_mask().astype(np.int64)
    for build in BUILDERS.values():
        compiled = build(dfa, labels)
        verify(compiled.model, certify(compiled.model, dfa, labels).to_json(dfa, labels))


def test_corrupted_weight_names_the_configuration():
    t = get_task("mod:3")
    compiled = dense_lrnn(t.dfa, t.labels)
    document = certify(compiled.model, t.dfa, t.labels).to_json(t.dfa, t.labels)
    rec = compiled.model.blocks[0].recurrence
    with torch.no_grad():
        rec.to_a.weight[:, 0] = rec.to_a.weight[:, 1]  # M_a := M_b = I: a permutation, so the spectrum is fine
    with pytest.raises(CertificateError, match=r"\(b\) configuration \d+ \(DFA state '\d+'\) reading 'a': layer 0"):
        verify(compiled.model, document)


def test_transition_with_a_root_outside_the_disk_fails_the_spectral_check():
    t = get_task("mod:3")
    compiled = dense_lrnn(t.dfa, t.labels)
    document = certify(compiled.model, t.dfa, t.labels).to_json(t.dfa, t.labels)
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.to_a.weight[1, 0] += 0.5  # M_a[0, 1] += 1/2: charpoly 2x^3 - x - 2
    message = r"\(d\) configuration \d+ .* reading 'a': layer 0 \(dense-lrnn\).*2\*x\*\*3 - x - 2"
    with pytest.raises(CertificateError, match=message):
        verify(compiled.model, document)


def test_wrong_readout_is_caught_by_certify():
    t = get_task("parity")
    compiled = dense_lrnn(t.dfa, t.labels)
    with torch.no_grad():
        compiled.model.readout.bias[0] += 2.0
    with pytest.raises(CertificateError, match="does not pick label 1"):
        certify(compiled.model, t.dfa, t.labels)


def test_bfloat16_exactness_is_refused_when_sums_need_more_bits():
    t = get_task("dyck:2:3")
    cert = certify(*(lambda c: (c.model, t.dfa, t.labels))(elman(t.dfa, t.labels, "tanh")))
    assert "float32" in cert.exact_dtypes and "bfloat16" not in cert.exact_dtypes and cert.bits > 8


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cut", ["short row", "missing row", "index out of range"])
def test_a_successor_table_that_skips_symbols_is_refused(cut, batched):
    """(b) must cover every configuration and symbol: a shortened table would leave steps unchecked."""
    task = get_task("mod:3")
    compiled = elman(task.dfa, task.labels)
    document = json.loads(json.dumps(certify(compiled.model, task.dfa, task.labels).to_json(task.dfa, task.labels)))
    if cut == "short row":
        document["successors"][1] = document["successors"][1][:-1]
    elif cut == "missing row":
        document["successors"].pop()
    else:
        document["successors"][0][0] = len(document["configurations"])
    with pytest.raises(CertificateError, match=r"\(b\) successor|\(b\) the successor table"):
        verify(compiled.model, document, batched=batched)
