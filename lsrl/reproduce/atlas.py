"""The atlas: every task x every class, with the classifier's verdict, the construction's size, the trained accuracy at L
and 10L and the extracted automaton; ``disagreements`` lists the rows that contradict a theorem."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from automata.tasks import task_families
from lsrl.reproduce import budget
from lsrl.reproduce.grid import Cell
from lsrl.reproduce.plots import accuracy_by_length
from lsrl.reproduce.report import accuracy_cell, compiled_text, extraction_text, solved, verdict_text
from lsrl.reproduce.tables import Table
from models import registry

TITLE = "Atlas: theory, constructions and training per task and class"
CLASSES = tuple(a.name for a in registry.ARCHITECTURES if a.automaton == a.name and a.trains)  # own constructions
QUICK_GRID = (("parity", "diag-01"), ("parity", "diag-neg"), ("mod:3", "diag-neg"), ("flipflop", "diag-01"))


def cells(quick: bool) -> tuple[Cell, ...]:
    grid = QUICK_GRID if quick else tuple((f.example, arch) for f in task_families() for arch in CLASSES)
    lengths = {"eval_lengths": (40, 400)} if quick else {"eval_lengths": (40, 100, 256, 400, 500)}
    return tuple(Cell(arch, budget.config(quick, task, arch, **lengths, **_size(quick, arch)), budget.seeds(quick),
                      compile=True, extract=True)
                 for task, arch in grid)


def _size(quick: bool, arch: str) -> dict[str, Any]:
    return {"d_state": 4 if quick else 64} | ({"d_state": 16 if quick else 64} if arch == "rotation" else {})


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    rows = tuple((r["task"], r["class"], verdict_text(r), compiled_text(r), accuracy_cell(r, r["train_length"]),
                  accuracy_cell(r, 10 * r["train_length"]), extraction_text(r), "yes" if solved(r) else "no")
                 for r in records)
    return (Table("atlas", TITLE, ("task", "class", "theory", "compiled", "acc@L (%)", "acc@10L (%)",
                                   "extracted ≡ task", "solved"), rows,
                  "L = training length. Solved = every string right at 10L and the extracted automaton equals the task's."),)


def disagreements(records: list[dict[str, Any]]) -> list[str]:
    """Rows where a class that a theorem excludes compiled or solved the task."""
    out = []
    for r in records:
        v = r["verdict"]
        if v is None or v["status"] != "impossible" or not v["theorem"]:
            continue
        if r["compiled"] is not None and r["compiled"]["ok"]:
            out.append(f"{r['task']} / {r['class']}: compiled although a theorem excludes it")
        if solved(r):
            out.append(f"{r['task']} / {r['class']}: solved although a theorem excludes it")
    return out


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "atlas.png", TITLE)]
