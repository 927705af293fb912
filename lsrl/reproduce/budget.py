"""Training budgets of the reproductions: the full one (GPU) and a CPU smoke test; why these sizes:
docs/reproduce.md#reproductions-lsrl-reproduce-name---quick."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from lsrl.training.curriculum import Curriculum
from lsrl.training.train import TrainConfig

# The papers' test range, 40 to 256, at eight lengths (their score averages over it), then beyond.
PAPER_TEST_LENGTHS = (40, 64, 96, 128, 160, 192, 224, 256)
PAPER_RANGE = (PAPER_TEST_LENGTHS[0], PAPER_TEST_LENGTHS[-1])
FULL = TrainConfig(task="parity", arch="diag-neg", d_model=128, d_state=64, steps=6_000, batch=128, lr=1e-3,
                   warmup=500, curriculum=Curriculum(40, 5, 0.2), eval_lengths=PAPER_TEST_LENGTHS + (400, 500), eval_n=512)
QUICK = TrainConfig(task="parity", arch="diag-neg", d_model=16, d_state=4, steps=400, batch=32, lr=5e-2,
                    warmup=50, curriculum=Curriculum(40, 2, 0.3), eval_lengths=(40, 400), eval_n=64)
FULL_SEEDS = (0, 1, 2)
QUICK_SEEDS = (0, 1)


def config(quick: bool, task: str, arch: str, **changes: Any) -> TrainConfig:
    """The budget's configuration for ``task`` and ``arch``, with ``changes`` applied."""
    return replace(QUICK if quick else FULL, task=task, arch=arch, **changes)


def seeds(quick: bool) -> tuple[int, ...]:
    return QUICK_SEEDS if quick else FULL_SEEDS
