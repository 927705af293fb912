"""The experiments ``lsrl reproduce NAME`` reruns (the registry) and the runs: cells, grids, tables, plots, records."""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from automata.errors import LsrlInputError

if TYPE_CHECKING:
    from lsrl.reproduce.grid import Cell

# One module per experiment, each with ``cells(quick, protocol)``, ``tables(records)`` and ``plots(records, out)``
# (Markdown and LaTeX tables); ``grid`` runs and shards the cells; ``protocol`` holds the papers' own training
# protocols (``--protocol paper``).
EXPERIMENTS = {"negative-eigenvalues": "lsrl.reproduce.negative_eigenvalues",
               "deltaproduct-groups": "lsrl.reproduce.deltaproduct_groups",
               "chomsky-regular": "lsrl.reproduce.chomsky_regular",
               "atlas": "lsrl.reproduce.atlas"}


BUDGET_FIELDS = ("steps", "batch", "warmup")

class UnknownExperiment(LsrlInputError):
    """A name that is not one of ``EXPERIMENTS``."""


@dataclass(frozen=True)
class Reproduction:
    """What a run wrote: its records and the files."""

    name: str
    records: list[dict[str, Any]]
    files: tuple[Path, ...]


def experiment(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise UnknownExperiment(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return import_module(EXPERIMENTS[name])


def reproduce(name: str, out: str | Path, quick: bool = False, device: str | None = None,
              progress: bool = False, plots: bool = True, seeds: int | None = None,
              tasks: tuple[str, ...] | None = None, budget: dict[str, int] | None = None,
              archs: tuple[str, ...] | None = None, protocol: str = "ours",
              scale: float | None = None, extract: bool = False) -> Reproduction:
    """Run experiment ``name`` (sharded under ``torchrun``); rank 0 writes ``NAME.json``, a .md and
    a .tex file per table and the plots into ``out``; every rank writes each finished unit of the
    grid to ``out/units/`` as it completes. ``seeds`` keeps only the first that many seeds per cell,
    ``tasks`` only the cells of those tasks, ``archs`` only those of these architecture classes (names or
    aliases of ``models.registry``), and ``budget`` overrides training fields of every cell
    (``steps``, ``batch``, ``warmup``: e.g. a paper's budget instead of ours). ``protocol`` "paper" runs the
    papers' own protocol (``lsrl.reproduce.protocol``); ``scale`` multiplies every cell's steps and warm-up
    (a shorter run with the same schedule shape); ``extract`` extracts the automaton of every cell's best model
    and records what it is of the target (exact, a quotient or nothing: ``lsrl.reproduce.grid.extraction``)."""
    from lsrl.reproduce.grid import World, run_grid

    cells = grid_cells(name, quick, seeds, tasks, budget, archs, protocol, scale, extract)
    if device is not None:
        from lsrl.training.train import resolve_device

        resolve_device(device)  # an absent device is refused before the output directory is claimed
    from models.output_directory import claim_incremental

    out = claim_incremental(out)
    records = run_grid(cells, device, progress, partial=out / "units")
    if World.from_env().rank != 0:
        return Reproduction(name, records, ())
    return render(name, records, out, quick, plots)


def grid_cells(name: str, quick: bool = False, seeds: int | None = None, tasks: tuple[str, ...] | None = None,
               budget: dict[str, int] | None = None, archs: tuple[str, ...] | None = None, protocol: str = "ours",
               scale: float | None = None, extract: bool = False) -> tuple[Cell, ...]:
    """The cells ``reproduce`` runs for these options (``reproduce`` says what each does)."""
    from dataclasses import replace

    from lsrl.reproduce import protocol as protocols

    module = experiment(name)
    protocols.check(name, protocol, module)
    cells = module.cells(quick, protocol) if protocol != "ours" else module.cells(quick)
    if seeds is not None and seeds < 1:
        raise UnknownExperiment(f"--seeds {seeds}: every cell needs at least one seed")
    if seeds is not None:
        cells = tuple(replace(cell, seeds=cell.seeds[:seeds]) for cell in cells)
    if tasks is not None:
        unknown = sorted(set(tasks) - {cell.task for cell in cells})
        if unknown:
            raise UnknownExperiment(f"--tasks: {', '.join(unknown)} not in the {name} grid; its tasks: "
                                    f"{', '.join(dict.fromkeys(cell.task for cell in cells))}")
        cells = tuple(cell for cell in cells if cell.task in tasks)
    if archs is not None:
        cells = cells_of_classes(name, cells, archs)
    for key, value in (budget or {}).items():
        if key not in BUDGET_FIELDS or value < (0 if key == "warmup" else 1):
            raise UnknownExperiment(f"--{key} {value}: not a valid training budget")
    if budget:
        cells = tuple(replace(cell, train=replace(cell.train, **budget)) for cell in cells)
    if scale is not None:
        cells = scaled(cells, scale)
    if extract:
        cells = tuple(replace(cell, extract=True) for cell in cells)
    return cells


def render_units(name: str, units_dir: str | Path, out: str | Path, plots: bool = True, **options: Any) -> Reproduction:
    """The records of a run cut short, rendered into ``out``: the grid is rebuilt from ``options`` (those of
    ``grid_cells``, as the run was given them) and every cell whose units all finished in ``units_dir``
    (``OUT/units/unit-NNNN.json``) gets its record; cells with a missing unit are left out."""
    from lsrl.reproduce.grid import cell_record, units

    cells = grid_cells(name, **options)
    work = units(cells)
    done: dict[int, dict[str, Any]] = {}
    for path in sorted(Path(units_dir).glob("unit-*.json")):
        saved = json.loads(path.read_text())
        i = saved["unit"]
        if i >= len(work) or saved["cell"] != work[i].index or saved["label"] != cells[work[i].index].label:
            raise UnknownExperiment(f"{path}: unit {i} is not a unit of this grid (other options than the run's?)")
        done[i] = saved["result"]
    records = [cell_record(cell, [done[i] for i, u in enumerate(work) if u.index == c])
               for c, cell in enumerate(cells) if all(i in done for i, u in enumerate(work) if u.index == c)]
    if not records:
        raise UnknownExperiment(f"{units_dir}: no cell of the {name} grid finished all its units")
    return render(name, records, out, bool(options.get("quick")), plots)


def scaled(cells: tuple[Cell, ...], scale: float) -> tuple[Cell, ...]:
    """``cells`` with their steps and warm-up multiplied by ``scale`` (at least one step)."""
    from dataclasses import replace

    if not 0 < scale <= 1:
        raise UnknownExperiment(f"--scale {scale}: a fraction of the budget, in (0, 1]")
    return tuple(replace(cell, train=replace(cell.train, steps=max(1, round(cell.train.steps * scale)),
                                             warmup=round(cell.train.warmup * scale))) for cell in cells)


def cells_of_classes(name: str, cells: tuple[Cell, ...], archs: tuple[str, ...]) -> tuple[Cell, ...]:
    """The cells of ``cells`` whose class is one of ``archs``; a class outside the grid is refused."""
    from models import registry

    wanted = {registry.get(arch).name for arch in archs}
    present = dict.fromkeys(cell.train.arch for cell in cells)
    if wanted - set(present):
        raise UnknownExperiment(f"--archs: {', '.join(sorted(wanted - set(present)))} not in the {name} grid; "
                                f"its classes: {', '.join(present)}")
    return tuple(cell for cell in cells if cell.train.arch in wanted)


def render(name: str, records: list[dict[str, Any]], out: str | Path, quick: bool = False,
           plots: bool = True) -> Reproduction:
    """Write ``records`` of experiment ``name`` into ``out``: NAME.json, each table as .md and .tex,
    and the plots."""
    from automata.fileformat import write_atomic

    module = experiment(name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{name}.json"]
    write_atomic(files[0], json.dumps({"experiment": name, "quick": quick, "records": records}, indent=1) + "\n")
    for table in module.tables(records):
        for suffix, text in ((".md", table.to_markdown()), (".tex", table.to_latex())):
            files.append(out / f"{table.name}{suffix}")
            write_atomic(files[-1], text)
    if plots:
        files += module.plots(records, out)
    return Reproduction(name, records, tuple(files))


def render_saved(records_file: str | Path, out: str | Path, plots: bool = True) -> Reproduction:
    """Re-render a saved NAME.json (e.g. from a GPU run) into ``out``."""
    try:
        document = json.loads(Path(records_file).read_text())
    except (OSError, ValueError) as err:
        raise UnknownExperiment(f"{records_file}: cannot read a records file ({err})") from None
    if not isinstance(document, dict) or document.get("experiment") not in EXPERIMENTS:
        raise UnknownExperiment(f"{records_file}: not the records of a known experiment")
    return render(document["experiment"], document["records"], out, bool(document.get("quick")), plots)
