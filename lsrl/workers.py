"""Worker processes that each run one job at a time under a deadline: a job past its deadline (or whose
worker dies) is reported and its worker killed and replaced, so no job can block the others."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

J = TypeVar("J")


@dataclass(frozen=True)
class Outcome(Generic[J]):
    """What became of a job: its result, or ``failure`` ("timed out", or how the worker died) with the last
    ``note`` the job sent on its way (what it had found before it was stopped)."""

    job: J
    result: Any = None
    failure: str | None = None
    seconds: float = 0.0
    note: Any = None


def _die_with_owner(lifeline: Connection) -> None:
    """Kill this process when the pool's owner is gone: the owner holds the only other end of ``lifeline``,
    so reading it ends (EOF) exactly then, even if the owner was killed and the job is still computing."""
    def watch() -> None:
        try:
            lifeline.recv()
        except (EOFError, OSError):
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def _serve(conn: Connection, lifeline: Connection, run: Callable[[Any, Callable[[Any], None]], Any],
           setup: Callable[[], None]) -> None:
    """A worker's loop: run each job received (``run(job, note)``, where ``note(x)`` sends a partial finding)
    and send back its result, until None or the owner is gone. Ctrl-C at a terminal signals the whole process
    group: the owner reports it once and kills the workers, so a worker ignores SIGINT (else each prints a
    KeyboardInterrupt traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_owner(lifeline)
    setup()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(("done", run(job, lambda note: conn.send(("note", note)))))


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where the system has it (a replacement worker starts in milliseconds), else spawn."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


@dataclass
class _Worker(Generic[J]):
    process: multiprocessing.process.BaseProcess
    conn: Connection
    lifeline: Connection
    job: J | None = None
    started: float = 0.0
    last: J | None = None
    note: Any = None


class DeadlinePool(Generic[J]):
    """``jobs`` worker processes running ``run(job, note)`` (a module-level function; ``note(x)`` records a
    partial finding), each set up by ``setup()`` first; ``preload`` names modules the forkserver imports once
    for all workers."""

    def __init__(self, run: Callable[[J, Callable[[Any], None]], Any], setup: Callable[[], None], jobs: int,
                 preload: Sequence[str] = ()) -> None:
        self._context = _context()
        if self._context.get_start_method() == "forkserver" and preload:
            self._context.set_forkserver_preload(list(preload))
        self._run, self._setup, self._size = run, setup, jobs
        self._workers: list[_Worker[J]] = []

    def _start(self) -> _Worker[J]:
        parent, child = self._context.Pipe()
        watched, lifeline = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_serve, args=(child, watched, self._run, self._setup), daemon=True)
        process.start()
        child.close()
        watched.close()
        return _Worker(process, parent, lifeline)

    def _stop(self, worker: _Worker[J]) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        worker.lifeline.close()

    def close(self) -> None:
        """Kill every worker (jobs in flight are lost)."""
        for worker in self._workers:
            self._stop(worker)
        self._workers = []

    def run(self, jobs: Sequence[J], timeout: float, affinity: Callable[[J], object] = lambda job: None,
            tick: Callable[[int], None] = lambda running: None, tick_seconds: float = 1.0) -> Iterator[Outcome[J]]:
        """Run ``jobs`` and yield each one's outcome as it ends. An idle worker takes the first pending job
        with the same ``affinity`` as its previous one (e.g. the same automaton: its caches are warm), else
        the first pending. ``tick(running)`` is called at least every ``tick_seconds``."""
        pending = list(jobs)
        try:
            while pending or any(w.job is not None for w in self._workers):
                self._assign(pending, affinity)
                busy = [w for w in self._workers if w.job is not None]
                now = time.monotonic()
                wait_for = min([tick_seconds, *(w.started + timeout - now for w in busy)])
                ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], max(wait_for, 0)))
                for worker in busy:
                    outcome = self._check(worker, ready, timeout)
                    if outcome is not None:
                        yield outcome
                tick(sum(w.job is not None for w in self._workers))
        finally:
            self.close()

    def _assign(self, pending: list[J], affinity: Callable[[J], object]) -> None:
        while pending and (len(self._workers) < self._size or any(w.job is None for w in self._workers)):
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None:
                idle = self._start()
                self._workers.append(idle)
            key = None if idle.last is None else affinity(idle.last)
            index = next((i for i, job in enumerate(pending) if key is not None and affinity(job) == key), 0)
            idle.job, idle.started, idle.note = pending.pop(index), time.monotonic(), None
            idle.conn.send(idle.job)

    def _check(self, worker: _Worker[J], ready: set, timeout: float) -> Outcome[J] | None:
        """The outcome of ``worker``'s job if it has one now (a result, a death or the deadline passed)."""
        job, seconds = worker.job, time.monotonic() - worker.started
        try:
            while worker.conn in ready and worker.conn.poll():
                kind, value = worker.conn.recv()
                if kind == "done":
                    worker.job, worker.last = None, job
                    return Outcome(job, value, None, seconds, worker.note)
                worker.note = value
        except (EOFError, OSError):
            pass
        if worker.process.sentinel in ready or not worker.process.is_alive():
            code = worker.process.exitcode
            self._replace(worker)
            return Outcome(job, None, f"the worker process died (exit code {code})", seconds, worker.note)
        if seconds >= timeout:
            self._replace(worker)
            return Outcome(job, None, "timed out", seconds, worker.note)
        return None

    def _replace(self, worker: _Worker[J]) -> None:
        self._stop(worker)
        self._workers.remove(worker)


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
