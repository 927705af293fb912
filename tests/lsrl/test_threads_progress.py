"""``--threads`` (one thread by default for torch and the BLAS) and the progress shown by long commands."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
import torch

from lsrl import progress, threads
from lsrl.cli import build_parser, main


@pytest.mark.parametrize("argv, expected", [(["verify", "d"], 1), (["verify", "d", "--threads", "3"], 3),
                                            (["train", "--threads=2", "parity"], 2), (["verify", "--threads", "x"], 1),
                                            (["verify", "--threads", "0"], 1)])
def test_the_requested_threads_are_read_before_parsing(argv, expected):
    assert threads.requested(argv) == expected


def test_every_command_that_runs_models_takes_threads():
    choices = build_parser()._subparsers._group_actions[0].choices
    for name in threads.COMMANDS:
        assert "--threads" in choices[name].format_help()


def test_main_sets_torch_threads_and_the_environment(tmp_path):
    before = torch.get_num_threads()
    try:
        assert main(["verify", str(tmp_path / "missing"), "--threads", "2"]) == 2  # refused: not a model directory
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
        main(["verify", str(tmp_path / "missing")])
        assert torch.get_num_threads() == 1 and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(before)


def test_a_fresh_command_loads_torch_with_one_thread():
    code = ("import sys, lsrl.threads as t; t.limit(t.requested(sys.argv[1:])); import torch, numpy;"
            "print(torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in threads.VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1"


def test_a_short_command_shows_nothing_and_a_long_one_logs_lines(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.05)
    monkeypatch.setattr(progress, "LOG_SECONDS", 0.05)
    quiet = io.StringIO()
    with progress.Progress("lsrl verify", quiet) as shown:
        shown.phase("fast")
    assert quiet.getvalue() == ""
    stream = io.StringIO()
    with progress.Progress("lsrl verify", stream) as shown:
        shown.phase("checking out/s5")
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("lsrl verify: checking out/s5 (") for line in lines)
