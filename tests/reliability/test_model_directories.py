"""Compiled directories as untrusted input: a malformed weights file, config.json or certificate.json,
and every lie in their metadata, make ``lsrl verify`` (or ``inspect``) exit 2 with one message naming
the file and field; none passes as "holds"."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.reliability.conftest import assert_refused

COMPILED = {"exact": ("task:parity", "diag-neg"), "interval": ("task:no-aa", "diag-01"),
            "bounded": ("task:mod:5", "rotation")}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, Path]:
    """One compiled directory per certificate kind (compiled once for the module)."""
    from lsrl.cli import main

    root = tmp_path_factory.mktemp("compiled")
    for kind, (task, arch) in COMPILED.items():
        assert main(["compile", task, "--arch", arch, "-o", str(root / kind)]) == 0
    return {kind: root / kind for kind in COMPILED}


@pytest.fixture
def copy(compiled, tmp_path) -> Callable[[str], Path]:
    def make(kind: str) -> Path:
        return Path(shutil.copytree(compiled[kind], tmp_path / kind))
    return make


def _edit_json(path: Path, change: Callable[[dict], object]) -> None:
    """Apply ``change`` to the document in place; a change that returns a list replaces it."""
    document = json.loads(path.read_text())
    replaced = change(document)
    path.write_text(json.dumps(replaced if isinstance(replaced, list) else document))


@pytest.mark.parametrize("kind", list(COMPILED))
def test_an_untouched_directory_verifies(lsrl, compiled, kind):
    outcome = lsrl("verify", compiled[kind])
    assert outcome.code == 0 and "holds" in outcome.out


LIES = {
    "bounded all_lengths": ("bounded", lambda d: d.update(all_lengths=True), "all_lengths"),
    "exact all_lengths": ("exact", lambda d: d.update(all_lengths=False), "all_lengths"),
    "readout_margin": ("exact", lambda d: d.update(readout_margin="1000"), "readout_margin"),
    "interval margin": ("interval", lambda d: d.update(readout_margin="1"), "readout_margin"),
    "exact_in float8": ("exact", lambda d: d["float_safety"]["exact_in"].append("float8"), "exact_in"),
    "sound_in": ("interval", lambda d: d["float_safety"].update(sound_in=["bfloat16", "float32", "float64"]),
                 "sound_in"),
    "magic kind": ("exact", lambda d: d.update(kind="magic"), "kind"),
    "claim text": ("exact", lambda d: d.update(claim="correct on every input of every program"), "claim"),
    "assumptions dropped": ("bounded", lambda d: d.update(assumptions=[]), "assumptions"),
    "bounded margin": ("bounded", lambda d: d["ideal"].update(margin_lower_bound="5"), "margin_lower_bound"),
    "longer length": ("bounded", lambda d: d.update(correct_up_to_length=10**9), "length"),
    "certificate dfa": ("exact", lambda d: d["dfa"].update(accepting=[]), "dfa"),
    "certificate labels": ("exact", lambda d: d.update(labels=[1, 0]), "labels"),
}


@pytest.mark.parametrize("lie", list(LIES))
def test_a_lie_in_the_certificate_fails_verify(lsrl, copy, lie):
    kind, change, field = LIES[lie]
    directory = copy(kind)
    _edit_json(directory / "certificate.json", change)
    assert_refused(lsrl("verify", directory), field)


def test_a_dfa_json_that_accepts_other_strings_fails_verify(lsrl, copy):
    directory = copy("exact")
    _edit_json(directory / "dfa.json", lambda d: d.update(accepting=d["states"][1:], labels=[0, 1]))
    assert_refused(lsrl("verify", directory), "dfa.json", "does not match the source")


@pytest.mark.parametrize("source", ["task:mod:3", "regex:(0|1)*", "task:parity-of-nothing"])
def test_a_changed_source_in_config_json_fails_verify(lsrl, copy, source):
    directory = copy("exact")
    _edit_json(directory / "config.json", lambda d: d.update(source=source))
    outcome = lsrl("verify", directory)  # an unknown task's message goes on to list the known ones
    assert outcome.code == 2 and "Traceback" not in outcome.err and outcome.err.startswith("lsrl verify: error: ")


@pytest.mark.parametrize("kind, arch", [("exact", "diag-01"), ("exact", "mamba"), ("bounded", "diag-neg"),
                                        ("interval", "deltaproduct"), ("exact", "no-such-class")])
def test_a_changed_class_in_config_json_fails_verify(lsrl, copy, kind, arch):
    directory = copy(kind)
    _edit_json(directory / "config.json", lambda d: d.update(arch=arch))
    assert_refused(lsrl("verify", directory), "arch" if arch != "no-such-class" else "no-such-class")


def test_a_changed_spectral_class_in_a_bounded_certificate_fails_verify(lsrl, copy):
    directory = copy("bounded")
    _edit_json(directory / "certificate.json", lambda d: d["spectral"].update({"class": "diag-neg"}))
    assert_refused(lsrl("verify", directory), "spectral.class")


def test_verify_source_flag_rederives_from_another_spelling(lsrl, compiled):
    assert lsrl("verify", compiled["exact"], "--source", "parity").code == 0
    assert_refused(lsrl("verify", compiled["exact"], "--source", "task:mod:4"))


WEIGHTS = {
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"\x00\x01garbage" * 10),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "huge header length": lambda p: p.write_bytes((2**62).to_bytes(8, "little") + p.read_bytes()[8:]),
    "missing": lambda p: p.unlink(),
    "nan weight": lambda p: save_file({k: (v.fill_(float("nan")) if k.endswith("readout.weight") else v)
                                       for k, v in load_file(p).items()}, p),
    "inf weight": lambda p: save_file({k: (v.fill_(float("inf")) if k.endswith("readout.bias") else v)
                                       for k, v in load_file(p).items()}, p),
    "wrong shape": lambda p: save_file({k: (torch.zeros(7, 7) if k.endswith("readout.weight") else v)
                                        for k, v in load_file(p).items()}, p),
    "extra tensor": lambda p: save_file({**load_file(p), "intruder": torch.zeros(2)}, p),
}


@pytest.mark.parametrize("attack", list(WEIGHTS))
@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_a_malformed_weights_file_is_one_error(lsrl, copy, attack, command):
    directory = copy("exact")
    WEIGHTS[attack](directory / "model.safetensors")
    assert_refused(lsrl(command, directory), "model.safetensors")


CONFIGS = {
    "another arch": (lambda d: d["model"].update(arch="lstm"), "model.safetensors"),
    "unknown arch": (lambda d: d["model"].update(arch="transformer"), "arch"),
    "extra key": (lambda d: d["model"].update(colour="red"), "colour"),
    "missing key": (lambda d: d["model"].pop("d_model"), "d_model"),
    "string width": (lambda d: d["model"].update(d_model="3"), "d_model"),
    "negative width": (lambda d: d["model"].update(d_model=-3), "d_model"),
    "huge width": (lambda d: d["model"].update(d_model=10**12), "d_model"),
    "bool exact": (lambda d: d["model"].update(n_labels=True), "n_labels"),
    "layers not a list": (lambda d: d["model"].update(layers={"d_state": 1}), "layers"),
    "layer field type": (lambda d: d["model"]["layers"][0].update(n_h="1"), "n_h"),
    "gate range": (lambda d: d["model"]["layers"][0].update(gate_range=[2, 1]), "gate_range"),
    "unknown dtype": (lambda d: d["model"].update(dtype="float8"), "dtype"),
    "list at top": (lambda d: [d], "config.json"),
    "no model": (lambda d: d.pop("model"), "model"),
}


@pytest.mark.parametrize("attack", list(CONFIGS))
@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_a_malformed_config_json_is_one_error_naming_the_field(lsrl, copy, attack, command):
    change, field = CONFIGS[attack]
    directory = copy("exact")
    _edit_json(directory / "config.json", change)
    assert_refused(lsrl(command, directory), field)


@pytest.mark.parametrize("text", ["", "{", "[" * 100_000 + "]" * 100_000, '{"model": NaN}', b"\xff\xfe{}"])
def test_a_config_json_that_is_not_json_is_one_error(lsrl, copy, text):
    directory = copy("exact")
    path = directory / "config.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_refused(lsrl("verify", directory), "config.json")


CERTIFICATES = {
    "no dfa": (lambda d: d.pop("dfa"), "dfa"),
    "no configurations": (lambda d: d.pop("configurations") and None, "configurations"),
    "list at top": (lambda d: [d], "certificate.json"),
    "start out of range": (lambda d: d.update(start=99), "start"),
    "nan value": (lambda d: d["configurations"][0]["layers"][0].__setitem__(0, "nan"), "certificate"),
    "huge exponent": (lambda d: d["configurations"][0]["layers"][0].__setitem__(0, "1e999999999"), "exponent"),
    "huge margin": (lambda d: d.update(readout_margin="1e999999999"), "exponent"),
    "exponent of 5000 digits": (lambda d: d.update(readout_margin="1e" + "9" * 5000), "exponent"),
    "deep nesting": (lambda d: d.update(configurations=json.loads("[" * 500 + "]" * 500)), "nested"),
    "successor type": (lambda d: d["successors"][0].__setitem__(0, "x"), "successor"),
    "layer not a list": (lambda d: d["configurations"][0].update(layers=5), "certificate"),
    "state name unknown": (lambda d: d["configurations"][0].update(dfa_state="nowhere"), "certificate"),
    "no format": (lambda d: d.pop("format"), "lsrl-certificate"),
}


@pytest.mark.parametrize("attack", list(CERTIFICATES))
def test_a_malformed_certificate_is_one_error(lsrl, copy, attack):
    change, field = CERTIFICATES[attack]
    directory = copy("exact")
    _edit_json(directory / "certificate.json", change)
    assert_refused(lsrl("verify", directory), field)


def test_a_certificate_nested_100k_deep_is_one_error(lsrl, copy):
    directory = copy("exact")
    (directory / "certificate.json").write_text("[" * 100_000 + "]" * 100_000)
    assert_refused(lsrl("verify", directory), "nested")


@pytest.mark.parametrize("target", ["/etc/passwd", "/nonexistent/dir", "/"])
@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_a_path_that_is_not_a_model_directory_is_one_error(lsrl, command, target):
    assert_refused(lsrl(command, target), "not an lsrl model directory")


def test_a_large_config_is_checked_against_the_weights_without_allocating(lsrl, copy):
    directory = copy("exact")
    _edit_json(directory / "config.json", lambda d: (d["model"].update(d_model=2**20),
                                                     d["model"]["layers"][0].update(d_state=64)) and None)
    assert_refused(lsrl("verify", directory), "config.json: field 'model'", "(more than --max-parameters")
    assert_refused(lsrl("verify", directory, "--max-parameters", 2**40), "model.safetensors", "config.json implies")


def test_a_float64_program_directory_loads_and_verify_says_what_it_checks(lsrl, tmp_path):
    from tests.reliability.conftest import ROOT

    out = tmp_path / "prog"
    assert lsrl("compile", ROOT / "examples" / "parity.lsrl", "--arch", "mamba-neg", "-o", out).code == 0
    assert lsrl("inspect", out).code == 0
    verified = lsrl("verify", out)  # a compiled program is recompiled from its source (lsrl.compiler.verify)
    assert verified.code == 0, verified
    assert "recompiled from" in verified.out and "the same weights and claims (exact in float64)" in verified.out


INTERVAL_CERTIFICATES = {
    "no boxes": (lambda d: d.update(boxes=[]), "field 'boxes'"),
    "float_safety null": (lambda d: d.update(float_safety=None), "float_safety.rounding"),
    "rounding a list": (lambda d: d["float_safety"].update(rounding=[]), "float_safety.rounding"),
    "a spectral layer missing": (lambda d: d["spectral"]["layers"].pop(0) and None, "spectral.layers"),
    "successors text": (lambda d: d.update(successors="x"), "successor table"),
    "successor a word": (lambda d: d["successors"][0].__setitem__(0, "x"), "successor row 0"),
    "successor out of range": (lambda d: d["successors"][0].__setitem__(0, 10**6), "successor row 0"),
}


@pytest.mark.parametrize("attack", list(INTERVAL_CERTIFICATES))
def test_a_malformed_interval_certificate_is_one_error(lsrl, copy, attack):
    """Each of these made the interval checker raise (IndexError, ValueError, AttributeError, TypeError) inside its
    own code, which verify reported as a malformed certificate; the fields are now checked before it runs."""
    change, field = INTERVAL_CERTIFICATES[attack]
    directory = copy("interval")
    _edit_json(directory / "certificate.json", change)
    assert_refused(lsrl("verify", directory), field)


def test_a_checker_that_crashes_is_a_bug_not_a_malformed_certificate(lsrl, copy, monkeypatch):
    """An exception inside a checker on a well-formed certificate is lsrl's bug: ``CheckerFailed`` (not an input
    error: the CLI lets it through with its traceback and exit code 1), naming the checker and the exception and
    asking for a report; never "malformed certificate" with exit 2."""
    from automata.errors import LsrlInputError
    from lsrl.artifacts import CheckerFailed
    from proofs import certificate

    def crash(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(certificate, "verify_exact", crash)
    with pytest.raises(CheckerFailed) as info:
        lsrl("verify", copy("exact"))
    assert not isinstance(info.value, LsrlInputError)
    message = str(info.value)
    assert "the exact certificate checker failed (ZeroDivisionError: a bug)" in message
    assert "bug in lsrl" in message and "please report it" in message and "malformed" not in message


def test_a_checker_crash_exits_1_with_the_traceback(copy):
    """The same crash in the ``lsrl`` process: the traceback and the message, exit code 1 (the CLI's code for an
    internal error), not the exit code 2 of a user's bad input."""
    import subprocess
    import sys

    from tests.reliability.conftest import ROOT

    script = ("import sys; from proofs import certificate; certificate.verify_exact = lambda *a, **k: 1 / 0; "
              "from lsrl.cli import main; sys.exit(main(['verify', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", script, str(copy("exact"))], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done
    assert "Traceback" in done.stderr and "checker failed (ZeroDivisionError" in done.stderr


def _program_directory(lsrl, tmp_path) -> Path:
    from tests.reliability.conftest import ROOT

    out = tmp_path / "prog"
    assert lsrl("compile", ROOT / "examples" / "parity.lsrl", "--arch", "mamba-neg", "-o", out).code == 0
    return out


@pytest.mark.parametrize("recorded, said", [
    ({"version": "0.0.9", "commit": "0123456789ab"}, "written by another lsrl (version 0.0.9, commit 0123456789ab; "
                                                     "this is version "),
    (None, "written by an older lsrl, which did not record its version"),
])
def test_a_program_directory_of_another_build_says_so_on_a_mismatch(lsrl, tmp_path, recorded, said):
    """A compiled program whose recompilation differs (here: its program hash) and whose config.json records
    another lsrl build, or none, is refused saying so and asking to recompile, beside the mismatch."""
    from lsrl.build import this_build

    out = _program_directory(lsrl, tmp_path)
    assert json.loads((out / "config.json").read_text())["lsrl"] == this_build()
    assert lsrl("verify", out).code == 0
    _edit_json(out / "config.json", lambda d: (d.update(program_hash="0" * 64),
                                               d.update(lsrl=recorded) if recorded else d.pop("lsrl")) and None)
    assert_refused(lsrl("verify", out), "field 'program_hash' differs", said, "recompile it")


def test_a_mismatch_of_this_build_names_no_other_build(lsrl, tmp_path):
    out = _program_directory(lsrl, tmp_path)
    _edit_json(out / "config.json", lambda d: d.update(program_hash="0" * 64))
    done = lsrl("verify", out)
    assert_refused(done, "field 'program_hash' differs")
    assert "lsrl (" not in done.err and "older lsrl" not in done.err
