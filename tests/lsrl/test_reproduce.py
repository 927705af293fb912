"""lsrl reproduce: sharding and merging of grids, tables, the quick atlas against the classifier,
and the train/extract/reproduce subcommands."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsrl.cli.training import add_subcommands
from lsrl.reproduce import EXPERIMENTS, UnknownExperiment, experiment, reproduce
from lsrl.reproduce.atlas import disagreements
from lsrl.reproduce.grid import World, balanced_shard, merge, shard
from lsrl.reproduce.tables import Table


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(), max_size=30), st.integers(1, 8), st.randoms())
def test_shards_partition_the_grid_and_merge_restores_it(items: list[int], size: int, rnd) -> None:
    shards = [shard(items, rank, size) for rank in range(size)]
    assert sum(len(s) for s in shards) == len(items)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    rnd.shuffle(shards)
    assert merge(shards, len(items)) == items


@given(st.lists(st.floats(0.5, 100.0), max_size=40), st.integers(1, 9))
def test_balanced_shards_partition_the_units_and_even_out_the_cost(costs: list[float], size: int) -> None:
    items = list(range(len(costs)))
    shards = [balanced_shard(items, costs, rank, size) for rank in range(size)]
    assert merge(shards, len(items)) == items
    loads = [sum(costs[i] for i, _ in part) for part in shards]
    # greedy least-loaded dealing (largest first) leaves no rank above the lightest by more than one unit
    assert max(loads) - min(loads) <= max(costs, default=0.0) + 1e-9


def test_merge_refuses_missing_or_repeated_cells() -> None:
    with pytest.raises(ValueError):
        merge([[(0, "a")], [(2, "c")]], 3)
    with pytest.raises(ValueError):
        merge([[(0, "a"), (1, "b")], [(1, "b")]], 2)
    with pytest.raises(ValueError):
        shard([1, 2], 2, 2)


def test_world_reads_torchrun_environment(monkeypatch) -> None:
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert World.from_env() == World(3, 4, 1)


def _gloo_worker(rank: int, size: int, port: int, queue) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size)
    items = list(range(7))
    gathered = [None] * size
    dist.all_gather_object(gathered, [(i, x * x) for i, x in shard(items, rank, size)])
    queue.put((rank, merge(gathered, len(items))))
    dist.destroy_process_group()


@pytest.mark.slow
def test_sharding_over_two_gloo_processes() -> None:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_gloo_worker, args=(rank, 2, port, queue)) for rank in range(2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    assert results == {0: [x * x for x in range(7)], 1: [x * x for x in range(7)]}


def test_tables_render_markdown_and_escaped_latex() -> None:
    table = Table("t", "A & B", ("task", "acc_%"), (("mod:3", "50%"),), "note")
    assert "| mod:3 | 50% |" in table.to_markdown()
    latex = table.to_latex()
    assert r"A \& B" in latex and r"acc\_\%" in latex and r"50\%" in latex


def test_every_experiment_has_a_grid() -> None:
    for name in EXPERIMENTS:
        module = experiment(name)
        assert module.cells(True) and len(module.cells(False)) >= len(module.cells(True))
    with pytest.raises(UnknownExperiment):
        experiment("nope")


def test_quick_atlas_agrees_with_the_classifier(tmp_path) -> None:
    """The CI smoke test: the quick atlas writes its files, no row contradicts a theorem, parity is
    solved with gates in [-1, 1] and not with gates in [0, 1] (Grazzi et al. 2025)."""
    torch.set_num_threads(1)
    result = reproduce("atlas", tmp_path, quick=True)
    assert {p.name for p in result.files} == {"atlas.json", "atlas.md", "atlas.tex", "atlas.png"}
    assert disagreements(result.records) == []
    rows = {(r["task"], r["class"]): r for r in result.records}
    assert rows["parity", "diag-neg"]["extraction"]["equivalent"]
    assert rows["parity", "diag-neg"]["metrics"][-1]["sequence"] == 1.0
    assert rows["parity", "diag-neg"]["compiled"]["ok"] and not rows["parity", "diag-01"]["compiled"]["ok"]
    assert not rows["parity", "diag-01"]["extraction"]["equivalent"]
    assert rows["parity", "diag-01"]["verdict"]["status"] == "impossible"
    assert json.loads((tmp_path / "atlas.json").read_text())["records"] == json.loads(json.dumps(result.records))


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_train_then_extract_subcommands(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert _run(["train", "flipflop", "--arch", "diag-01", "--steps", "150", "--lr", "5e-2", "--d-model", "16",
                 "--d-state", "4", "--train-length", "20", "--eval-lengths", "20,200", "--out", str(out), "--quiet"]) == 0
    assert (out / "model.safetensors").exists()
    assert _run(["extract", str(out)]) == 0  # a flip-flop is star-free: gates in [0, 1] learn it
    assert "flipflop" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "atlas", "--quick", "--seeds", "0"], "at least one seed"),
    (["reproduce", "atlas", "--from-records", "missing.json"], "cannot read a records file"),
    (["reproduce", "negative-eigenvalues", "--tasks", "parity,nope"], "nope not in the negative-eigenvalues grid"),
    (["reproduce", "negative-eigenvalues", "--steps", "0"], "--steps 0: not a valid training budget"),
])
def test_bad_reproduce_arguments_exit_2_with_a_message(argv, message, tmp_path, monkeypatch, capsys) -> None:
    from lsrl.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_saved_records_render_again(tmp_path) -> None:
    """--from-records rebuilds the tables of a saved run byte for byte."""
    from lsrl.reproduce import render, render_saved

    records = [{"label": "n_h=1", "task": "S:3", "n_h": 1, "train_length": 40,
                "metrics": [{"length": 40, "token": 1.0, "final": 1.0, "sequence": 1.0, "chance": 1 / 6, "scaled": 1.0}]}]
    first = render("deltaproduct-groups", records, tmp_path / "a", plots=False)
    again = render_saved(tmp_path / "a" / "deltaproduct-groups.json", tmp_path / "b", plots=False)
    assert [p.name for p in first.files] == [p.name for p in again.files]
    assert all(p.read_text() == q.read_text() for p, q in zip(first.files, again.files))


def _record(task: str, label: str, scaled: dict[int, float], n_h: int = 1) -> dict:
    return {"label": label, "task": task, "n_h": n_h, "train_length": 40,
            "metrics": [{"length": n, "token": v, "final": v, "sequence": v, "chance": 0.5, "scaled": v}
                        for n, v in scaled.items()]}


def test_negative_eigenvalue_table_puts_the_papers_score_beside_the_published_number() -> None:
    """The mean over lengths 40-256 (not 400) is our number in the paper's protocol; the published
    column is Grazzi et al.'s Table 3 where it has the cell and a dash where it has none (S:5)."""
    from lsrl.reproduce import negative_eigenvalues as ne

    records = [_record("modarith:5", "DeltaNet β∈[0,2]", {40: 1.0, 256: 0.5, 400: 0.0}),
               _record("S:5", "diag [0,1]", {40: 0.25, 256: 0.25, 400: 1.0})]
    (table,) = ne.tables(records)
    assert table.columns[-2:] == ("mean 40-256", "published")
    assert table.rows[0][-2:] == ("0.75", "0.971")
    assert table.rows[1][-2:] == ("0.25", "—")


def test_group_table_has_a_mean_row_per_task() -> None:
    from lsrl.reproduce import deltaproduct_groups as dg

    records = [_record("S:3", "n_h=1", {40: 1.0, 128: 0.0, 500: 1.0}, 1),
               _record("S:3", "n_h=2", {40: 1.0, 128: 1.0, 500: 0.0}, 2)]
    (table,) = dg.tables(records)
    assert table.rows[-1] == ("S:3", "mean 40-256", "0.50", "1.00")


def test_reproduce_keeps_the_chosen_tasks_and_applies_the_budget(tmp_path) -> None:
    from lsrl.reproduce import reproduce

    torch.set_num_threads(1)
    result = reproduce("negative-eigenvalues", tmp_path, quick=True, plots=False, seeds=1, tasks=("parity",),
                       budget={"steps": 3, "batch": 4, "warmup": 0})
    assert {r["task"] for r in result.records} == {"parity"} and {r["steps"] for r in result.records} == {3}


def test_paper_protocol_quick_runs_from_the_cli_and_re_renders_byte_identical(tmp_path, capsys) -> None:
    """The CI smoke test of ``--protocol paper --quick``: Table 3's parity cells and one ablation cell in Grazzi et
    al.'s protocol; the records keep every seed and the configuration; the tables re-render byte for byte."""
    from lsrl.cli import main
    from lsrl.reproduce import render_saved

    torch.set_num_threads(1)
    out = tmp_path / "paper"
    assert main(["reproduce", "negative-eigenvalues", "--protocol", "paper", "--quick", "--quiet", "--no-plots",
                 "--out", str(out)]) == 0
    records = json.loads((out / "negative-eigenvalues.json").read_text())["records"]
    assert {r["protocol"] for r in records} == {"paper"} and [r["factor"] for r in records].count("") == 4
    assert all(r["config"]["loss"] == "final" and r["config"]["precision"] == "bfloat16" for r in records)
    assert all(len(s["metrics"]) == len(r["metrics"]) for r in records for s in r["seeds"])
    again = render_saved(out / "negative-eigenvalues.json", tmp_path / "again", plots=False)
    for path in again.files:
        assert path.read_bytes() == (out / path.name).read_bytes()
    assert "negative-eigenvalues-ablation.md" in {p.name for p in again.files}


def test_a_protocol_the_experiment_lacks_exits_2(tmp_path, capsys) -> None:
    from lsrl.cli import main

    assert main(["reproduce", "atlas", "--protocol", "paper", "--out", str(tmp_path / "o")]) == 2
    assert "atlas has only our protocol" in capsys.readouterr().err
    assert main(["reproduce", "atlas", "--scale", "2", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_paper_blocks_follow_the_official_code() -> None:
    """DeltaNet with a width-4 convolution and 4 heads of key dim 32; Mamba (d_conv 1) without one; Siems et al.'s
    DeltaProduct without convolution or output gate; answer-only loss for Grazzi et al., every position for Siems."""
    from automata.tasks import get_task
    from lsrl.reproduce import protocol
    from lsrl.training.train import model_config

    task = get_task("modarith:5")
    (delta, _) = model_config(protocol.grazzi("modarith:5", "deltanet"), task).layers
    assert (delta.conv, delta.heads, delta.d_state, delta.gate_range) == (4, 4, 32, (0.0, 2.0))
    (mamba, _) = model_config(protocol.grazzi("modarith:5", "diag-neg"), task).layers
    assert (mamba.conv, mamba.out_gate, mamba.norm, mamba.d_state) == (0, True, True, 256)
    (product,) = model_config(protocol.siems("S:5", 4), get_task("S:5")).layers
    assert (product.conv, product.out_gate, product.heads, product.n_h) == (0, False, 8, 4)
    assert protocol.grazzi("parity", "deltanet").loss == "final" and protocol.siems("S:3", 1).loss == "every"
    with pytest.raises(protocol.UnknownProtocol):
        protocol.grazzi("S:5", "deltanet")


_COMMITTED = sorted(p for p in (Path(__file__).parents[2] / "docs" / "results").rglob("*.json")
                    if json.loads(p.read_text()).get("experiment") in EXPERIMENTS)


@pytest.mark.parametrize("records", _COMMITTED, ids=lambda p: p.parent.name + "/" + p.name)
def test_committed_tables_re_render_byte_identical_from_their_records(records, tmp_path) -> None:
    """Every committed table under docs/results/ is what its records render to (the tables are never hand-edited)."""
    from lsrl.reproduce import render_saved

    again = render_saved(records, tmp_path, plots=False)
    for path in again.files:
        committed = records.parent / path.name
        if path.suffix in (".md", ".tex") and committed.exists():
            assert path.read_bytes() == committed.read_bytes(), committed


def test_a_run_cut_short_renders_its_finished_cells_from_the_units(tmp_path) -> None:
    """--from-units rebuilds the grid from the run's options and keeps the cells whose units all finished; units of
    another grid are refused."""
    from lsrl.reproduce import render_units

    torch.set_num_threads(1)
    options = dict(quick=True, protocol="paper", budget={"steps": 3, "warmup": 0})
    run = reproduce("negative-eigenvalues", tmp_path / "run", plots=False, **options)
    (tmp_path / "run" / "units" / "unit-0001.json").unlink()
    cut = render_units("negative-eigenvalues", tmp_path / "run" / "units", tmp_path / "cut", plots=False, **options)
    assert [r["label"] for r in cut.records] == [r["label"] for i, r in enumerate(run.records) if i != 1]
    assert cut.records[0] == run.records[0]
    with pytest.raises(UnknownExperiment, match="not a unit of this grid"):
        render_units("negative-eigenvalues", tmp_path / "run" / "units", tmp_path / "other", plots=False,
                     quick=True, protocol="ours")
