"""Train a model of one architecture class on one task: next-label prediction at every position, as Deletang et al. 2023
and Grazzi et al. 2025 train; a pure function of its ``TrainConfig`` (docs/reproduce.md#training-lsrl-train)."""
from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from automata.errors import InvalidOption, LsrlInputError
from automata.tasks import Task, get_task
from lsrl.training.curriculum import MAX_LENGTH, Curriculum
from lsrl.training.evaluate import LengthMetrics, evaluate
from lsrl.training.warm_start import initial_model
from models import registry
from models.config import LayerConfig, ModelConfig
from models.origin import TrainingOrigin
from models.stack import RecurrentModel


class TrainingDiverged(LsrlInputError):
    """A run whose loss or weights stopped being finite (usually a learning rate too large)."""


# Inclusive ranges of the integer options; the upper bounds refuse sizes no run can mean before any allocation.
INTEGER_OPTIONS: dict[str, tuple[int, int]] = {
    "layers": (1, 256), "n_h": (1, 64), "d_model": (1, 16384), "d_state": (1, 16384), "mlp_hidden": (0, 65536),
    "steps": (1, 10**9), "batch": (1, 65536), "warmup": (0, 10**9), "eval_n": (1, 65536), "seed": (0, 2**32 - 1),
    "heads": (0, 64)}
BLOCKS = ("reference", "plain")  # the class's reference layer (models.registry.REFERENCE_BLOCKS) or the bare recurrence
LOSSES = ("every", "final")  # the label after every prefix, or only the answer (Task.final_position) of each string
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}  # autocast dtype of the forward pass (weights stay float32)


def _check_integer(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise InvalidOption(f"{name} = {value!r:.40}: must be an integer from {low} to {high}")


WARM_STEPS = 10
"""Steps before the timing of a run's steps starts (the first ones compile kernels)."""
MAX_ACTIVATIONS = 2**32
"""Most d_model-wide activations of one forward pass (strings x length x d_model x layers): 16 GiB in float32."""
MAX_REAL = 1e30
"""Largest lr, weight_decay or clip: AdamW's step size lr / (1 - beta1^t) must still be a float32."""


def _check_real(name: str, value: object, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_REAL \
            or (positive and value == 0):
        raise InvalidOption(f"{name} = {value!r:.40}: must be a finite number {'> 0' if positive else '>= 0'} "
                               f"and at most {MAX_REAL:g}")


def _curriculum(value: object) -> Curriculum:
    """``value`` as a Curriculum (a record's dict of its fields is one); anything else is an input error."""
    if isinstance(value, dict) and set(value) <= {f.name for f in fields(Curriculum)}:
        return Curriculum(**value)
    if not isinstance(value, Curriculum):
        raise InvalidOption(f"curriculum = {value!r:.40}: must be a Curriculum or a dict of its fields")
    return value


def _check_options(config: TrainConfig) -> None:
    """Every option in its domain, before any weight or batch is allocated."""
    for name, (low, high) in INTEGER_OPTIONS.items():
        _check_integer(name, getattr(config, name), low, high)
    for name, positive in (("lr", True), ("weight_decay", False), ("clip", False), ("lr_floor", False)):
        _check_real(name, getattr(config, name), positive)
    if config.lr_floor > 1:
        raise InvalidOption(f"lr_floor = {config.lr_floor!r}: the final learning rate is a fraction of lr, at most 1")
    _check_choices(config)
    if not isinstance(config.eval_lengths, (tuple, list)) or not config.eval_lengths:
        raise InvalidOption(f"eval_lengths = {config.eval_lengths!r:.40}: give at least one length")
    for length in config.eval_lengths:
        _check_integer("eval_lengths", length, 1, MAX_LENGTH)
    width = config.d_model * config.layers
    for what, strings, length in (("batch x train length", config.batch, config.train_length),
                                  ("eval strings x eval length", min(config.eval_n, 256), max(config.eval_lengths))):
        if strings * length * width > MAX_ACTIVATIONS:
            raise InvalidOption(f"{what} x d_model x layers = {strings} x {length} x {config.d_model} x "
                                   f"{config.layers} activations, more than the {MAX_ACTIVATIONS} one pass may hold")
    gate = config.gate_range
    if gate is not None and (len(gate) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in gate)
                             or gate[0] > gate[1]):
        raise InvalidOption(f"gate_range = {gate!r:.40}: must be two finite numbers LO <= HI")


def _check_choices(config: TrainConfig) -> None:
    """``loss``, ``precision``, ``lengths`` and ``parts`` in their domains."""
    for name, allowed in (("loss", LOSSES), ("precision", tuple(PRECISIONS))):
        if getattr(config, name) not in allowed:
            raise InvalidOption(f"{name} = {getattr(config, name)!r:.40}: must be one of {', '.join(allowed)}")
    if config.lengths is not None:
        if not isinstance(config.lengths, (tuple, list)) or len(config.lengths) != 2:
            raise InvalidOption(f"lengths = {config.lengths!r:.40}: give two lengths LO <= HI")
        for length in config.lengths:
            _check_integer("lengths", length, 1, MAX_LENGTH)
        if config.lengths[0] > config.lengths[1]:
            raise InvalidOption(f"lengths = {tuple(config.lengths)}: LO exceeds HI")
    pairs = tuple(config.parts.items()) if isinstance(config.parts, dict) else config.parts
    if not isinstance(pairs, (tuple, list)) or not all(
            isinstance(pair, (tuple, list)) and len(pair) == 2 and pair[0] in registry.BLOCK_PARTS for pair in pairs):
        raise InvalidOption(f"parts = {config.parts!r:.60}: must be (name, value) pairs of block parts "
                               f"({', '.join(registry.BLOCK_PARTS)})")


def resolve_device(name: str | torch.device) -> torch.device:
    """``name`` as a torch device present on this machine: an unknown or absent device is an input error."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise InvalidOption(f"device {str(name)!r:.40}: not a device name (write cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOption(f"device {str(name)!r}: no CUDA device is available on this machine")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise InvalidOption(f"device {str(name)!r}: this machine has {torch.cuda.device_count()} CUDA devices")
    if device.type not in ("cpu", "cuda"):
        raise InvalidOption(f"device {str(name)!r}: lsrl trains on cpu or cuda")
    return device


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on. ``arch`` is any name of ``models.registry`` (kept canonical);
    ``gate_range`` narrows the class's range (diagonal gates, or the Householder beta of the delta classes);
    ``eval_lengths`` are evaluated after training. ``block`` "reference" trains the block of the class's reference
    layer (docs/architectures.md), "plain" the bare recurrence; ``heads`` > 0 overrides the block's head count.
    ``init`` names a saved model directory of the class (compiled or trained) to continue from: its model's
    shape then replaces layers, n_h, gate_range, d_model, d_state, mlp_hidden, block and heads.
    ``parts`` overrides single parts of the block ((name, value) pairs of ``LayerConfig``, e.g. (("conv", 0),)).
    ``lengths`` = (LO, HI) draws every training string's length uniformly from LO..HI (the papers' data)
    instead of the ``curriculum``; ``loss`` "final" puts the loss on each string's answer only
    (``Task.final_position``); ``precision`` "bfloat16" trains and evaluates under bfloat16 autocast;
    ``clip`` 0 is no gradient clipping; the cosine decay ends at ``lr_floor`` x ``lr``."""

    task: str
    arch: str
    layers: int = 1
    n_h: int = 1
    gate_range: tuple[float, float] | None = None
    d_model: int = 32
    d_state: int = 16
    mlp_hidden: int = 0
    steps: int = 1000
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    warmup: int = 50
    clip: float = 1.0
    curriculum: Curriculum = field(default_factory=Curriculum)
    eval_lengths: tuple[int, ...] = (40, 256, 500)
    eval_n: int = 256
    seed: int = 0
    block: str = "reference"
    heads: int = 0
    init: str | None = None
    parts: tuple[tuple[str, Any], ...] = ()
    lengths: tuple[int, int] | None = None
    loss: str = "every"
    precision: str = "float32"
    lr_floor: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.curriculum, dict):
            object.__setattr__(self, "curriculum", _curriculum(self.curriculum))
        for name in ("parts", "lengths"):  # a JSON record gives lists
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(tuple(v) if isinstance(v, list) else v for v in value))
        _check_options(self)
        arch = registry.require(self.arch, "train")
        object.__setattr__(self, "arch", arch.name)
        if self.block not in BLOCKS:
            raise InvalidOption(f"block = {self.block!r:.40}: must be one of {', '.join(BLOCKS)}")
        if self.heads > 1 and "heads" not in registry.FAMILY_PARTS[arch.family]:
            with_heads = (a.name for a in registry.ARCHITECTURES if "heads" in registry.FAMILY_PARTS[a.family])
            raise InvalidOption(f"{arch.name} has no heads; heads apply to {', '.join(with_heads)}")
        if self.gate_range is not None:
            object.__setattr__(self, "gate_range", _narrowed(arch, tuple(float(v) for v in self.gate_range)))
        if arch.n_h is not None and self.n_h != arch.n_h:
            raise InvalidOption(f"{arch.name} has n_h = {arch.n_h}, not {self.n_h}; more factors per token "
                                      "is deltaproduct")
        object.__setattr__(self, "eval_lengths", tuple(int(v) for v in self.eval_lengths))

    @property
    def resolved_gate_range(self) -> tuple[float, float] | None:
        return self.gate_range if self.gate_range is not None else registry.get(self.arch).gate_range

    @property
    def train_length(self) -> int:
        return self.lengths[1] if self.lengths is not None else _curriculum(self.curriculum).max_length

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**data)


def _narrowed(arch: registry.Architecture, gate: tuple[float, ...]) -> tuple[float, float]:
    """``gate`` if it lies inside ``arch``'s range: a wider one is another class (diag-01 with gates in
    [-1, 1] is diag-neg), so it is refused with the class that has it."""
    widest = arch.gate_range
    if widest is None:
        raise InvalidOption(f"{arch.name} has no gate range; gate ranges apply to "
                                  + ", ".join(a.name for a in registry.ARCHITECTURES if a.gate_range))
    if len(gate) != 2 or not widest[0] <= gate[0] <= gate[1] <= widest[1]:
        wider = [a.name for a in registry.ARCHITECTURES
                 if (a.family, a.layer, a.n_h) == (arch.family, arch.layer, arch.n_h) and a.gate_range is not None
                 and a.gate_range[0] <= gate[0] and gate[-1] <= a.gate_range[1]]
        hint = f": that is {wider[0]}" if wider else ""
        raise InvalidOption(f"gate range {list(gate)} is outside {arch.name}'s {list(widest)}{hint}")
    return gate[0], gate[1]


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A trained model, its loss every ``log_every`` steps, its metrics per length, and the cost: the whole wall
    time and the seconds per optimiser step after the first ``WARM_STEPS`` (kernel compilation excluded)."""

    config: TrainConfig
    model: RecurrentModel
    losses: tuple[float, ...]
    metrics: tuple[LengthMetrics, ...]
    wall_time: float
    device: str
    step_time: float = math.nan

    def record(self) -> dict[str, Any]:
        """The JSON record of the run saved beside the weights."""
        return {"train": self.config.to_json(), "metrics": [m.to_json() for m in self.metrics],
                "losses": list(self.losses), "wall_time_s": self.wall_time, "step_s": self.step_time, "device": self.device,
                "torch": torch.__version__, "python": platform.python_version()}


def model_config(config: TrainConfig, task: Task) -> ModelConfig:
    """The trainable (``exact=False``) model of ``config``'s class, sized for ``task``."""
    arch = registry.get(config.arch)
    gate = config.resolved_gate_range
    block = {**(dict(arch.block) if config.block == "reference" else {}), **dict(config.parts)}
    if config.heads:
        block["heads"] = config.heads
    layer = LayerConfig(d_state=config.d_state, mlp_hidden=config.mlp_hidden, n_h=config.n_h,
                        **({"gate_range": gate} if gate is not None else {}), **dict(arch.layer), **block)
    return ModelConfig(arch.family, task.dfa.n_symbols, max(task.n_labels, 2), config.d_model, (layer,) * config.layers,
                       origin=TrainingOrigin(task.name, config.arch), norm=layer.norm)


def build_model(config: TrainConfig, task: Task) -> RecurrentModel:
    """The initial model: weights drawn from ``config.seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return RecurrentModel(model_config(config, task))


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``lr_floor`` x ``lr``."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    floor = config.lr_floor
    return config.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def batch(task: Task, config: TrainConfig, step: int, rng: np.random.Generator,
          device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Symbols and labels of one training batch, (B, T) each, and the (B, T) mask of the positions that
    carry the loss. With ``lengths``, strings are drawn at the longest length and string b ends at its own
    uniform length (a causal model's output at a position reads only the prefix, so a prefix is a shorter
    string; every sampler draws prefix-closed strings, except one that marks each string's end, such as the
    '=' of modarith-eq, which is told the ends)."""
    if config.lengths is None:
        length = config.curriculum.length(step, config.steps, rng)
        ends = np.full(config.batch, length)
    else:
        length = config.lengths[1]
        ends = rng.integers(config.lengths[0], length + 1, size=config.batch)
    symbols = task.sample(config.batch, length, rng, ends)
    labels = task.label_sequence(symbols)
    return (torch.as_tensor(symbols, device=device), torch.as_tensor(labels, device=device),
            torch.as_tensor(loss_mask(task, config.loss, ends, length), device=device))


def loss_mask(task: Task, loss: str, ends: np.ndarray, length: int) -> np.ndarray:
    """(B, length) booleans: the positions of string b (ending at ``ends[b]``) that carry the loss, every
    one before its end (``loss`` "every") or only its answer, ``task.final_position(ends[b])`` ("final")."""
    positions = np.arange(length)[None, :]
    if loss == "every":
        return positions < ends[:, None]
    finals = np.array([task.final_position(int(end)) for end in ends])
    return positions == finals[:, None]


def autocast(config: TrainConfig, device: torch.device):
    """The forward passes' precision: bfloat16 autocast (as the papers train and evaluate) or none."""
    dtype = PRECISIONS[config.precision]
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def train(config: TrainConfig, device: str | torch.device = "cpu", progress: bool = False,
          log_every: int = 10) -> TrainResult:
    """Train ``config`` on ``device`` and evaluate it at ``config.eval_lengths``; with ``progress``,
    show a rich progress bar with the running loss."""
    device = resolve_device(device)
    task = get_task(config.task)
    model = (initial_model(config.init, config.arch, task) if config.init else build_model(config, task)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rng = np.random.default_rng(config.seed)
    losses: list[float] = []
    started = warm = time.perf_counter()
    with _progress(progress, f"{config.task} {config.arch}", config.steps) as advance:
        model.train()
        for step in range(config.steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            symbols, labels, mask = batch(task, config, step, rng, device)
            with autocast(config, device):
                logits = model(symbols)
            loss = F.cross_entropy(logits[mask].float(), labels[mask])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDiverged(f"training diverged at step {step + 1} of {config.steps}: the loss is {value} "
                                       f"(lr {config.lr:g}); nothing was saved")
            if step % log_every == 0 or step == config.steps - 1:
                losses.append(value)
            advance(value)
            if step + 1 == min(WARM_STEPS, config.steps - 1):
                warm = time.perf_counter()
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise TrainingDiverged(f"training diverged: the weights after step {config.steps} are not finite "
                               f"(lr {config.lr:g}); nothing was saved")
    trained = time.perf_counter()
    with autocast(config, device):
        metrics = evaluate(model, task, config.eval_lengths, config.eval_n, config.seed)
    timed = config.steps - min(WARM_STEPS, config.steps - 1)
    return TrainResult(config, model, tuple(losses), metrics, time.perf_counter() - started, _describe(device),
                       (trained - warm) / timed)


def save_run(result: TrainResult, directory: str | Path) -> Path:
    """Weights as safetensors and the run record in config.json (``models.checkpoint`` layout)."""
    from models.checkpoint import save

    return save(result.model, directory, extra={"run": result.record()})


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


class _progress:
    """A rich progress bar (or nothing) whose ``advance(loss)`` moves it one step."""

    def __init__(self, enabled: bool, label: str, total: int):
        self.enabled, self.label, self.total = enabled, label, total

    def __enter__(self):
        if not self.enabled:
            return lambda loss: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
                            TimeRemainingColumn(), transient=True)
        self.bar.__enter__()
        task_id = self.bar.add_task(self.label, total=self.total, loss=float("nan"))
        return lambda loss: self.bar.update(task_id, advance=1, loss=loss)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
