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
from lsrl.reproduce.report import mean_scaled_cell, scaled_cell
from lsrl.reproduce.tables import Table
from models import registry

TITLE = "Negative eigenvalues (Grazzi et al. 2025)"
CLASSES = (("diag [0,1]", "diag-01"), ("diag [-1,1]", "diag-neg"), ("DeltaNet β∈[0,1]", "deltanet-01"),
           ("DeltaNet β∈[0,2]", "deltanet"))


# Grazzi et al. 2025 (ICLR), Table 3: best of 3 runs, scaled accuracy averaged over test lengths 40-256
# after training on lengths 3-40; "Mamba" is their diagonal class, "DeltaNet" their Householder one, each
# in its original [0,1] and extended [-1,1] eigenvalue range. Their S_5 results are plots (Figure 4,
# sequence accuracy, another training design), so S:5 has no published number here.
PUBLISHED = {("parity", "diag [0,1]"): 0.000, ("parity", "diag [-1,1]"): 1.000,
             ("parity", "DeltaNet β∈[0,1]"): 0.017, ("parity", "DeltaNet β∈[0,2]"): 1.000,
             ("modarith:5", "diag [0,1]"): 0.095, ("modarith:5", "diag [-1,1]"): 0.241,
             ("modarith:5", "DeltaNet β∈[0,1]"): 0.314, ("modarith:5", "DeltaNet β∈[0,2]"): 0.971}


def published_cell(task: str, label: str) -> str:
    value = PUBLISHED.get((task, label))
    return "—" if value is None else f"{value:.3f}"


def cells(quick: bool) -> tuple[Cell, ...]:
    tasks = ("parity",) if quick else ("parity", "modarith:5", "S:5")
    return tuple(Cell(label, budget.config(quick, task, arch, **_size(quick, arch)),
                      budget.seeds(quick))
                 for task in tasks for label, arch in CLASSES)


def _size(quick: bool, arch: str) -> dict[str, Any]:
    householder = registry.get(arch).family == "deltaproduct"
    if not quick:
        return {"layers": 2} if householder else {}
    return {"d_state": 4} if householder else {}


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    lengths = [m["length"] for m in records[0]["metrics"]]
    low, high = budget.PAPER_RANGE
    rows = tuple((r["task"], r["label"], *(scaled_cell(r, n) for n in lengths), mean_scaled_cell(r, low, high),
                  published_cell(r["task"], r["label"])) for r in records)
    return (Table("negative-eigenvalues", TITLE + ": scaled accuracy by length",
                  ("task", "class", *(f"L={n}" for n in lengths), f"mean {low}-{high}", "published"), rows,
                  "Scaled accuracy = (final-position accuracy - 1/labels) / (1 - 1/labels), best seed; "
                  f"'mean {low}-{high}' averages it over the evaluated lengths in that range, the papers' "
                  "score; 'published' is Grazzi et al. 2025, Table 3 (best of 3, Mamba for diag, DeltaNet)."),)


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "negative-eigenvalues.png", TITLE)]
