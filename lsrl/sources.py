"""Resolve a language given on the command line (a task name, a DFA file or a regex) to a DFA."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automata.dfa import DFA
from automata.errors import LsrlInputError


@dataclass(frozen=True, eq=False)
class Language:
    """A DFA with the name it was asked for by (``task:parity``, ``lang.json``, ``regex:(ab)*``)."""

    name: str
    dfa: DFA
    labels: np.ndarray | None = None  # a task's label of each state; None: acceptance


ATT_SUFFIXES = (".att", ".fst.txt", ".txt")
"""File names read as OpenFst AT&T acceptors (``automata.att_format``); other files are DFA JSON."""
SYMBOLS_FLAG = " --symbols "
"""Joins an AT&T file and its symbol table in a language's name, so that ``lsrl verify`` can re-read both."""


def resolve_language(spec: str | None = None, regex: str | None = None, complete_with_sink: bool = False,
                     symbols: str | None = None) -> Language:
    """``spec`` is ``task:NAME``, a bare task name, a path to a ``.json`` DFA file or to an AT&T acceptor
    (``.att``, ``.fst.txt``, ``.txt``; ``symbols`` its symbol table, or ``"PATH --symbols TABLE"``);
    ``regex`` a pattern."""
    if (spec is None) == (regex is None):
        raise LsrlInputError("give exactly one of a task name, a DFA .json file, an AT&T file or --regex R")
    if spec is not None and symbols is None and SYMBOLS_FLAG in spec and not _is_file(spec):
        spec, _, symbols = spec.partition(SYMBOLS_FLAG)
    if symbols is not None and (spec is None or not spec.endswith(ATT_SUFFIXES)):
        raise LsrlInputError(f"--symbols {symbols}: a symbol table is for an AT&T file (a name ending in "
                             f"{', '.join(ATT_SUFFIXES)})")
    if regex is not None:
        from automata.regex import regex_to_dfa

        return Language(f"regex:{regex}", regex_to_dfa(regex))
    if spec.endswith(ATT_SUFFIXES):
        from automata.att_format import load_att

        name = spec if symbols is None else f"{spec}{SYMBOLS_FLAG}{symbols}"
        return Language(name, load_att(spec, symbols))
    if spec.endswith(".json") or _is_file(spec):
        from automata.fileformat import load_dfa

        return Language(spec, load_dfa(spec, complete_with_sink))
    from automata.tasks import get_task

    task = get_task(spec.removeprefix("task:"))
    return Language(f"task:{task.name}", task.dfa, task.labels)


def _is_file(spec: str) -> bool:
    """Whether ``spec`` names an existing file (a name the system cannot even look up is not one)."""
    try:
        return Path(spec).is_file()
    except (OSError, ValueError):
        return False


def split_word(text: str, alphabet: tuple[str, ...]) -> tuple[str, ...]:
    """Symbols separated by whitespace; without whitespace, one character per symbol when every
    symbol of the alphabet is a single character. Unknown symbols are reported by the DFA."""
    if any(c.isspace() for c in text) or any(len(a) != 1 for a in alphabet):
        return tuple(text.split())
    return tuple(text)
