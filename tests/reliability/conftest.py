"""Helpers for the attack tests: run the CLI in-process or as a process and check that a refusal is
one ``lsrl CMD: error: ...`` line with exit code 2 and no traceback."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lsrl.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"lsrl \w+: .* \(\d+ s\)")  # lsrl.progress's log line for work longer than 2 s


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def lsrl(capsys):
    """``lsrl(*argv)`` runs the CLI in this process and returns its exit code and output."""
    def run(*argv: str) -> Outcome:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)
    return run


def lsrl_process(*argv: str, cwd: str | os.PathLike | None = None, timeout: float = 60) -> Outcome:
    """The CLI as a separate process (for tracebacks, signals and hangs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lsrl.cli", *map(str, argv)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_refused(outcome: Outcome, *words: str) -> None:
    """Exit 2, one error line naming each of ``words``, no traceback. Indented lines after it are the
    same message's context (the source line and a caret under the column, a list of known names)."""
    assert outcome.code == 2, outcome
    lines = [line for line in outcome.err.splitlines() if line.strip() and not PROGRESS.fullmatch(line)]
    assert lines and lines[0].startswith("lsrl ") and " error: " in lines[0], outcome.err
    assert all(line.startswith("  ") for line in lines[1:]), outcome.err
    assert "Traceback" not in outcome.err + outcome.out
    for word in words:
        assert word in lines[0], (word, lines[0])


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its content, to prove that nothing was touched."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
