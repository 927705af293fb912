"""``lsrl check | compile | run | inspect`` through the CLI's main."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lsrl.cli import main
from models.checkpoint import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_compile_writes_a_checkpoint_that_inspect_reads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "counter"
    assert main(["compile", str(EXAMPLES / "counter.lsrl"), "--arch", "lti", "-o", str(out), "--dtype", "float32",
                 "--max-length", "1000"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["arch"] == "lti" and len(config["program_hash"]) == 64
    assert config["exact_in_dtype"] is True and set(config["error_bounds"].values()) == {0.0}
    assert config["model"]["dtype"] == "float32" and config["model"]["d_input"] == 2
    assert next(load(out).parameters()).dtype == torch.float32
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer 0: state 3" in text and f"{config['size']['parameters']} parameters" in text
    assert "exact_in_dtype: True" in text


@pytest.mark.parametrize("source, arch", [(str(EXAMPLES / "parity.lsrl"), "mamba-neg"), ("task:S:3", "deltaproduct"),
                                          ("task:mod:3", "rotation")])
def test_inspect_names_the_compiled_class_and_the_state_size_compile_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture, source: str, arch: str) -> None:
    out = tmp_path / "m"
    assert main(["compile", source, "--arch", arch, "-o", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{out}: {arch},")
    state = config["size"].get("state_size", config["size"].get("state"))
    assert lines[-1].startswith(f"total: {config['size']['layers']} layers, state {state},")


def test_compile_refuses_with_exit_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "parity"
    assert main(["compile", str(EXAMPLES / "parity.lsrl"), "--arch", "mamba", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "parity.lsrl:7:12: mamba cannot express the diagonal state 'sign'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_compile_sends_other_sources_to_the_automaton_constructions(tmp_path: Path) -> None:
    assert main(["compile", "task:parity", "--arch", "dense-lrnn", "-o", str(tmp_path / "p")]) == 0
    assert json.loads((tmp_path / "p" / "config.json").read_text())["source"] == "task:parity"


def test_run_compares_with_the_compiled_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", str(EXAMPLES / "ifelse.lsrl"), "--input-str", "1,2,3 -1,4,5", "--arch", "lti",
                 "--input-range", "v=-9:9:1", "--max-length", "50"]) == 0
    out = capsys.readouterr().out
    assert "2  gated=[5]" in out and "equals the interpreter exactly at every step" in out


@pytest.mark.parametrize("bad", ["v=1", "v=3:1", "=0:1", "v=0:1:0", "v=a:b"])
def test_bad_input_ranges_exit_2(bad: str) -> None:
    assert main(["run", str(EXAMPLES / "ifelse.lsrl"), "--input-str", "1,2,3", "--arch", "lti", "--input-range", bad]) == 2


def test_check_prints_the_summary(capsys: pytest.CaptureFixture) -> None:
    assert main(["check", str(EXAMPLES / "parity.lsrl")]) == 0
    assert "outputs odd: 1" in capsys.readouterr().out


def test_params_are_set_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "window.lsrl"
    source.write_text("use counters\nparam T = 3\ninput x : 1\noutput w = history(x, T)\n")
    assert main(["check", str(source), "--param", "T=5"]) == 0
    assert "outputs w: 5" in capsys.readouterr().out
    assert main(["run", str(source), "--param", "T=2", "--input-str", "1 2", "--arch", "lti",
                 "--input-range", "x=0:4:1"]) == 0
    assert "2  w=[2, 1]" in capsys.readouterr().out
    assert main(["check", str(source), "--param", "U=5"]) == 2
    assert "declares no `param U`" in capsys.readouterr().err
    assert main(["check", str(source), "--param", "T"]) == 2
