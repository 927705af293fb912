"""Spectral certificates: the exact eigenvalue facts, the section in the certificate, and models whose
transitions leave their class failing verification with the layer and the value named."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.tasks import get_task
from lsrl.constructions.select import compile_automaton
from models.stack import RecurrentModel
from proofs.certificate import first_layer_spectrum
from proofs.certificate_kinds import certify, verify
from proofs.document import CertificateError
from proofs.spectral import functional_spectrum, general_spectrum


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))
def test_map_matrix_spectrum_is_its_characteristic_polynomial(image):
    """x^z prod_c (x^len(c) - 1) is the characteristic polynomial of the 0/1 matrix of the map."""
    n = len(image)
    entries = tuple(Fraction(int(image[j] == i)) for i in range(n) for j in range(n))
    spectrum = functional_spectrum(entries, n)
    x = sympy.Symbol("x")
    expected = x ** spectrum["zero_eigenvalues"] * sympy.prod([x ** c - 1 for c in spectrum["cycle_lengths"]])
    assert sympy.expand(sympy.Matrix(n, n, [int(v) for v in entries]).charpoly(x).as_expr() - expected) == 0


def test_general_spectrum_classifies_factors():
    # [[0, -1], [1, 0]] (x^2 + 1, cyclotomic); [[1/2, 1/2], [0, 1/3]]; [[2, 0], [0, 1]] (root 2)
    rotation = general_spectrum(tuple(map(Fraction, (0, -1, 1, 0))), 2)
    assert rotation["charpoly_factors"] == [{"factor": "x**2 + 1", "multiplicity": 1, "roots": "roots of unity"}]
    contracting = general_spectrum((Fraction(1, 2), Fraction(1, 2), Fraction(0), Fraction(1, 3)), 2)
    assert {f["roots"] for f in contracting["charpoly_factors"]} == {"roots in the closed unit disk"}
    expanding = general_spectrum(tuple(map(Fraction, (2, 0, 0, 1))), 2)
    assert any(f["roots"].startswith("a root outside") for f in expanding["charpoly_factors"])


@pytest.mark.parametrize("task, arch, klass, field, values", [
    ("flipflop", "diag-01", "diag-01", "gate_values", ["0", "1"]),
    ("parity", "diag-neg", "diag-neg", "gate_values", ["-1", "1"]),
    ("Z:4", "rotation", "diag-complex", "squared_moduli", ["1"]),
    ("S:3", "deltaproduct", "deltaproduct", "normalised_betas", ["0", "2"]),
    ("flipflop", "deltaproduct", "deltaproduct", "factor_eigenvalues", ["0", "1"]),
    ("mod:3", "dense-lrnn", "dense-lrnn", "spectra", [{"cycle_lengths": [1, 1, 1], "zero_eigenvalues": 0},
                                                      {"cycle_lengths": [3], "zero_eigenvalues": 0}]),
    ("mod:3", "lstm", "nonlinear-rnn", "claim", None),
])
def test_certificate_spectral_section(task, arch, klass, field, values):
    t = get_task(task)
    compiled = compile_automaton(t.dfa, arch, t.labels)
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    layer = document["spectral"]["layers"][0]
    assert layer["class"] == klass
    if values is None:
        assert layer[field].startswith("none")
    else:
        assert layer[field] == values
    assert verify(compiled.model, document)["spectral"][0]["class"] == klass


def _with_layer(model: RecurrentModel, **changes) -> RecurrentModel:
    """The same weights under a config whose first layer has ``changes``."""
    config = model.config
    layers = (dataclasses.replace(config.layers[0], **changes), *config.layers[1:])
    other = RecurrentModel(dataclasses.replace(config, layers=layers))
    other.load_state_dict(model.state_dict())
    return other


def test_diagonal_layer_whose_gates_go_negative_fails_its_class():
    t = get_task("flipflop")
    compiled = compile_automaton(t.dfa, "diag-01", t.labels)
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    widened = _with_layer(compiled.model, gate_range=(-1.0, 1.0))
    with torch.no_grad():
        widened.blocks[0].recurrence.to_a.bias[0] -= 1.0  # every gate of channel 0 drops by 1
    with pytest.raises(CertificateError, match=r"\(d\) configuration 0 .* layer 0 \(diag-01\): gate -1 on channel 0 "
                                               r"is outside \[0, 1\]"):
        verify(widened, document)
    unclaimed = {**document, "spectral": {**document["spectral"], "layers": [
        {**document["spectral"]["layers"][0], "class": "nonlinear-rnn"}]}}
    with pytest.raises(CertificateError, match=r"layer 0 \(nonlinear-rnn\): the model uses diagonal transitions"):
        verify(compiled.model, unclaimed)


def test_householder_factor_with_beta_out_of_range_is_named():
    t = get_task("S:3")
    compiled = compile_automaton(t.dfa, "deltaproduct", t.labels)
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.to_beta.weight.mul_(2)  # beta 1 on |k|^2 = 2: beta' = 4
    with pytest.raises(CertificateError, match=r"\(d\) configuration 0 .* layer 0 \(deltaproduct\): factor 0 has "
                                               r"beta \|k\|\^2 = 4 outside \[0, 2\] \(eigenvalue -3\)"):
        verify(compiled.model, document)


def test_rotation_gate_off_the_disk_is_named():
    t = get_task("Z:4")
    compiled = compile_automaton(t.dfa, "rotation", t.labels)
    document = certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels)
    with torch.no_grad():
        compiled.model.blocks[0].recurrence.to_a.bias[0] += 0.5  # u += 1/2 on channel 0
    message = r"layer 0 \(diag-complex\): gate 3/2 \+ 0i on channel 0 has modulus\^2 9/4 > 1"
    with pytest.raises(CertificateError, match=message):
        certify(compiled.model, compiled.dfa, compiled.labels)
    with pytest.raises(CertificateError, match=r"\(d\) configuration 0 .*diag-complex"):
        verify(compiled.model, document)


def test_float32_roots_of_unity_of_order_5_lie_inside_the_disk():
    """The plain float32 roundings of (cos, sin)(2 pi / 5) have u^2 + w^2 = 1 + 5e-8; the construction
    stores the nearest float32 pair with u^2 + w^2 <= 1 (``proofs.cyclotomic.root_of_unity``), so the gates are in
    the class, strictly inside the unit circle."""
    t = get_task("mod:5")
    report = first_layer_spectrum(compile_automaton(t.dfa, "rotation", t.labels).model)
    assert report["within_class"] and not report["unit_circle"]
    assert 0 < 1 - Fraction(report["squared_moduli"][0]) < Fraction(1, 2 ** 22)
    assert first_layer_spectrum(compile_automaton(get_task("mod:3").dfa, "rotation").model)["within_class"]
