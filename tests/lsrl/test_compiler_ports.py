"""Compiled programs are ported (each map stores only the stream channels it reads and writes): LSRL's ported
programs compile no larger than LSRL's own compiler makes them, and ``lsrl verify`` refuses changed channel lists."""
from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from bench.compiled_sizes import CONFIGS
from lsrl.cli import main
from lsrl.compiler.pipeline import compile_program
from lsrl.lang.check import check_file

ROOT = Path(__file__).resolve().parents[2]
# LSRL's parameter counts (its ForEach.simplify() at commit 2675cd1, measured as docs/compiled-sizes.md says)
LSRL = {"more_ones_or_zeros SCALE=1024": 17, "continuous relu SCALE=1024": 352_398,
        "continuous gated SCALE=1024": 59_117, "token_map gated SCALE=1024": 273_687_298,
        "token_map relu SCALE=1024": 318_978_674_459, "conditionals SCALE=1024": 22_738}
SLOW = ("token_map",)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n.startswith(SLOW) else n for n in LSRL])
def test_lsrls_programs_compile_no_larger_than_lsrls_compiler_makes_them(name: str) -> None:
    config = next(c for c in CONFIGS if c.name == name)
    program = check_file(ROOT / config.path, config.params)
    compiled = compile_program(program, "lti", config.ranges, config.max_length)
    assert compiled.exact and compiled.size()["parameters"] <= LSRL[name]


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ports") / "counter"
    assert main(["compile", str(ROOT / "examples/lsrl-paper/more_ones_or_zeros.lsrl"), "--arch", "lti", "--param",
                 "SCALE=1024", "--input-range", "x=0:1:1", "--max-length", "64", "-o", str(out)]) == 0
    return out


def _changed(directory: Path, tmp_path: Path, field: str, channels: list[int]) -> Path:
    """A copy of ``directory`` whose first layer's ``field`` lists ``channels``."""
    copy = tmp_path / "changed"
    copy.mkdir()
    for path in directory.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    config = json.loads((copy / "config.json").read_text())
    config["model"]["layers"][0][field] = channels
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_verify_accepts_the_compiled_channel_lists(counter: Path) -> None:
    assert main(["verify", str(counter)]) == 0
    assert json.loads((counter / "config.json").read_text())["model"]["layers"][0]["mlp_writes"] == [2, 3]


def test_verify_refuses_swapped_written_channels(counter: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["verify", str(_changed(counter, tmp_path, "mlp_writes", [3, 2]))]) == 2
    err = capsys.readouterr().err
    assert "field 'model.layers' differs from the recompiled model's" in err and "Traceback" not in err


def test_a_channel_outside_the_stream_is_refused(counter: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", str(_changed(counter, tmp_path, "reads", [9]))]) == 2
    err = capsys.readouterr().err
    assert "layers[0].reads" in err and "0..3" in err and "Traceback" not in err


def test_a_layer_reading_nothing_compiles(tmp_path: Path) -> None:
    """A state driven by a constant reads no channel of the stream: its input map has no columns."""
    source = tmp_path / "steps.lsrl"
    source.write_text("input x : 1\nlet steps = lti([[0]] @ x + [1], [[1]], [[1]], init = [0])\noutput t = steps\n")
    compiled = compile_program(check_file(source, {}), "lti", None, 16)
    assert compiled.exact and compiled.model.config.layers[0].reads == ()
    assert compiled.run([[F(0)]] * 5)["t"].ravel().tolist() == [1, 2, 3, 4, 5]
