"""``lsrl suite``: classify, compile and certify many automata for several architecture classes in worker
processes, one JSONL record per (automaton, class) cell, and tables of the outcomes (md, tex, json)."""
from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha1
from pathlib import Path
from typing import Any

from automata.errors import LsrlInputError

RECORDS = "records.jsonl"
TABLES = "suite"
OUTCOMES = ("certified", "compiled", "refused", "no construction", "error", "timed out")
"""Every cell ends as one of these: compiled with a certificate (its kind), compiled without one (why),
refused by a theorem, no construction implemented, an error (its message), or timed out."""
REGEX_SUFFIXES = (".regex", ".regexes")
SYMBOLS_SUFFIX = ".syms"
LIBRARY = "library"
PRELOAD = ("torch", "torch._dynamo", "sympy", "lsrl.artifacts", "automata.classify", "models.gated_rnn")
"""Imported once by the server that forks the workers: what the first classify (sympy) and the first nonlinear
model (kernels, torch._dynamo) would otherwise import in each new worker, 1-3 s each."""
PROGRESS_SECONDS = 5.0


class SuiteError(LsrlInputError):
    """A suite argument that cannot be used: an unknown path or task, a class without constructions, a bad
    records file."""


@dataclass(frozen=True)
class Automaton:
    """One language of the suite: ``name`` identifies it in records and tables; ``spec`` (a task, a DFA or
    AT&T file) or ``regex`` says how to build it, ``symbols`` an AT&T file's symbol table."""

    name: str
    spec: str | None = None
    regex: str | None = None
    symbols: str | None = None


@dataclass(frozen=True)
class Cell:
    automaton: Automaton
    arch: str
    keep: str | None  # the directory to keep the compiled model in; None: a temporary one

    @property
    def key(self) -> tuple[str, str]:
        return self.automaton.name, self.arch


@dataclass(frozen=True)
class SuiteResult:
    records: tuple[dict[str, Any], ...]  # one per cell, in cell order
    skipped: int  # cells already finished by an earlier run
    files: tuple[Path, ...]
    wall_s: float


# -- what the paths name ---------------------------------------------------------------------------------


def collect(paths: Sequence[str]) -> tuple[Automaton, ...]:
    """The automata that ``paths`` name: task names (``library``: ``automata.tasks.LIBRARY``), DFA JSON
    files, AT&T files (with ``STEM.syms`` beside them as symbol table), files of regexes (``.regex``: one per
    line) and directories of these files; each language once, in order."""
    from automata.tasks import LIBRARY as TASKS

    found: dict[str, Automaton] = {}
    for path in paths:
        items = _tasks(TASKS) if path == LIBRARY and not Path(path).exists() else _of_path(path)
        for item in items:
            found.setdefault(item.name, item)
    if not found:
        raise SuiteError("no automata: the paths name no task, DFA, AT&T or regex file")
    return tuple(found.values())


def _tasks(names: Sequence[str]) -> list[Automaton]:
    from automata.tasks import parse_task_name

    automata = []
    for name in names:
        family, values = parse_task_name(name.removeprefix("task:"))
        canonical = "task:" + ":".join((family, *map(str, values)))
        automata.append(Automaton(canonical, spec=canonical))
    return automata


def _of_path(path: str) -> list[Automaton]:
    from lsrl.sources import ATT_SUFFIXES

    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".") for part in f.parts)
                       and f.name.endswith((".json", *ATT_SUFFIXES, *REGEX_SUFFIXES)))
        return [a for f in files for a in _of_file(f)]
    if p.is_file():
        return _of_file(p)
    from automata.tasks import ALIASES, TASKS

    name = path.removeprefix("task:")
    if ALIASES.get(name, name).split(":")[0] not in TASKS:
        raise SuiteError(f"{path}: not a file, a directory or a task name (lsrl tasks lists the tasks)")
    return _tasks([path])


def _of_file(path: Path) -> list[Automaton]:
    from automata.bounded_input import read_text
    from lsrl.sources import ATT_SUFFIXES

    name = str(path)
    if name.endswith(REGEX_SUFFIXES):
        lines = read_text(path, "regex file").split("\n")
        return [Automaton(f"regex:{r}", regex=r) for r in (line.strip() for line in lines) if r]
    if name.endswith(ATT_SUFFIXES):
        suffix = next(s for s in ATT_SUFFIXES if name.endswith(s))
        table = Path(name.removesuffix(suffix) + SYMBOLS_SUFFIX)
        symbols = str(table) if table.is_file() else None
        return [Automaton(name if symbols is None else f"{name} --symbols {symbols}", spec=name, symbols=symbols)]
    return [Automaton(name, spec=name)]


def architectures(names: Sequence[str]) -> tuple[str, ...]:
    """The registry's canonical names of ``names`` (aliases resolved, each once); each must have automaton
    constructions."""
    from models import registry

    archs = [registry.get(name.strip()) for name in names if name.strip()]
    without = [a.name for a in archs if not a.has("automaton")]
    if without or not archs:
        able = ", ".join(a.name for a in registry.with_path("automaton"))
        raise SuiteError(f"--arch: {', '.join(without) or 'no class given'}: " +
                         (f"no automaton constructions; classes with them: {able}" if without else f"name one of {able}"))
    return tuple(dict.fromkeys(a.name for a in archs))


# -- one cell, in a worker -------------------------------------------------------------------------------


def setup_worker(max_memory: float | None = None, sizes: dict[str, int] | None = None) -> None:
    """One torch thread, an address-space limit of ``max_memory`` GiB (a cell past it ends in error), and the
    size limits ``sizes`` (``automata.limits``: the suite command's --max-N flags)."""
    from automata import limits

    limits.raise_limits(**(sizes or {}))
    os.environ["OMP_NUM_THREADS"] = "1"
    if max_memory:
        import resource

        limit = int(max_memory * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import torch

    torch.set_num_threads(1)


@lru_cache(maxsize=2)
def _classified(automaton: Automaton) -> tuple[Any, dict[str, Any] | str, float]:
    """The language of ``automaton``, its classification as JSON (or why it failed) and its seconds."""
    from automata.classify import classify
    from lsrl.sources import resolve_language

    language = resolve_language(automaton.spec, automaton.regex, symbols=automaton.symbols)
    start = time.perf_counter()
    try:
        classification: dict[str, Any] | str = classify(language.dfa).to_json()
    except LsrlInputError as err:
        classification = str(err)
    return language, classification, time.perf_counter() - start


def _verdict(classification: dict[str, Any] | str, arch: str) -> dict[str, Any]:
    from models import registry

    cls = registry.get(arch).classifier
    if isinstance(classification, str):
        return {"class": cls, "status": "unknown", "note": classification}
    v = next(v for v in classification["verdicts"] if v["architecture"] == cls)
    return {"class": cls, "status": v["status"], "source": v["source"], "theorem": v["theorem"]}


def run_cell(cell: Cell, note: Callable[[dict[str, Any]], None] = lambda facts: None) -> dict[str, Any]:
    """Classify, compile and certify one cell; every failure is part of the record, never raised. ``note``
    gets the classifier's findings before compilation starts (kept if the cell is then stopped)."""
    start = time.perf_counter()
    record: dict[str, Any] = {"automaton": cell.automaton.name, "arch": cell.arch}
    try:
        language, classification, classify_s = _classified(cell.automaton)
        record.update(_language_facts(classification), classify_s=classify_s,
                      verdict=_verdict(classification, cell.arch))
        note(dict(record))
        record.update(_compiled(language, cell))
    except MemoryError:
        record.update(outcome="error", reason="out of memory (the worker's limit: --max-memory)")
    except LsrlInputError as err:
        record.update(outcome="error", reason=str(err))
    except Exception as err:  # a bug in a construction or certifier: recorded with its traceback
        record.update(outcome="error", reason=f"{type(err).__name__}: {err}", traceback=traceback.format_exc(limit=8))
    record["wall_s"] = time.perf_counter() - start
    return record


def _language_facts(classification: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(classification, str):
        return {}
    return {"states": classification["n_states"], "monoid": classification["monoid_size"],
            "aperiodic": classification["aperiodic"]}


def _compiled(language: Any, cell: Cell) -> dict[str, Any]:
    """The outcome of compiling and certifying ``language`` for the cell's class."""
    from lsrl.artifacts import compile_language
    from lsrl.constructions.errors import NotExpressible, NotImplementedConstruction

    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="lsrl-suite-") as tmp:
            report = compile_language(language, cell.arch, cell.keep or Path(tmp) / "model")
            certificate = report.directory / "certificate.json"
            document = json.loads(certificate.read_text()) if certificate.exists() else None
    except NotExpressible as err:
        return {"outcome": "refused", "reason": str(err), "compile_s": time.perf_counter() - start,
                "theorem": {"statement": err.statement, "reference": err.reference, "condition": err.condition}}
    except NotImplementedConstruction as err:
        return {"outcome": "no construction", "reason": err.missing, "compile_s": time.perf_counter() - start}
    facts = {"construction": report.construction, "size": report.size, "compile_s": time.perf_counter() - start,
             "model": cell.keep}
    return {**facts, **_certified(report, document)}


def _certified(report: Any, document: dict[str, Any] | None) -> dict[str, Any]:
    """"certified" with the certificate's kind (and proved length, for bounded kinds), else "compiled" and why."""
    if document is None:
        return {"outcome": "compiled", "reason": report.not_certified}
    kind = document.get("kind", "exact")
    length = document.get("correct_up_to_length")
    if length is not None and length < 1:
        return {"outcome": "compiled", "reason": f"the {kind} certificate proves no length (L = {length})"}
    return {"outcome": "certified", "certificate": kind, "correct_up_to_length": length}


# -- records -----------------------------------------------------------------------------------------------


def read_records(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The records of ``path`` by (automaton, class), the last of each key winning; a partial last line (a run
    killed while appending) is cut off."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)
    records = {}
    for number, line in enumerate(data[:end].decode("utf-8", "replace").splitlines(), start=1):
        try:
            record = json.loads(line)
            records[(record["automaton"], record["arch"])] = record
        except (ValueError, KeyError, TypeError):
            raise SuiteError(f"{path}:{number}: not a suite record; move the file away to start afresh") from None
    return records


class RecordLog:
    """Appends one JSON line per finished cell: one write of the whole line, flushed and fsynced."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def finished(record: dict[str, Any] | None, timeout: float) -> bool:
    """Whether a recorded cell needs no rerun: any outcome but a time-out under a shorter limit than now."""
    return record is not None and (record["outcome"] != "timed out" or record.get("timeout_s", 0) >= timeout)


def _failed(cell: Cell, failure: str, seconds: float, timeout: float, found: dict[str, Any] | None) -> dict[str, Any]:
    """The record of a cell stopped by its deadline or by its worker's death, with what it ``found`` before."""
    record = {**(found or {}), "automaton": cell.automaton.name, "arch": cell.arch, "wall_s": seconds}
    phase = "compiling and certifying" if found else "classifying"
    if failure == "timed out":
        return {**record, "outcome": "timed out", "timeout_s": timeout,
                "reason": f"no result within {timeout:g} s (stopped while {phase})"}
    return {**record, "outcome": "error", "reason": f"{failure} while {phase}"}


# -- running -----------------------------------------------------------------------------------------------


def run_suite(paths: Sequence[str], archs: Sequence[str], out: str | os.PathLike, jobs: int | None = None,
              timeout: float = 120.0, keep_models: bool = False, max_memory: float | None = 4.0,
              progress: bool = True) -> SuiteResult:
    """Run every (automaton, class) cell of ``paths`` x ``archs`` not finished in ``out`` by an earlier run,
    ``jobs`` at a time (default: every core), each within ``timeout`` seconds; append each record to
    ``out/records.jsonl`` as it ends, then write the tables."""
    from functools import partial

    from automata import limits
    from lsrl.workers import DeadlinePool, default_jobs
    from models.output_directory import claim_incremental

    if timeout <= 0 or (jobs is not None and jobs < 1) or (max_memory is not None and max_memory < 0):
        raise SuiteError("--timeout and --jobs must be positive, --max-memory at least 0")
    automata, classes = collect(paths), architectures(archs)
    directory = claim_incremental(out)
    cells = [Cell(a, arch, str(directory / "models" / _slug(a.name, arch)) if keep_models else None)
             for a in automata for arch in classes]
    previous = read_records(directory / RECORDS)
    todo = [c for c in cells if not finished(previous.get(c.key), timeout)]
    start = time.monotonic()
    log, shown = RecordLog(directory / RECORDS), _Progress(len(cells), len(cells) - len(todo), progress)
    pool = DeadlinePool(run_cell, partial(setup_worker, max_memory, limits.in_force()),
                        min(jobs or default_jobs(), max(len(todo), 1)), PRELOAD)
    try:
        for outcome in pool.run(todo, timeout, affinity=lambda c: c.automaton, tick=shown.tick):
            record = outcome.result or _failed(outcome.job, outcome.failure or "no result", outcome.seconds, timeout,
                                               outcome.note)
            log.append(record)
            previous[outcome.job.key] = record
            shown.advance(record)
    finally:
        log.close()
        shown.close()
    records = tuple(previous[c.key] for c in cells)
    wall = time.monotonic() - start
    files = write_tables(records, classes, directory, {"paths": list(paths), "archs": list(classes),
                                                        "timeout_s": timeout, "wall_s": wall})
    return SuiteResult(records, len(cells) - len(todo), files, wall)


def _slug(name: str, arch: str) -> str:
    """A directory name for a cell's model: readable, and unique through a hash of the full name."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60]
    return f"{readable}-{sha1(name.encode()).hexdigest()[:8]}-{arch}"


class _Progress:
    """A rich progress bar on a terminal; elsewhere a log line every ``PROGRESS_SECONDS`` seconds."""

    def __init__(self, total: int, done: int, show: bool) -> None:
        self.total, self.done, self.counts = total, done, {o: 0 for o in OUTCOMES}
        self.start = self.last = time.monotonic()
        self.bar = None
        if show and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("suite"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), transient=False)
            self.bar.start()
            self.task = self.bar.add_task(self._counts(), total=total, completed=done)
        self.show = show

    def _counts(self) -> str:
        return ", ".join(f"{n} {o}" for o, n in self.counts.items() if n)

    def advance(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.counts[record["outcome"]] += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=self._counts())

    def tick(self, running: int) -> None:
        now = time.monotonic()
        if self.bar is None and self.show and now - self.last >= PROGRESS_SECONDS:
            self.last = now
            print(f"lsrl suite: {self.done}/{self.total} cells, {running} running; {self._counts() or 'none ended'}; "
                  f"{now - self.start:.0f} s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- tables ------------------------------------------------------------------------------------------------


def _cell_text(record: dict[str, Any]) -> str:
    """A cell of the per-automaton table: verdict letter, outcome, certificate kind, state size, time."""
    status = record.get("verdict", {}).get("status", "?")
    letter = {"constructible": "C", "impossible": "I", "open": "O"}.get(status, "?")
    outcome = record["outcome"]
    if outcome == "certified":
        length = record.get("correct_up_to_length")
        what = record["certificate"] + (f" L {length}" if length is not None else "")
    else:
        what = {"compiled": "uncertified", "no construction": "no constr."}.get(outcome, outcome)
    size = record.get("size", {}).get("state_size")
    seconds = record.get("compile_s", record.get("wall_s", 0.0))
    return f"{letter}: {what}" + (f", state {size}" if size is not None else "") + f", {seconds:.1f} s"


def summary(records: Sequence[dict[str, Any]], classes: Sequence[str]) -> list[dict[str, Any]]:
    """Per class: the number of cells of each outcome, certificate kinds, contradictions between verdict and
    outcome (compiled though impossible, refused though constructible), and compile times."""
    rows = []
    for arch in classes:
        mine = [r for r in records if r["arch"] == arch]
        kinds: dict[str, int] = {}
        for r in mine:
            if r["outcome"] == "certified":
                kinds[r["certificate"]] = kinds.get(r["certificate"], 0) + 1
        times = [r["compile_s"] for r in mine if "compile_s" in r]
        rows.append({"arch": arch, "cells": len(mine), **{o: sum(r["outcome"] == o for r in mine) for o in OUTCOMES},
                     "certificates": kinds, "contradictions": sum(_contradicts(r) for r in mine),
                     "median_compile_s": statistics.median(times) if times else None, "total_compile_s": sum(times)})
    return rows


def _contradicts(record: dict[str, Any]) -> bool:
    status = record.get("verdict", {}).get("status")
    return ((status == "impossible" and record["outcome"] in ("certified", "compiled"))
            or (status == "constructible" and record["outcome"] == "refused"))


def tables(records: Sequence[dict[str, Any]], classes: Sequence[str], wall_s: float) -> list[Any]:
    from lsrl.reproduce.tables import Table

    rows = summary(records, classes)
    columns = ("class", "cells", *OUTCOMES, "certificates", "contradictions", "median s", "total s")
    body = tuple((r["arch"], str(r["cells"]), *(str(r[o]) for o in OUTCOMES),
                  ", ".join(f"{k} {n}" for k, n in sorted(r["certificates"].items())) or "-", str(r["contradictions"]),
                  "-" if r["median_compile_s"] is None else f"{r['median_compile_s']:.2f}", f"{r['total_compile_s']:.1f}")
                 for r in rows)
    by_automaton: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        by_automaton.setdefault(r["automaton"], {})[r["arch"]] = r
    cells = tuple((name, *_sizes(row), *(_cell_text(row[a]) if a in row else "-" for a in classes))
                  for name, row in by_automaton.items())
    return [Table(f"{TABLES}-summary", f"Outcomes per class ({len(records)} cells, {wall_s:.0f} s wall)", columns, body,
                  "Times are compile + certify seconds per cell (classification excluded)."),
            Table(f"{TABLES}-cells", "Verdict and outcome per automaton and class", ("automaton", "states", "monoid",
                                                                                      *classes), cells,
                  "C/I/O: the classifier's verdict (constructible, impossible, open); then the outcome: the certificate "
                  "kind (L: proved length of a bounded one), uncertified, refused (by a theorem), no constr. (none "
                  "implemented), error or timed out; the compiled state size; compile + certify seconds.")]


def _sizes(row: dict[str, dict[str, Any]]) -> tuple[str, str]:
    known = next((r for r in row.values() if "states" in r), {})
    return str(known.get("states", "-")), str(known.get("monoid", "-"))


def write_tables(records: Sequence[dict[str, Any]], classes: Sequence[str], directory: Path,
                 run: dict[str, Any]) -> tuple[Path, ...]:
    """``suite.md`` and ``suite.tex`` (the summary and per-automaton tables) and ``suite.json`` (the run, the
    summary and every record), each written atomically."""
    from automata.fileformat import write_atomic

    made = tables(records, classes, run["wall_s"])
    files = (directory / f"{TABLES}.md", directory / f"{TABLES}.tex", directory / f"{TABLES}.json")
    write_atomic(files[0], "\n".join(t.to_markdown() for t in made))
    write_atomic(files[1], "\n".join(t.to_latex() for t in made))
    write_atomic(files[2], json.dumps({"run": run, "summary": summary(records, classes), "records": list(records)},
                                      indent=1) + "\n")
    return files
