"""``lsrl compile`` then ``lsrl verify``: a compiled directory verifies; a corrupted weight makes verify
exit 2 naming the configuration that breaks; a drifting rotation model carries only a bounded statement."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from lsrl.cli import main

WEIGHTS = "model.safetensors"


def _corrupt(directory: Path, name: str, edit) -> None:
    path = next(directory.glob("*.safetensors"))
    tensors = load_file(path)
    edit(tensors[name])
    save_file(tensors, path)


def test_verify_passes_then_names_the_broken_configuration(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mod3"
    assert main(["compile", "task:mod:3", "--arch", "dense-lrnn", "-o", str(out)]) == 0
    document = json.loads((out / "certificate.json").read_text())
    assert document["spectral"]["layers"][0]["class"] == "dense-lrnn"
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "certificate holds for every length" in capsys.readouterr().out

    def same_as_b(weight):  # letter a's matrix := letter b's (the identity): a permutation, spectrum fine
        weight[:, 0] = weight[:, 1]

    _corrupt(out, "blocks.0.recurrence.to_a.weight", same_as_b)
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lsrl verify: error: (b) configuration" in err and "reading 'a': layer 0 of the model does not reach" in err


def test_verify_names_a_householder_factor_leaving_its_class(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s3"
    assert main(["compile", "task:S:3", "--arch", "deltaproduct", "-o", str(out)]) == 0

    def double(weight):  # beta 1 -> 2 on keys e_i - e_j: beta |k|^2 = 4, eigenvalue -3
        weight.mul_(2)

    _corrupt(out, "blocks.0.recurrence.to_beta.weight", double)
    capsys.readouterr()
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert "(d) configuration 0" in err and "layer 0 (deltaproduct): factor 0 has beta |k|^2 = 4 outside [0, 2]" in err


def test_drifting_rotation_gets_a_bounded_certificate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mod3"
    assert main(["compile", "task:mod:3", "--arch", "rotation", "-o", str(out)]) == 0
    assert "not certified" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    bounded = config["bounded_statement"]
    assert bounded["all_lengths"] is False and bounded["correct_up_to_length"] > 10 ** 6
    assert bounded["first_layer_spectrum"]["within_class"] is True
    assert json.loads((out / "certificate.json").read_text())["kind"] == "bounded"
    assert main(["verify", str(out)]) == 0
    assert f"up to length {bounded['correct_up_to_length']}" in capsys.readouterr().out
