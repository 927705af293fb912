"""Bounded-length disk certificates (``proofs.disk_certificate``) for rotation cascades with reset traces and
odd-order counters: modarith:3 on rotation certifies and verifies from the weights, ``lsrl compile`` writes
it and ``lsrl verify`` re-checks it, a corrupted gate or an overclaimed length fails naming what breaks, and
the float32 model is right on random strings up to min(L, 10000); modarith:5 certifies too."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from automata.tasks import get_task
from lsrl.cli import main
from lsrl.constructions.select import compile_automaton
from proofs.disk_certificate import DiskCertificateError, certify_disk, verify_disk

pytestmark = pytest.mark.slow  # modarith:3 (253 disk nodes) certifies in about 20 s, modarith:5 (841) in about 6 min


@functools.lru_cache(maxsize=None)
def _certified(task: str):
    t = get_task(task)
    compiled = compile_automaton(t.dfa, "rotation", t.labels)
    cert = certify_disk(compiled.model, compiled.dfa, compiled.labels)
    return compiled, json.dumps(cert.to_json(compiled.dfa, compiled.labels))


def test_modarith3_certifies_and_the_float32_model_is_right_up_to_the_length() -> None:
    compiled, text = _certified("modarith:3")
    document = json.loads(text)
    assert document["kind"] == "bounded-disk" and document["all_lengths"] is False
    assert document["correct_up_to_length"] >= 10_000 and str(document["correct_up_to_length"]) in document["claim"]
    length = min(document["correct_up_to_length"], 10_000)
    symbols = np.random.default_rng(0).integers(0, compiled.dfa.n_symbols, size=(4, length))
    expected = compiled.labels[compiled.dfa.trace_batch(symbols)]
    assert (compiled.model.predict(torch.as_tensor(symbols)).numpy() == expected).all()


def test_overclaimed_length_fails() -> None:
    compiled, text = _certified("modarith:3")
    document = json.loads(text)
    document["correct_up_to_length"] *= 2
    with pytest.raises(DiskCertificateError, match=r"\(iii\) the certificate claims"):
        verify_disk(compiled.model, document)


def test_compile_writes_and_verify_checks_then_names_a_corrupted_gate(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "modarith3"
    assert main(["compile", "task:modarith:3", "--arch", "rotation", "-o", str(out)]) == 0
    document = json.loads((out / "certificate.json").read_text())
    assert document["kind"] == "bounded-disk"
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


def test_modarith5_certifies_and_the_float32_model_is_right_up_to_the_length() -> None:
    """modarith:5 (4 layers, Q(zeta_20)): budgets 2^-1..2^-4 are rejected, 2^-5 closes (a few minutes)."""
    compiled, text = _certified("modarith:5")
    document = json.loads(text)
    assert document["kind"] == "bounded-disk" and document["all_lengths"] is False
    assert document["budgets"] == ["1/32"] * 4
    assert document["correct_up_to_length"] >= 10_000 and str(document["correct_up_to_length"]) in document["claim"]
    length = min(document["correct_up_to_length"], 10_000)
    symbols = np.random.default_rng(0).integers(0, compiled.dfa.n_symbols, size=(2, length))
    expected = compiled.labels[compiled.dfa.trace_batch(symbols)]
    assert (compiled.model.predict(torch.as_tensor(symbols)).numpy() == expected).all()


def test_a_negative_budget_is_malformed_not_a_proof_of_any_length() -> None:
    compiled, text = _certified("modarith:3")
    document = json.loads(text)
    document["budgets"] = ["-1/1024"] * len(document["budgets"])
    document["correct_up_to_length"] = 10 ** 30
    with pytest.raises(DiskCertificateError, match=r"malformed disk certificate"):
        verify_disk(compiled.model, document)
