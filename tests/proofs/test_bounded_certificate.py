"""Bounded-length certificates (``proofs.bounded``): rotation gates of orders other than 1, 2, 4 are
stored inside the closed unit disk; ``lsrl compile`` writes a certificate of kind "bounded" that ``lsrl
verify`` re-checks from the weights; a corrupted gate fails naming the layer and the value; the float32
model is right on random strings up to min(L, 10000); the cyclotomic arithmetic it rests on is exact."""
from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from automata import permutations as perms
from automata.dfa import DFA
from automata.fileformat import dfa_to_json
from automata.finite_groups import FiniteGroup
from automata.tasks import get_task
from lsrl.cli import main
from lsrl.constructions.select import compile_automaton
from proofs.bounded import BoundedCertificateError, certify_bounded, require_length, verify_bounded
from proofs.certificate import first_layer_spectrum
from proofs.cyclotomic import Cyclotomic, cos_enclosure, root_of_unity

ONE_LAYER = ("mod:3", "mod:5", "cycle:5", "Z:6")


@given(st.integers(1, 40).flatmap(lambda m: st.tuples(st.integers(0, m - 1), st.just(m))))
def test_float32_roots_lie_in_the_closed_unit_disk_and_near_the_root(km) -> None:
    k, m = km
    u, w = root_of_unity(k, m)
    assert Fraction(u) ** 2 + Fraction(w) ** 2 <= 1
    assert np.float32(u) == u and np.float32(w) == w
    assert math.hypot(u - math.cos(2 * math.pi * k / m), w - math.sin(2 * math.pi * k / m)) < 2 ** -23


@given(st.integers(0, 59), st.sampled_from([4, 12, 20, 60]))
def test_cos_enclosure_contains_the_double_cosine(j, n) -> None:
    lo, hi = cos_enclosure(j, n, 64)
    assert hi - lo < Fraction(1, 2 ** 60)
    assert abs(float((lo + hi) / 2) - math.cos(2 * math.pi * (j % n) / n)) < 1e-15


@given(st.integers(0, 11), st.integers(0, 11))
def test_cyclotomic_roots_multiply_exactly(a, b) -> None:
    n = 12
    z = [(Cyclotomic.cos(n, k, n), Cyclotomic.sin(n, k, n)) for k in (a, b, (a + b) % n)]
    (ca, sa), (cb, sb), (cc, sc) = z
    assert ca * cb - sa * sb == cc and sa * cb + ca * sb == sc
    assert ca * ca + sa * sa == 1


def test_order_five_spectrum_is_inside_the_class() -> None:
    t = get_task("mod:5")
    compiled = compile_automaton(t.dfa, "rotation", t.labels)
    assert first_layer_spectrum(compiled.model)["within_class"] is True


def _certified(task: str):
    t = get_task(task)
    compiled = compile_automaton(t.dfa, "rotation", t.labels)
    orders = list(compiled.model.config.origin.rotation_orders)
    cert = certify_bounded(compiled.model, compiled.dfa, compiled.labels, orders)
    return compiled, json.loads(json.dumps(cert.to_json(compiled.dfa, compiled.labels)))


@pytest.mark.parametrize("task", ONE_LAYER)
def test_bounded_certificate_verifies_and_claims_a_length(task) -> None:
    compiled, document = _certified(task)
    summary = verify_bounded(compiled.model, document)
    assert summary["correct_up_to_length"] == document["correct_up_to_length"] > 10 ** 5
    assert document["kind"] == "bounded" and document["all_lengths"] is False
    assert "every length" in document["claim"] and str(summary["correct_up_to_length"]) in document["claim"]


def test_overclaimed_length_fails() -> None:
    compiled, document = _certified("mod:3")
    document["correct_up_to_length"] *= 2
    with pytest.raises(BoundedCertificateError, match=r"\(iii\) the certificate claims"):
        verify_bounded(compiled.model, document)


@pytest.mark.parametrize("forge", ["negative budget", "order zero", "gate of order zero"])
def test_a_forged_budget_or_order_is_malformed_not_a_proof_of_any_length(forge) -> None:
    """A negative error budget would make the safe-length quotient positive for every length, and an order
    below 1 divides by zero: each is refused as malformed before any check runs."""
    compiled, document = _certified("mod:3")
    if forge == "negative budget":
        document["budgets"] = ["-1/1024"] * len(document["budgets"])
        document["correct_up_to_length"] = 10 ** 30
    elif forge == "order zero":
        document["orders"] = [0] * len(document["orders"])
    else:
        document["gates"][0]["root"] = "1/0"
    with pytest.raises(BoundedCertificateError, match=r"malformed bounded certificate"):
        verify_bounded(compiled.model, document)


def test_a_length_below_the_requested_one_is_a_failure_naming_it() -> None:
    compiled, document = _certified("mod:3")
    proved = document["correct_up_to_length"]
    message = rf"only up to length {proved}, below the requested length {proved + 1}"
    with pytest.raises(BoundedCertificateError, match=message):
        certify_bounded(compiled.model, compiled.dfa, compiled.labels, [3], requested=proved + 1)
    with pytest.raises(BoundedCertificateError, match=r"only up to length 0, below the requested length 1"):
        require_length(0, 0)  # a length of 0 proves nothing, whatever was asked


def z3_times_s3() -> DFA:
    """The word problem of Z_3 x S_3 (acceptance: the identity), on Z_3's generator and S_3's two."""
    generators = [perms.from_cycles(6, (0, 1, 2)), perms.from_cycles(6, (3, 4)), perms.from_cycles(6, (3, 4, 5))]
    return FiniteGroup.generated_by(generators, "Z3xS3").cayley_dfa()


@pytest.mark.slow
def test_a_certificate_of_length_zero_is_never_written_and_never_holds(tmp_path: Path, capsys) -> None:
    # The cascade's error grows too fast for the bounded analysis: it proves length 0, which is no certificate.
    dfa = z3_times_s3()
    compiled = compile_automaton(dfa, "rotation")
    orders = list(compiled.model.config.origin.rotation_orders)
    with pytest.raises(BoundedCertificateError, match=r"only up to length 0"):
        certify_bounded(compiled.model, compiled.dfa, compiled.labels, orders)
    source = tmp_path / "z3s3.json"
    source.write_text(json.dumps(dfa_to_json(dfa)))
    assert main(["compile", str(source), "--arch", "rotation", "-o", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "certificate.json").exists()
    assert main(["verify", str(tmp_path / "out")]) == 2
    assert "holds" not in capsys.readouterr().out


@settings(max_examples=5, deadline=None)
@given(st.sampled_from(ONE_LAYER), st.integers(0, 2 ** 32 - 1))
def test_float32_model_is_right_up_to_the_certified_length(task, seed) -> None:
    compiled, document = _certified(task)
    length = min(document["correct_up_to_length"], 10_000)
    symbols = np.random.default_rng(seed).integers(0, compiled.dfa.n_symbols, size=(2, length))
    expected = compiled.labels[compiled.dfa.trace_batch(symbols)]
    assert (compiled.model.predict(torch.as_tensor(symbols)).numpy() == expected).all()


def test_compile_writes_and_verify_checks_then_names_a_corrupted_gate(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mod5"
    assert main(["compile", "task:mod:5", "--arch", "rotation", "-o", str(out)]) == 0
    document = json.loads((out / "certificate.json").read_text())
    assert document["kind"] == "bounded"
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert f"right at every position up to length {document['correct_up_to_length']}" in capsys.readouterr().out
    gate = document["gates"][0]
    path = next(out.glob("*.safetensors"))
    tensors = load_file(path)
    tensors[gate["parameter"]][gate["row"], gate["column"]] *= 0.99
    save_file(tensors, path)
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"(ii) layer {gate['layer']}: gate weight {gate['parameter']}[{gate['row']}, {gate['column']}]" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("task", ["dihedral:3", "A:4", "S:4"])
def test_group_cascade_detector_pairs_saturate_at_exactly_one(task) -> None:
    """relu(s) - relu(s - D) with D the two rows' bias gap: D = 1 exactly, so an exact-root gate has modulus 1
    and the exact-root model closes up (with D = 1 + 2^-22 its order-2 channels grew without bound)."""
    t = get_task(task)
    model = compile_automaton(t.dfa, "rotation", t.labels).model
    for block in model.blocks:
        bias = [Fraction(float(b)) for b in block.mlp.up.bias.detach()]
        assert all(bias[k] - bias[k + 1] == 1 for k in range(0, len(bias), 2))


@pytest.mark.slow
def test_a4_cascade_certifies_and_names_a_corrupted_gate() -> None:
    """The A_4 rotation cascade (two layers, Q(zeta_12)): the exact-root model closes on its 12 elements, the
    bounded certificate verifies, the float32 model is right up to min(L, 10000), and a corrupted layer-0
    gate fails (ii) naming the weight."""
    compiled, document = _certified("A:4")
    summary = verify_bounded(compiled.model, document)
    assert summary["configurations"] == 12 and summary["correct_up_to_length"] >= 500
    length = min(summary["correct_up_to_length"], 10_000)
    symbols = np.random.default_rng(1).integers(0, compiled.dfa.n_symbols, size=(8, length))
    expected = compiled.labels[compiled.dfa.trace_batch(symbols)]
    assert (compiled.model.predict(torch.as_tensor(symbols)).numpy() == expected).all()
    gate = document["gates"][0]
    with torch.no_grad():
        compiled.model.state_dict()[gate["parameter"]][gate["row"], gate["column"]] *= 0.999
    with pytest.raises(BoundedCertificateError, match=rf"\(ii\) layer {gate['layer']}: gate weight "
                                                      rf"{gate['parameter']}\[{gate['row']}, {gate['column']}\]"):
        verify_bounded(compiled.model, document)
