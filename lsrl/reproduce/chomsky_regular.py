"""Deletang et al. 2023's regular tasks for Elman (tanh), LSTM and the linear classes; their score averages the best run's
accuracy over test lengths 41..500, ours the token accuracy over the evaluated lengths above 40."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lsrl.reproduce import budget
from lsrl.reproduce.grid import Cell
from lsrl.reproduce.plots import accuracy_by_length
from lsrl.reproduce.tables import Table, percent

TITLE = "Regular tasks of Deletang et al. 2023"
CLASSES = (("RNN (tanh)", "elman-tanh"), ("LSTM", "lstm"), ("diag [0,1]", "diag-01"), ("diag [-1,1]", "diag-neg"),
           ("DeltaNet β∈[0,2]", "deltanet"))


def cells(quick: bool) -> tuple[Cell, ...]:
    tasks = ("parity", "even-pairs") if quick else ("parity", "even-pairs", "cycle:5", "modarith:5")
    classes = CLASSES[:3] if quick else CLASSES
    size = {"lr": 1e-2, "d_state": 8} if quick else {}
    return tuple(Cell(label, budget.config(quick, task, arch, **size), budget.seeds(quick)[:1])
                 for task in tasks for label, arch in classes)


def generalisation(record: dict[str, Any]) -> float:
    beyond = [m["token"] for m in record["metrics"] if m["length"] > record["train_length"]]
    return float(np.mean(beyond))


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    tasks = list(dict.fromkeys(r["task"] for r in records))
    labels = list(dict.fromkeys(r["label"] for r in records))
    by = {(r["task"], r["label"]): r for r in records}
    rows = tuple((task, *(percent(generalisation(by[task, c])) for c in labels)) for task in tasks)
    return (Table("chomsky-regular", TITLE + ": accuracy (%) beyond the training length", ("task", *labels), rows),)


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "chomsky-regular.png", TITLE)]
