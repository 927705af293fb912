"""The papers' grids with their own data (modarith-eq:5, the restricted S_5 rows) and ``--extract``: what each
trained model learned (exact, a quotient, nothing)."""
from __future__ import annotations

import json

import numpy as np
import torch

from automata.dfa import DFA
from automata.finite_groups import symmetric_group
from automata.permutations import sign
from automata.tasks import get_task
from lsrl.extraction import Extraction, relation
from lsrl.reproduce import grid_cells


def _extraction(delta: np.ndarray, alphabet: tuple[str, ...], complete: bool = True) -> Extraction:
    dfa = DFA(alphabet, delta, 0, frozenset({0}), tuple(str(q) for q in range(len(delta))))
    return Extraction(dfa, np.arange(len(delta)), len(delta), complete, 0.01, ("x",))


def test_relation_tells_a_quotient_from_nothing() -> None:
    """S_3's sign automaton is a quotient of S_3's; a counter of the letters mod 2 is not (the identity letter
    flips it); an incomplete search or one state is nothing."""
    task = get_task("S:3")
    group = symmetric_group(3)
    odd = np.array([sign(p) == -1 for p in group.elements], dtype=np.int64)
    sign_automaton = np.array([[q ^ int(o) for o in odd] for q in (0, 1)])
    assert relation(_extraction(sign_automaton, task.alphabet), task.dfa) == "quotient"
    letters = np.array([[1 - q] * 6 for q in (0, 1)])
    assert relation(_extraction(letters, task.alphabet), task.dfa) == "nothing"
    assert relation(_extraction(sign_automaton, task.alphabet, complete=False), task.dfa) == "nothing"
    assert relation(_extraction(np.zeros((1, 6), dtype=np.int64), task.alphabet), task.dfa) == "nothing"


def test_paper_grids_use_the_papers_data() -> None:
    """Table 3's modular arithmetic is Grazzi et al.'s (with '='), with the no-'=' task as one ablation factor; the
    group grid has the restricted S_5 rows in one layer for n_h = 1..4."""
    grazzi = grid_cells("negative-eigenvalues", protocol="paper")
    assert {c.task for c in grazzi if not c.factor} == {"parity", "modarith-eq:5"}
    moved = [c for c in grazzi if c.factor.startswith("answer at the last operand")]
    assert [c.task for c in moved] == ["modarith:5"] and moved[0].train.lengths == (3, 40)
    assert all(c.task == "modarith-eq:5" for c in grazzi if c.factor and c not in moved)
    siems = grid_cells("deltaproduct-groups", protocol="paper")
    restricted = [c for c in siems if c.task.startswith("perm-")]
    assert {(c.task, c.train.n_h, c.train.layers) for c in restricted} == {
        (t, n, 1) for t in ("perm-moves:5:2", "perm-moves:5:3", "perm-tokens:5:4") for n in (1, 2, 3, 4)}
    assert {"S:3", "A:5"} <= {c.task for c in siems}
    assert all(c.extract for c in grid_cells("deltaproduct-groups", quick=True, protocol="paper", extract=True))


def test_quick_group_grid_extracts_every_cell_from_the_cli(tmp_path) -> None:
    """The CPU smoke test of ``--protocol paper --extract``: each cell records what its best model learned, and the
    extraction table re-renders byte for byte."""
    from lsrl.cli import main
    from lsrl.reproduce import render_saved

    torch.set_num_threads(1)
    out = tmp_path / "groups"
    assert main(["reproduce", "deltaproduct-groups", "--protocol", "paper", "--quick", "--extract", "--quiet",
                 "--no-plots", "--out", str(out)]) == 0
    records = json.loads((out / "deltaproduct-groups.json").read_text())["records"]
    assert all(r["extraction"]["relation"] in ("exact", "quotient", "nothing") for r in records)
    assert (out / "deltaproduct-groups-extraction.md").is_file()
    again = render_saved(out / "deltaproduct-groups.json", tmp_path / "again", plots=False)
    for path in again.files:
        assert path.read_bytes() == (out / path.name).read_bytes()
