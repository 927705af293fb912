"""Siems et al. 2025, "DeltaProduct": word problems of S_3, S_4, A_5 and S_5 with n_h = 1..4 Householder factors per
token, and the claims it tests (docs/reproduce.md#the-papers-own-protocol---protocol-paper)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lsrl.reproduce import budget, protocol
from lsrl.reproduce.grid import Cell
from lsrl.reproduce.plots import accuracy_by_length
from lsrl.reproduce.report import mean_scaled_cell, scaled_cell
from lsrl.reproduce.tables import Table

TITLE = "DeltaProduct on group word problems (Siems et al. 2025)"


PROTOCOLS = ("ours", "paper")
TASKS = ("S:3", "S:4", "A:5", "S:5")
PAPER_LAYERS = (1, 2)
# The restricted S_5 settings Siems et al. report as learnable (state_tracking/src/generate_data.py at 38cd4e4):
# swaps only (:79-86), permutations moving at most 3 points (:90-103), 4 tokens per element (:170-201); one layer.
RESTRICTED = ("perm-moves:5:2", "perm-moves:5:3", "perm-tokens:5:4")


def cells(quick: bool, protocol: str = "ours") -> tuple[Cell, ...]:
    if protocol == "paper":
        return paper_cells(quick)
    tasks, n_hs = (("S:3",), (1, 2)) if quick else (TASKS, (1, 2, 3, 4))
    size = {"d_state": 6, "d_model": 32, "steps": 300} if quick else {"d_state": 32}
    return tuple(Cell(f"n_h={n_h}", budget.config(quick, task, "deltaproduct", n_h=n_h, **size),
                      budget.seeds(quick)[:1] if quick else budget.seeds(quick))
                 for task in tasks for n_h in n_hs)


def paper_cells(quick: bool) -> tuple[Cell, ...]:
    """Siems et al.'s protocol: every group and n_h = 1..4 in one and two layers, then the restricted S_5 settings
    in one layer, best of 3 seeds (quick: S_3, n_h = 1, 2, one layer, one seed, tiny)."""
    if quick:
        return tuple(Cell(f"n_h={n_h}", protocol.quick(protocol.siems("S:3", n_h)), (0,), protocol="paper")
                     for n_h in (1, 2))
    return tuple(Cell(f"n_h={n_h}" + (f", {layers} layers" if layers > 1 else ""), protocol.siems(task, n_h, layers),
                      budget.FULL_SEEDS, protocol="paper")
                 for layers in PAPER_LAYERS for task in TASKS for n_h in (1, 2, 3, 4)) + \
        tuple(Cell(f"n_h={n_h}", protocol.siems(task, n_h), budget.FULL_SEEDS, protocol="paper")
              for task in RESTRICTED for n_h in (1, 2, 3, 4))


def tables(records: list[dict[str, Any]]) -> tuple[Table, ...]:
    """Scaled accuracy per task and n_h at every evaluated length: the training length shows what was
    learned, the longer ones how it extrapolates. With several depths, one block of rows per depth."""
    depths = list(dict.fromkeys(r["layers"] for r in records)) if "layers" in records[0] else [1]
    tasks = [(task, d) for d in depths for task in dict.fromkeys(r["task"] for r in records if r.get("layers", 1) == d)]
    n_hs = list(dict.fromkeys(r["n_h"] for r in records))
    lengths = [m["length"] for m in records[0]["metrics"]]
    by = {(r["task"], r.get("layers", 1), r["n_h"]): r for r in records}
    low, high = budget.PAPER_RANGE
    name = {(task, d): task if len(depths) == 1 else f"{task} ({d} layer{'s' if d > 1 else ''})" for task, d in tasks}
    rows = tuple(row for key in tasks for row in (
        *((name[key], f"L={n}", *(_cell(by.get((*key, h)), n) for h in n_hs)) for n in lengths),
        *(((name[key], f"mean {low}-{high}", *(_mean(by.get((*key, h)), low, high) for h in n_hs)),)
          if any(low <= n <= high for n in lengths) else ())))
    depth = "one layer" if depths == [1] else " and ".join(f"{d} layer{'s' if d > 1 else ''}" for d in depths)
    return (Table("deltaproduct-groups", TITLE + f": scaled accuracy by length ({depth}, β∈[0,2])",
                  ("task", "length", *(f"n_h={h}" for h in n_hs)), rows,
                  "Scaled accuracy = (final-position accuracy - 1/labels) / (1 - 1/labels), best seed; "
                  f"trained on lengths up to {records[0]['train_length']}; 'mean {low}-{high}' averages over the "
                  "evaluated lengths in that range."),) + \
        ((extraction_table(records),) if any("extraction" in r for r in records) else ())


def extraction_table(records: list[dict[str, Any]]) -> Table:
    """Per cell, what the automaton extracted from its best model is of the task's (``--extract``)."""
    rows = tuple((r["task"], str(r.get("layers", 1)), str(r["n_h"]), r["extraction"]["relation"],
                  str(r["extraction"].get("states", "—"))) for r in records if "extraction" in r)
    return Table("deltaproduct-groups-extraction", TITLE + ": the automaton each best model learned",
                 ("task", "layers", "n_h", "learned", "extracted states"), rows,
                 "exact: the task's automaton; quotient: an automaton the task's factors through (the model merges "
                 "states consistently); nothing: neither, or the search did not close (lsrl.extraction).")


def _cell(record: dict[str, Any] | None, length: int) -> str:
    return "—" if record is None else scaled_cell(record, length)


def _mean(record: dict[str, Any] | None, low: int, high: int) -> str:
    return "—" if record is None else mean_scaled_cell(record, low, high)


def plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    return [accuracy_by_length(records, out / "deltaproduct-groups.png", TITLE)]
