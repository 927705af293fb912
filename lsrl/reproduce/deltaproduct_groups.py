"""Siems et al. 2025, "DeltaProduct: Improving State-Tracking in Linear RNNs via Householder Products":
word problems of S_3, S_4, A_5 and S_5 with n_h = 1..4 Householder factors per token (beta in [0,2],
one layer). Their claim: S_n needs n_h = n - 1 in one layer (a permutation is at most n - 1
transpositions); A_5 as rotations of R^3 needs n_h = 2."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lsrl.reproduce import budget
from lsrl.reproduce.grid import Cell
from lsrl.reproduce.plots import accuracy_by_length
from lsrl.reproduce.report import mean_scaled_cell, scaled_cell
from lsrl.reproduce.tables import Table

TITLE = "DeltaProduct on group word problems (Siems et al. 2025)"


def cells(quick: bool) -> tuple[Cell, ...]:
    tasks, n_hs = (("S:3",), (1, 2)) if quick else (("S:3", "S:4", "A:5", "S:5"), (1, 2, 3, 4))
    size = {"d_state": 6, "d_model": 32, "steps": 300} if quick else {"d_state": 32}
    return tuple(Cell(f"n_h={n_h}", budget.config(quick, task, "deltaproduct", n_h=n_h, **size),
                      budget.seeds(quick)[:1] if quick else budget.seeds(quick))
                 for task in tasks for n_h in n_hs)


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    """Scaled accuracy per task and n_h at every evaluated length: the training length shows what was
    learned, the longer ones how it extrapolates."""
    tasks = list(dict.fromkeys(r["task"] for r in records))
    n_hs = list(dict.fromkeys(r["n_h"] for r in records))
    lengths = [m["length"] for m in records[0]["metrics"]]
    by = {(r["task"], r["n_h"]): r for r in records}
    low, high = budget.PAPER_RANGE
    rows = tuple(row for task in tasks for row in (
        *((task, f"L={n}", *(scaled_cell(by[task, h], n) for h in n_hs)) for n in lengths),
        (task, f"mean {low}-{high}", *(mean_scaled_cell(by[task, h], low, high) for h in n_hs))))
    return (Table("deltaproduct-groups", TITLE + ": scaled accuracy by length (one layer, β∈[0,2])",
                  ("task", "length", *(f"n_h={h}" for h in n_hs)), rows,
                  "Scaled accuracy = (final-position accuracy - 1/labels) / (1 - 1/labels), best seed; "
                  f"trained on lengths up to {records[0]['train_length']}; 'mean {low}-{high}' averages over the "
                  "evaluated lengths in that range."),)


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "deltaproduct-groups.png", TITLE)]
