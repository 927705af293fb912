"""Times and peak memory of the exact pipeline (classify, compile, certify, verify), one thread, CPU,
on the task library and a seeded corpus of random minimal DFAs (docs/suite.md#a-research-scale-run-the-benchmark-corpus)."""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsrl import threads  # noqa: E402

threads.limit(1)  # before numpy and torch load

import numpy as np  # noqa: E402

from automata.classify import classify  # noqa: E402
from automata.dfa import DFA  # noqa: E402
from automata.errors import LsrlInputError  # noqa: E402
from automata.fileformat import dfa_to_json  # noqa: E402
from automata.generate import default_alphabet  # noqa: E402
from automata.minimize import minimize  # noqa: E402
from automata.tasks import get_task  # noqa: E402
from bench.environment import environment  # noqa: E402
from models import registry  # noqa: E402

# Every class with automaton constructions of its own; random DFAs: the first of them per classifier class.
TASK_CLASSES = tuple(a.name for a in registry.ARCHITECTURES if a.automaton == a.name)
RANDOM_CLASSES = tuple({registry.get(name).classifier: name for name in reversed(TASK_CLASSES)}.values())[::-1]
TASKS = ("parity", "mod:3", "cycle:5", "modarith:5", "Z:6", "Z2xZ2", "dihedral:4", "Q8", "A:5", "S:5", "flipflop",
         "even-pairs", *(f"tomita:{i}" for i in range(1, 8)), "dyck:2:3", "ab-star", "contains:aba", "ends-with:ab",
         "no-aa")
SHAPES = ("star-free", "group", "mixed")


class CellTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise CellTimeout


def _star_free(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    stay = rng.random((n, k)) < 0.5
    later = np.array([[rng.integers(q, n) for _ in range(k)] for q in range(n)])
    return np.where(stay, np.arange(n)[:, None], later)


def _group(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    shifts = [(np.arange(n) + int(rng.integers(1, n))) % n for _ in range(k)]
    if rng.random() < 0.5:
        shifts[-1] = (-np.arange(n)) % n  # a reflection: the dihedral group
    return np.stack(shifts, axis=1)


def _mixed(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    columns = [(np.arange(n) + 1) % n, np.zeros(n, dtype=np.int64)]  # rotate, reset
    columns += [(np.arange(n) + int(rng.integers(0, n))) % n for _ in range(k - 2)]
    return np.stack(columns, axis=1)


BUILDERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "star-free": _star_free, "group": _group, "mixed": _mixed}


def corpus(count: int, seed: int) -> Iterator[tuple[str, DFA]]:
    """``count`` minimal DFAs of 3-100 states, the shapes in turn; a draw that minimises below 3 states is
    drawn again."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        shape = SHAPES[made % len(SHAPES)]
        n = int(round(math.exp(rng.uniform(math.log(3), math.log(100)))))
        k = int(rng.integers(2, 4))
        table = BUILDERS[shape](n, k, rng).astype(np.int32)
        accepting = frozenset(np.flatnonzero(rng.random(n) < 0.5).tolist())
        dfa = minimize(DFA(default_alphabet(k), table, 0, accepting))
        if 3 <= dfa.n_states <= 100:
            made += 1
            yield shape, dfa


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _certify(compiled: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The certificate document lsrl compile writes (exact, interval or bounded), or why there is none."""
    from lsrl.artifacts import bounded_certificate
    from proofs.certificate_kinds import certify
    from proofs.document import CertificateError
    from proofs.exact_model import NotCertifiable

    construction = {"name": compiled.construction, **compiled.size()}
    try:
        return certify(compiled.model, compiled.dfa, compiled.labels).to_json(compiled.dfa, compiled.labels,
                                                                              construction), None
    except (CertificateError, NotCertifiable) as err:
        bounded = bounded_certificate(compiled)
        return (bounded, None) if bounded is not None else (None, str(err)[:200])


def _verify(model: Any, document: dict[str, Any]) -> None:
    from proofs.certificate_kinds import verify

    verify(model, document)


def run_cell(dfa: DFA, labels: np.ndarray | None, arch: str) -> dict[str, Any]:
    """Compile, certify and verify one (automaton, class) cell; times in seconds."""
    from lsrl.constructions.errors import NotExpressible, NotImplementedConstruction
    from lsrl.constructions.select import compile_automaton

    record: dict[str, Any] = {"arch": arch}
    try:
        compiled, record["compile_s"] = _timed(lambda: compile_automaton(dfa, arch, labels))
    except NotExpressible:
        return {**record, "outcome": "refused (impossible)"}
    except NotImplementedConstruction:
        return {**record, "outcome": "no construction"}
    record["size"] = compiled.size()
    (document, reason), record["certify_s"] = _timed(lambda: _certify(compiled))
    if document is None:
        return {**record, "outcome": "not certified", "reason": reason}
    _, record["verify_s"] = _timed(lambda: _verify(compiled.model, document))
    record["certificate"] = document.get("kind")
    if "correct_up_to_length" in document:
        record["correct_up_to_length"] = document["correct_up_to_length"]
    return {**record, "outcome": "certified"}


def run_language(name: str, shape: str, dfa: DFA, labels: np.ndarray | None, classes: tuple[str, ...],
                 timeout: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "shape": shape, "states": dfa.n_states, "symbols": dfa.n_symbols}
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        result, entry["classify_s"] = _timed(lambda: classify(dfa, max_elements=20_000))
        entry.update(monoid=result.monoid_size, aperiodic=result.aperiodic)
    except CellTimeout:
        entry["classify"] = "timed out"
    except LsrlInputError as err:
        entry["classify"] = f"error: {str(err)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    cells = []
    for arch in classes:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            cell = run_cell(dfa, labels, arch)
        except CellTimeout:
            cell = {"arch": arch, "outcome": "timed out"}
        except Exception as err:  # noqa: BLE001 - a cell's failure is a record, never the end of the run
            # the alarm can land inside numpy, which may re-raise it as its own error: past the deadline, a timeout
            late = time.perf_counter() - start >= timeout
            cell = {"arch": arch, "outcome": "timed out" if late else "error",
                    "reason": f"{type(err).__name__}: {str(err)[:160]}"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        cell["total_s"] = round(time.perf_counter() - start, 4)
        cell["cpu_s"] = round(time.process_time() - cpu, 4)  # this process's CPU time: what a loaded machine leaves
        cell["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        cells.append(cell)
    entry["cells"] = cells
    return entry


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"n": len(values), "median": round(statistics.median(ordered), 4),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 4), "max": round(ordered[-1], 4)}


def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per class: outcome counts and total seconds per cell; the issue's acceptance figures for the
    star-free DFAs of at most 12 states and monoids of at most 200 elements on diag-01."""
    by_class: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for cell in entry["cells"]:
            row = by_class.setdefault(cell["arch"], {"outcomes": {}, "times": []})
            row["outcomes"][cell["outcome"]] = row["outcomes"].get(cell["outcome"], 0) + 1
            row["times"].append(cell["total_s"])
    small = [c for e in entries if e["shape"] == "star-free" and e["states"] <= 12 and e.get("monoid", 10 ** 9) <= 200
             for c in e["cells"] if c["arch"] == "diag-01"]
    return {"per_class": {arch: {"outcomes": row["outcomes"], "total_s": _quantiles(row["times"])}
                          for arch, row in by_class.items()},
            "all_cells_total_s": _quantiles([c["total_s"] for e in entries for c in e["cells"]]),
            "star_free_small_on_diag01": {"cells": len(small),
                                          "certified": sum(c["outcome"] == "certified" for c in small),
                                          "total_s": _quantiles([c["total_s"] for c in small]),
                                          "cpu_s": _quantiles([c["cpu_s"] for c in small if "cpu_s" in c])},
            "max_rss_mb": max((c.get("max_rss_mb", 0) for e in entries for c in e["cells"]), default=0)}


def languages(args: argparse.Namespace) -> Iterator[tuple[str, str, DFA, np.ndarray | None, tuple[str, ...]]]:
    """(name, shape, DFA, labels, classes): the task library, then the random corpus; every ``n``-th from the
    ``k``-th with ``--shard k/n``."""
    k, n = (int(x) for x in args.shard.split("/"))
    tasks = ((name, "task", get_task(name).dfa, get_task(name).labels, TASK_CLASSES)
             for name in (() if args.no_tasks else TASKS))
    classes = tuple(args.classes.split(",")) if args.classes else RANDOM_CLASSES
    randoms = ((f"random-{i}", shape, dfa, None, classes) for i, (shape, dfa) in enumerate(corpus(args.dfas, args.seed))
               if shape in args.shapes.split(","))
    for index, language in enumerate(itertools.chain(tasks, randoms)):
        if index % n == k and index >= args.first:
            yield language


def export(count: int, seed: int, directory: Path) -> None:
    """The corpus as DFA files ``random-I.json``, I as in the bench's entries; ``directory`` must be new or empty."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise SystemExit(f"{directory} is not empty")
    for i, (_, dfa) in enumerate(corpus(count, seed)):
        (directory / f"random-{i}.json").write_text(json.dumps(dfa_to_json(dfa)) + "\n")


def merge(paths: list[str]) -> dict[str, Any]:
    """One result from the shards' (``--shard``) results: entries in corpus order, the longest wall time."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    order = {name: i for i, name in enumerate(TASKS)}
    entries = sorted((e for part in parts for e in part["entries"]),
                     key=lambda e: order[e["name"]] if e["name"] in order else len(order) + int(e["name"][len("random-"):]))
    base = next((p for p in parts if "environment" in p), parts[0])
    return {**base, "shards": [p.get("shard") for p in parts], "wall_s": [p["wall_s"] for p in parts],
            "load_average": [p["load_average"] for p in parts], "summary": summarise(entries), "entries": entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dfas", type=int, default=300, help="random DFAs in the corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per cell")
    parser.add_argument("--no-tasks", action="store_true", help="skip the task library")
    parser.add_argument("--shard", default="0/1", help="k/n: every n-th language from the k-th (one process each)")
    parser.add_argument("--classes",
                        help="comma-separated classes for the random corpus (default: one per classifier class)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated corpus shapes to run")
    parser.add_argument("--first", type=int, default=0, help="skip the languages before this index (tasks first)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="combine shard results into --out, run nothing")
    parser.add_argument("--export", metavar="DIR", help="write the random corpus as DFA JSON files (random-I.json) "
                        "into DIR, for lsrl suite, and run nothing")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "exact_pipeline.json"))
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    if args.export:
        export(args.dfas, args.seed, Path(args.export))
        return
    if args.merge:
        result = merge(args.merge)
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result["summary"], indent=1))
        return
    signal.signal(signal.SIGALRM, _alarm)
    parity = get_task("parity")
    for arch in ("diag-01", "diag-neg", "elman"):  # untimed: the first cell would pay the imports
        run_cell(parity.dfa, parity.labels, arch)
    started, load = time.perf_counter(), {"start": os.getloadavg()}
    entries = []
    for name, shape, dfa, labels, classes in languages(args):
        entries.append(run_language(name, shape, dfa, labels, classes, args.timeout))
        print(f"{name} ({shape}, {dfa.n_states} states, monoid {entries[-1].get('monoid')}): "
              f"{[(c['arch'], c['outcome'], c['total_s']) for c in entries[-1]['cells']]}", flush=True)
    load["end"] = os.getloadavg()
    result = {"benchmark": "exact_pipeline", "environment": environment(), "threads": 1,
              "corpus": {"dfas": args.dfas, "seed": args.seed, "shapes": list(SHAPES), "states": [3, 100]},
              "timeout_s": args.timeout, "shard": args.shard, "wall_s": round(time.perf_counter() - started, 1),
              "load_average": load, "summary": summarise(entries), "entries": entries}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
