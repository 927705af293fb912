"""Resolve a language given on the command line (a task name, a DFA file or a regex) to a DFA."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automata.dfa import DFA


@dataclass(frozen=True)
class Language:
    """A DFA with the name it was asked for by (``task:parity``, ``lang.json``, ``regex:(ab)*``)."""

    name: str
    dfa: DFA


def resolve_language(spec: str | None = None, regex: str | None = None, complete_with_sink: bool = False) -> Language:
    """``spec`` is ``task:NAME``, a bare task name, or a path to a ``.json`` DFA file; ``regex`` a pattern."""
    if regex is not None:
        from automata.regex import regex_to_dfa

        return Language(f"regex:{regex}", regex_to_dfa(regex))
    assert spec is not None
    if spec.endswith(".json") or Path(spec).is_file():
        from automata.fileformat import load_dfa

        return Language(spec, load_dfa(spec, complete_with_sink))
    from automata.tasks import get_task

    task = get_task(spec.removeprefix("task:"))
    return Language(f"task:{task.name}", task.dfa)
