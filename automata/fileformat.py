"""The lsrl DFA file format (JSON, versioned ``{"format": "lsrl-dfa", "version": 1, ...}``), documented in
docs/dfa-format.md."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from automata import limits
from automata.bounded_input import load_json
from automata.dfa import DFA, first_repeat
from automata.errors import AutomatonError, FileFormatError, LsrlInputError

FORMAT = "lsrl-dfa"
VERSION = 1
FIELDS = ("format", "version", "alphabet", "states", "start", "accepting", "transitions", "labels")
"""The fields a DFA file may have; ``labels`` (a task's label per state) is written by ``lsrl compile``
into a model directory's dfa.json and checked by ``lsrl verify``, not by this reader."""


def dfa_to_json(dfa: DFA) -> dict[str, Any]:
    names = list(dfa.state_names)
    if len(set(names)) != len(names):
        names = [str(q) for q in range(dfa.n_states)]
    return {
        "format": FORMAT,
        "version": VERSION,
        "alphabet": list(dfa.alphabet),
        "states": names,
        "start": names[dfa.start],
        "accepting": [names[q] for q in sorted(dfa.accepting)],
        "transitions": {names[q]: {a: names[int(dfa.delta[q, j])] for j, a in enumerate(dfa.alphabet)}
                        for q in range(dfa.n_states)},
    }


def _field(data: dict, key: str, kind: type, source: str) -> Any:
    if key not in data:
        raise FileFormatError(f"{source}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise FileFormatError(f"{source}: field {key!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _names(data: dict, key: str, source: str, distinct: bool = True) -> list[str]:
    """Field ``key``: a list of non-empty strings, each listed once when ``distinct``."""
    items = _field(data, key, list, source)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise FileFormatError(f"{source}: entry {i} of {key!r} must be a non-empty string, got {item!r:.40}")
    twice = first_repeat(items) if distinct else None
    if twice is not None:
        raise FileFormatError(f"{source}: {twice!r:.40} is listed twice in {key!r}")
    return items


def _header(data: Any, source: str) -> None:
    """The top level: an object of the known fields, of this format and version."""
    if not isinstance(data, dict):
        raise FileFormatError(f"{source}: expected a JSON object at top level, got {type(data).__name__}")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        raise FileFormatError(f"{source}: unknown field {unknown[0]!r} (a DFA file has {', '.join(FIELDS)})")
    if data.get("format") != FORMAT:
        raise FileFormatError(f"{source}: field 'format' must be {FORMAT!r}, got {data.get('format')!r:.40}")
    if type(data.get("version")) is not int or data["version"] != VERSION:
        raise FileFormatError(f"{source}: unsupported version {data.get('version')!r:.40} "
                              f"(this lsrl reads version {VERSION})")


def _transitions(table: dict, known: set[str], source: str) -> dict[tuple[str, str], str]:
    """The rows ``state -> {symbol: state}``; every name must be a listed state."""
    transitions = {}
    for q, row in table.items():
        if q not in known:
            raise AutomatonError(f"{source}: transitions from an unknown state", state=q)
        if not isinstance(row, dict):
            raise FileFormatError(f"{source}: transitions of state {q!r} must be an object symbol -> state, "
                                  f"got {type(row).__name__}")
        for a, r in row.items():
            if not isinstance(r, str):
                raise FileFormatError(f"{source}: the transition of state {q!r} on symbol {a!r} must name a "
                                      f"state (a string), got {type(r).__name__}")
            if r not in known:
                raise AutomatonError(f"{source}: transition to unknown state {r!r:.40}", state=q, symbol=a)
            transitions[(q, a)] = r
    return transitions


def dfa_from_json(data: Any, source: str = "<json>", complete_with_sink: bool = False) -> DFA:
    """Parse the JSON document of a DFA; errors name the source and the offending field, state or symbol."""
    _header(data, source)
    alphabet = _names(data, "alphabet", source)
    states = _names(data, "states", source)
    accepting = _names(data, "accepting", source, distinct=False)
    table = _field(data, "transitions", dict, source)
    start = _field(data, "start", str, source)
    if not alphabet:
        raise FileFormatError(f"{source}: field 'alphabet' is empty; a DFA reads at least one symbol")
    # the table is allocated before a sink completes a partial one
    limits.check("transitions", len(states) * len(alphabet), f"{source} ({len(states)} states x {len(alphabet)} symbols)")
    known = set(states)
    for q in [start, *accepting]:
        if q not in known:
            raise FileFormatError(f"{source}: {q!r:.40} is not listed in 'states'")
    transitions = _transitions(table, known, source)
    try:
        return DFA.from_transitions(alphabet, transitions, start, accepting, states, complete_with_sink)
    except AutomatonError as err:
        raise type(err)(f"{source}: {err}") from None


def load_dfa(path: str | os.PathLike, complete_with_sink: bool = False) -> DFA:
    """The DFA in the file ``path``, read with ``automata.bounded_input``'s limits (UTF-8, size, nesting)."""
    try:
        data = load_json(path, "DFA file")
    except FileFormatError:
        raise
    except LsrlInputError as err:
        raise FileFormatError(str(err)) from None
    return dfa_from_json(data, str(path), complete_with_sink)


def umask() -> int:
    """The process's file-creation mask (read by setting it and restoring it at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's file is private (0600); a plain open's is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_dfa(dfa: DFA, path: str | os.PathLike) -> None:
    write_atomic(path, json.dumps(dfa_to_json(dfa), indent=1) + "\n")
