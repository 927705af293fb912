"""lsrl train --init: a compiled or trained model of the run's class seeds training; any other is refused."""
from __future__ import annotations

import pytest
import torch

from automata.tasks import get_task
from lsrl.cli import main
from lsrl.training.curriculum import Curriculum
from lsrl.training.train import TrainConfig, save_run, train
from lsrl.training.warm_start import InitMismatch, initial_model
from models.checkpoint import load

TINY = dict(steps=3, batch=8, lr=1e-4, curriculum=Curriculum(12, 2, 0.5), eval_lengths=(500,), eval_n=16)


@pytest.fixture(scope="module")
def compiled_parity(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("init") / "parity"
    assert main(["compile", "task:parity", "--arch", "mamba-neg", "-o", str(out)]) == 0
    return str(out)


def test_the_compiled_model_is_the_initial_model_and_training_continues_from_it(compiled_parity: str) -> None:
    task = get_task("parity")
    start = initial_model(compiled_parity, "diag-neg", task)
    compiled = load(compiled_parity)
    assert start.config == compiled.config and all(
        torch.equal(a, b) for a, b in zip(start.state_dict().values(), compiled.state_dict().values()))
    result = train(TrainConfig(task="parity", arch="mamba-neg", init=compiled_parity, **TINY))
    assert result.model.config.exact and result.metrics[0].sequence == 1.0
    trained_weights = result.model.state_dict().values()
    assert any(not torch.equal(a, b) for a, b in zip(trained_weights, compiled.state_dict().values()))


def test_a_trained_run_seeds_another(tmp_path) -> None:
    first = train(TrainConfig(task="parity", arch="deltanet", d_model=8, d_state=2, **TINY))
    save_run(first, tmp_path / "run")
    second = train(TrainConfig(task="parity", arch="deltanet", init=str(tmp_path / "run"), **TINY))
    assert second.model.config == first.model.config


@pytest.mark.parametrize("arch, task, message", [
    ("deltanet", "parity", "holds a diag-neg model, not deltanet: train it with --arch diag-neg"),
    ("diag-01", "parity", "holds a diag-neg model, not diag-01"),
    ("diag-neg", "mod:3", "reads 2 symbols into 2 labels; mod:3 has 2 symbols and 3 labels"),
])
def test_another_class_or_task_is_refused(compiled_parity: str, arch: str, task: str, message: str) -> None:
    with pytest.raises(InitMismatch, match=message):
        initial_model(compiled_parity, arch, get_task(task))


def test_the_command_line_refuses_with_exit_2(compiled_parity: str, tmp_path, capsys) -> None:
    code = main(["train", "parity", "--arch", "deltanet", "--init", compiled_parity, "--quiet",
                 "--out", str(tmp_path / "x")])
    assert code == 2 and "train it with --arch diag-neg" in capsys.readouterr().err
    assert main(["train", "parity", "--arch", "diag-neg", "--init", str(tmp_path), "--quiet",
                 "--out", str(tmp_path / "y")]) == 2
    assert "not an lsrl model directory" in capsys.readouterr().err
