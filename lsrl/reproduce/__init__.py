"""``lsrl reproduce NAME``: rerun a published experiment (or the atlas) into tables, plots and raw records."""
from __future__ import annotations

from importlib import import_module

from lsrl.reproduce.experiments import (
    BUDGET_FIELDS,
    EXPERIMENTS,
    Reproduction,
    UnknownExperiment,
    cells_of_classes,
    experiment,
    grid_cells,
    render,
    render_saved,
    render_units,
    reproduce,
    scaled,
)

# Public names of the package's modules -> the module that defines them, loaded on first use (grid imports torch).
_EXPORTS = {"Table": "tables", "Cell": "grid", "World": "grid", "run_grid": "grid", "disagreements": "atlas"}
__all__ = ["BUDGET_FIELDS", "EXPERIMENTS", "Cell", "Reproduction", "Table", "UnknownExperiment", "World",
           "cells_of_classes", "disagreements", "experiment", "grid_cells", "render", "render_saved", "render_units",
           "reproduce", "run_grid", "scaled"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


