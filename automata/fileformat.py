"""The lsrl DFA file format (JSON, versioned). Documented in docs/dfa-format.md.

    {"format": "lsrl-dfa", "version": 1,
     "alphabet": ["a", "b"], "states": ["even", "odd"], "start": "even", "accepting": ["even"],
     "transitions": {"even": {"a": "odd", "b": "even"}, "odd": {"a": "even", "b": "odd"}}}
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from automata.dfa import DFA
from automata.errors import AutomatonError, FileFormatError

FORMAT = "lsrl-dfa"
VERSION = 1


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


def dfa_from_json(data: Any, source: str = "<json>", complete_with_sink: bool = False) -> DFA:
    """Parse the JSON document of a DFA; errors name the source and the offending field, state or symbol."""
    if not isinstance(data, dict):
        raise FileFormatError(f"{source}: expected a JSON object at top level")
    if data.get("format") != FORMAT:
        raise FileFormatError(f"{source}: field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") != VERSION:
        raise FileFormatError(f"{source}: unsupported version {data.get('version')!r} (this lsrl reads version {VERSION})")
    alphabet = _field(data, "alphabet", list, source)
    states = _field(data, "states", list, source)
    accepting = _field(data, "accepting", list, source)
    table = _field(data, "transitions", dict, source)
    start = _field(data, "start", str, source)
    for what, items in (("alphabet", alphabet), ("states", states), ("accepting", accepting)):
        if not all(isinstance(x, str) for x in items):
            raise FileFormatError(f"{source}: every entry of {what!r} must be a string")
    known = set(states)
    for q in [start, *accepting]:
        if q not in known:
            raise FileFormatError(f"{source}: {q!r} is not listed in 'states'")
    transitions = {}
    for q, row in table.items():
        if q not in known:
            raise AutomatonError(f"{source}: transitions from an unknown state", state=q)
        if not isinstance(row, dict):
            raise FileFormatError(f"{source}: transitions of state {q!r} must be an object symbol -> state")
        for a, r in row.items():
            if r not in known:
                raise AutomatonError(f"{source}: transition to unknown state {r!r}", state=q, symbol=a)
            transitions[(q, a)] = r
    try:
        return DFA.from_transitions(alphabet, transitions, start, accepting, states, complete_with_sink)
    except AutomatonError as err:
        raise type(err)(f"{source}: {err}") from None


def load_dfa(path: str | os.PathLike, complete_with_sink: bool = False) -> DFA:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise FileFormatError(f"{path}: cannot read ({err.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FileFormatError(f"{path}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}") from None
    return dfa_from_json(data, str(path), complete_with_sink)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_dfa(dfa: DFA, path: str | os.PathLike) -> None:
    write_atomic(path, json.dumps(dfa_to_json(dfa), indent=1) + "\n")
