"""Grazzi et al. 2025, "Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues":
parity, modular arithmetic without brackets and a permutation-group word problem, for diagonal gates in
[0,1] vs [-1,1] (Mamba-like) and DeltaNet with beta in [0,1] vs [0,2]. Reported: scaled accuracy
(``lsrl.training.evaluate``) at each evaluation length; the paper trains to 40 and tests to 256."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lsrl.reproduce import budget
from lsrl.reproduce.grid import Cell
from lsrl.reproduce.plots import accuracy_by_length
from lsrl.reproduce.report import scaled_cell
from lsrl.reproduce.tables import Table

TITLE = "Negative eigenvalues (Grazzi et al. 2025)"
CLASSES = (("diag [0,1]", "diag", (0.0, 1.0)), ("diag [-1,1]", "diag", (-1.0, 1.0)),
           ("DeltaNet β∈[0,1]", "deltaproduct", (0.0, 1.0)), ("DeltaNet β∈[0,2]", "deltaproduct", (0.0, 2.0)))


def cells(quick: bool) -> tuple[Cell, ...]:
    tasks = ("parity",) if quick else ("parity", "modarith:5", "S:5")
    return tuple(Cell(label, budget.config(quick, task, arch, gate_range=gate, **_size(quick, arch)),
                      budget.seeds(quick))
                 for task in tasks for label, arch, gate in CLASSES)


def _size(quick: bool, arch: str) -> dict[str, Any]:
    if not quick:
        return {"layers": 2} if arch == "deltaproduct" else {}
    return {"d_state": 4} if arch == "deltaproduct" else {}


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    lengths = [m["length"] for m in records[0]["metrics"]]
    rows = tuple((r["task"], r["label"], *(scaled_cell(r, n) for n in lengths)) for r in records)
    return (Table("negative-eigenvalues", TITLE + ": scaled accuracy by length",
                  ("task", "class", *(f"L={n}" for n in lengths)), rows,
                  "Scaled accuracy = (final-position accuracy - 1/labels) / (1 - 1/labels), best seed."),)


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "negative-eigenvalues.png", TITLE)]
