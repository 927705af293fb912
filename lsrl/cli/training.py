"""Subcommands for trained models, thin over the library: ``lsrl train``, ``lsrl extract`` and ``lsrl reproduce``
(``lsrl.training.train``, ``lsrl.extraction``, ``lsrl.reproduce``)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from automata.errors import InvalidOption

if TYPE_CHECKING:
    from lsrl.training.train import TrainConfig


def _numbers(text: str, option: str, kind: type = float) -> tuple:
    """Comma-separated numbers of ``kind`` (``int`` or ``float``); anything else names ``option``."""
    try:
        return tuple(kind(v) for v in text.split(","))
    except (ValueError, OverflowError):
        words = "integers" if kind is int else "numbers"
        raise InvalidOption(f"{option} {text!r:.60}: write comma-separated {words}") from None


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The ``TrainConfig`` of ``lsrl train``'s arguments; the config validates every field."""
    from lsrl.training.curriculum import Curriculum
    from lsrl.training.train import TrainConfig

    gate = _numbers(args.gate_range, "--gate-range") if args.gate_range else None
    if gate is not None and len(gate) != 2:
        raise InvalidOption(f"--gate-range {args.gate_range!r:.60}: write LO,HI")
    return TrainConfig(task=args.task, arch=args.arch, layers=args.layers, n_h=args.nh, gate_range=gate,
                       d_model=args.d_model, d_state=args.d_state, steps=args.steps, batch=args.batch, lr=args.lr,
                       curriculum=Curriculum.up_to(args.train_length), seed=args.seed,
                       eval_lengths=_numbers(args.eval_lengths, "--eval-lengths", int), block=args.block,
                       heads=args.heads, init=args.init)


def _train(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lsrl.training.train import save_run, train
    from models.output_directory import check_target

    config = train_config(args)
    out = check_target(args.out or Path("runs") / f"{args.task.replace(':', '-')}-{args.arch}-seed{args.seed}")
    result = train(config, device=args.device, progress=not args.quiet)
    out = save_run(result, out)
    table = Table(title=f"{args.task} / {args.arch}: {result.wall_time:.1f} s on {result.device}")
    for column in ("length", "token acc", "final acc", "sequence acc", "scaled"):
        table.add_column(column, justify="right")
    for m in result.metrics:
        table.add_row(str(m.length), f"{m.token:.4f}", f"{m.final:.4f}", f"{m.sequence:.4f}", f"{m.scaled:.4f}")
    Console().print(table)
    print(f"saved to {out}")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from automata.tasks import get_task
    from lsrl.extraction import extract_automaton
    from models import registry
    from models.checkpoint import load, read_config, read_model_config
    from models.origin import TrainingOrigin

    tolerances = _numbers(args.tolerance, "--tolerance") if args.tolerance is not None else None
    if tolerances is not None and not all(math.isfinite(t) and t > 0 for t in tolerances):
        raise InvalidOption(f"--tolerance {args.tolerance!r:.60}: every tolerance must be a finite number > 0")
    config = read_config(args.directory)
    source = config.get("source") if isinstance(config.get("source"), str) else ""
    origin = read_model_config(args.directory).origin
    name = (args.task or config.get("run", {}).get("train", {}).get("task")
            or (origin.task if isinstance(origin, TrainingOrigin) else None)
            or (source.removeprefix("task:") if source.startswith("task:") else None))
    if name is None:
        raise InvalidOption(f"{args.directory}: no task recorded; pass --task")
    task = get_task(name)
    extraction = extract_automaton(load(args.directory), task.dfa, task.labels, tolerances)
    verdict = "equivalent to" if extraction.equivalent else "differs from"
    arch = config.get("run", {}).get("train", {}).get("arch") or config.get("arch")
    shown = f" ({registry.get(arch).name})" if isinstance(arch, str) else ""
    print(f"{args.directory}{shown}: {extraction.n_clusters} clusters (tolerance {extraction.tolerance:g}), "
          f"minimal automaton of {extraction.dfa.n_states} states, {verdict} {task.name}"
          f" ({task.dfa.n_states} states)")
    if not extraction.complete:
        print("the search did not close: more clusters than the limit")
    if extraction.counterexample is not None:
        print(f"shortest counterexample: {' '.join(extraction.counterexample) or '(empty word)'}")
    return 0 if extraction.equivalent else 1


def _reproduce(args: argparse.Namespace) -> int:
    from lsrl.reproduce import BUDGET_FIELDS, reproduce

    grid = dict(quick=args.quick, seeds=args.seeds, tasks=tuple(args.tasks.split(",")) if args.tasks else None,
                archs=tuple(args.archs.split(",")) if args.archs else None, protocol=args.protocol, scale=args.scale,
                budget={key: getattr(args, key) for key in BUDGET_FIELDS if getattr(args, key) is not None},
                extract=args.extract)
    if args.from_records:
        from lsrl.reproduce import render_saved

        result = render_saved(args.from_records, args.out or Path(args.from_records).parent, plots=not args.no_plots)
    elif args.from_units:
        from lsrl.reproduce import render_units

        result = render_units(args.name, args.from_units, args.out or Path(args.from_units).parent,
                              plots=not args.no_plots, **grid)
    else:
        result = reproduce(args.name, args.out or Path("results") / (args.name + ("-quick" if args.quick else "")),
                           device=args.device, progress=not args.quiet, plots=not args.no_plots, **grid)
    for path in result.files:
        print(path)
    if args.name == "atlas" and result.files:
        from lsrl.reproduce.atlas import disagreements

        for line in disagreements(result.records):
            print(f"disagreement with theory: {line}")
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    from lsrl.reproduce import EXPERIMENTS

    p = sub.add_parser("train", help="train a model of one class on a task and evaluate its length generalisation")
    p.add_argument("task", help="a task name (lsrl tasks lists them)")
    p.add_argument("--arch", required=True, help="an architecture class or alias (lsrl archs lists them)")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--nh", type=int, default=1, help="Householder factors per token (deltaproduct)")
    p.add_argument("--gate-range",
                   help="LO,HI inside the class's range (diagonal gates, or the Householder beta): narrows it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--d-state", type=int, default=16, help="state width per head")
    p.add_argument("--block", choices=("reference", "plain"), default="reference",
                   help="the class's reference layer (docs/architectures.md) or the bare recurrence")
    p.add_argument("--heads", type=int, default=0, help="heads (default: the block's)")
    p.add_argument("--init", metavar="DIR", help="continue from the compiled or trained model of the class in DIR "
                   "(its shape replaces the size options)")
    p.add_argument("--train-length", type=int, default=40, help="longest training string (curriculum ceiling)")
    p.add_argument("--eval-lengths", default="40,256,500")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", help="checkpoint directory (default runs/TASK-ARCH-seedS)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)

    p = sub.add_parser("extract", help="extract an automaton from a model directory and compare it with its task")
    p.add_argument("directory")
    p.add_argument("--task", help="the task to compare with (default: the one recorded in the directory)")
    p.add_argument("--tolerance", help="comma-separated grid tolerances, fine to coarse (relative to the state scale)")
    p.set_defaults(handler=_extract)

    p = sub.add_parser("reproduce", help="rerun a published experiment or the atlas; tables, plots and records")
    p.add_argument("name", choices=sorted(EXPERIMENTS))
    p.add_argument("--quick", action="store_true", help="a small grid that runs on a CPU in minutes")
    p.add_argument("--out", help="output directory (default results/NAME[-quick])")
    p.add_argument("--device", help="default: cuda:LOCAL_RANK when a GPU is present, else cpu")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-plots", action="store_true", help="tables and records only (no matplotlib)")
    p.add_argument("--seeds", type=int, help="keep only the first N seeds of each cell (default: the budget's)")
    p.add_argument("--tasks", help="comma-separated: run only the grid's cells of these tasks")
    p.add_argument("--archs", help="comma-separated architecture classes or aliases: run only their cells")
    p.add_argument("--steps", type=int, help="override every cell's optimiser steps (default: the budget's)")
    p.add_argument("--batch", type=int, help="override every cell's batch size")
    p.add_argument("--warmup", type=int, help="override every cell's learning-rate warm-up steps")
    p.add_argument("--protocol", choices=("ours", "paper"), default="ours",
                   help="paper: the papers' block, data, loss, optimiser, schedule and precision (docs/reproduce.md)")
    p.add_argument("--scale", type=float, help="multiply every cell's steps and warm-up by this fraction of the budget")
    p.add_argument("--from-records", metavar="NAME.json",
                   help="re-render the tables and plots of a saved run instead of training (NAME is then ignored)")
    p.add_argument("--extract", action="store_true", help="extract each cell's best model and record whether it is "
                   "the target's automaton, a quotient of it or nothing (lsrl.extraction.relation)")
    p.add_argument("--from-units", metavar="DIR",
                   help="render the finished cells of a run cut short from its OUT/units (give the run's grid options)")
    p.set_defaults(handler=_reproduce)
