"""The papers' own training protocols (``lsrl reproduce NAME --protocol paper``), as the official code of Grazzi et al.
2025 and Siems et al. 2025 sets them; docs/results/README.md cites each line."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from automata.errors import LsrlInputError
from lsrl.reproduce.budget import PAPER_TEST_LENGTHS
from lsrl.training.curriculum import Curriculum
from lsrl.training.train import TrainConfig
from models import registry

PROTOCOLS = ("ours", "paper")


class UnknownProtocol(LsrlInputError):
    """A protocol an experiment does not have."""


# Grazzi et al.: 2 layers of width 128 (yaml model.n_layers, d_model), batch 256 and lr 1e-3 (training.batch_size,
# lr), uniform lengths 3-40 (dataset min/max_sequence_length), the answer only (enable_mask), bfloat16 autocast
# (main.py get_available_dtype), no clipping (main.py has none), cosine to 1e-3 x lr (lr_decay_factor).
GRAZZI = dict(layers=2, d_model=128, batch=256, lr=1e-3, lengths=(3, 40), loss="final", precision="bfloat16",
              clip=0.0, lr_floor=1e-3, curriculum=Curriculum(40), eval_lengths=PAPER_TEST_LENGTHS, eval_n=512)
GRAZZI_TASKS: dict[str, dict[str, Any]] = {  # training.num_steps, lr_warmup_steps, weight_decay per task
    "modarith:5": dict(steps=100_000, warmup=10_000, weight_decay=0.1),
    "parity": dict(steps=20_000, warmup=2_000, weight_decay=0.0),
    # Their data (modular_arithmetic.py:24-57): expression, '=', answer, sizes 3..39 with the answer; our strings
    # end at '=' (the answer is the label there), lengths 2..39 put '=' uniformly at slots 1..37 (automata.tasks).
    "modarith-eq:5": dict(steps=100_000, warmup=10_000, weight_decay=0.1, lengths=(2, 39)),
}
# The tasks of their Table 3 as the paper protocol runs them: modular arithmetic on their data (with '=').
GRAZZI_TABLE = ("parity", "modarith-eq:5")
# DeltaNet (fla layer, use_short_conv, n_heads 4, key dim 128 -> 32 per head, MLP hidden_ratio 4 -> 512): our
# reference DeltaNet block. Mamba (xlstm/mamba/mamba.py: d_conv 1, i.e. no convolution; expand 2 -> 256
# channels; z-gate; pre-RMSNorm; no MLP).
GRAZZI_BLOCKS: dict[str, dict[str, Any]] = {
    "deltaproduct": dict(d_state=32, heads=4, mlp_hidden=512, block="reference"),
    "diag": dict(d_state=256, mlp_hidden=0, block="plain", parts=(("norm", True), ("out_gate", True))),
}

# Siems et al.: one layer of width 128, 8 heads of dim 32 (README --n_heads=8; main.py head_dim), no short
# convolution, no output gate, no forget gate (main.py GatedDeltaProductConfig), loss at every position (tagging),
# strings of fixed length 128 (strict_len, --k=128), test at 512 (--k_test), batch 2048, lr 1e-3, 100 epochs of
# 99,000 strings (49 steps each), cosine to 0 without warm-up (CosineAnnealingLR), weight decay 1e-6, no clipping.
SIEMS = dict(layers=1, d_model=128, d_state=32, heads=8, mlp_hidden=512, block="reference",
             parts=(("conv", 0), ("out_gate", False)), batch=2048, lr=1e-3, steps=4_900, warmup=0, lr_floor=0.0,
             weight_decay=1e-6, clip=0.0, lengths=(128, 128), loss="every", precision="bfloat16",
             curriculum=Curriculum(128), eval_lengths=(128, 256, 512), eval_n=512)


def grazzi(task: str, arch: str) -> TrainConfig:
    """Grazzi et al.'s configuration of ``task`` on ``arch`` (a class of their Table 3)."""
    if task not in GRAZZI_TASKS:
        raise UnknownProtocol(f"Grazzi et al.'s protocol covers {', '.join(GRAZZI_TASKS)}, not {task}")
    block = GRAZZI_BLOCKS[registry.get(arch).family]
    return TrainConfig(task=task, arch=arch, **{**GRAZZI, **GRAZZI_TASKS[task]}, **block)


def siems(task: str, n_h: int, layers: int = 1) -> TrainConfig:
    """Siems et al.'s configuration of a group word problem on DeltaProduct with ``n_h`` factors."""
    return TrainConfig(task=task, arch="deltaproduct", n_h=n_h, **{**SIEMS, "layers": layers})


def quick(config: TrainConfig) -> TrainConfig:
    """The CPU smoke-test size of a paper configuration: the same protocol, a tiny model and budget."""
    low, high = min(config.lengths[0], 8), min(config.lengths[1], 16)
    return replace(config, d_model=16, d_state=4, heads=min(config.heads, 2), mlp_hidden=min(config.mlp_hidden, 16),
                   steps=40, warmup=4, batch=16, lr=5e-3, lengths=(low, high), curriculum=Curriculum(high),
                   eval_lengths=(high, 2 * high), eval_n=32)


def check(name: str, protocol: str, module: Any) -> None:
    """Refuse a protocol the experiment ``module`` does not define."""
    if protocol not in PROTOCOLS:
        raise UnknownProtocol(f"--protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")
    if protocol not in getattr(module, "PROTOCOLS", ("ours",)):
        raise UnknownProtocol(f"--protocol {protocol}: {name} has only our protocol (no paper's code to follow)")
