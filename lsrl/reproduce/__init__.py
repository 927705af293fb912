"""``lsrl reproduce NAME``: rerun a published experiment (or the atlas) into tables, plots and raw records."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports
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

# Public names of the package's modules, loaded on first use (grid imports torch).
_lazy_names, __getattr__ = lazy_exports(__name__, {"tables": ("Table",), "grid": ("Cell", "World", "run_grid"),
                                             "atlas": ("disagreements",)})
__all__ = ["BUDGET_FIELDS", "EXPERIMENTS", "Cell", "Reproduction", "Table", "UnknownExperiment", "World",
           "cells_of_classes", "disagreements", "experiment", "grid_cells", "render", "render_saved", "render_units",
           "reproduce", "run_grid", "scaled"]
