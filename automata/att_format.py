"""OpenFst's AT&T text format for acceptors (``fstcompile --acceptor``) and symbol tables, read into a
DFA (partial ones completed with a rejecting sink; epsilon or nondeterministic arcs determinised) and
written from one. Documented in docs/dfa-format.md."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from automata import limits
from automata.bounded_input import InputLimitError, read_text
from automata.dfa import DFA
from automata.errors import FileFormatError
from automata.fileformat import write_atomic
from automata.nfa import NFA, determinize

EPSILON = "<eps>"
"""The conventional name of label 0, which OpenFst reserves for the empty string."""
MAX_ID = 2**31 - 1
"""Largest state id or label: OpenFst's ids are 32-bit signed integers."""
_FIELD = re.compile(r"[^ \t]+")
_INTEGER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class _Field:
    """One whitespace-separated field of a line, with its 1-based line and column for messages."""

    text: str
    line: int
    column: int

    def where(self, source: str) -> str:
        return f"{source}:{self.line}:{self.column}"


@dataclass(frozen=True)
class _Acceptor:
    """What the lines of an acceptor say: states in order of appearance (the start first), arcs with
    label None for epsilon, and final states; labels are the alphabet's symbols."""

    states: tuple[str, ...]
    arcs: tuple[tuple[int, int, str | None], ...]
    final: frozenset[int]
    alphabet: tuple[str, ...]


def _lines(text: str) -> Iterator[list[_Field]]:
    """The non-blank lines of ``text`` as their fields (OpenFst separates fields by spaces and tabs)."""
    for number, line in enumerate(text.split("\n"), start=1):
        fields = [_Field(m.group(), number, m.start() + 1) for m in _FIELD.finditer(line.removesuffix("\r"))]
        if fields:
            yield fields


def _integer(field: _Field, what: str, source: str) -> int:
    """A non-negative integer field no larger than ``MAX_ID``."""
    if not _INTEGER.fullmatch(field.text):
        raise FileFormatError(f"{field.where(source)}: {what} must be a non-negative integer, got {field.text!r:.40}")
    if len(field.text) > 10 or int(field.text) > MAX_ID:
        raise FileFormatError(f"{field.where(source)}: {what} {field.text:.40} is larger than {MAX_ID}")
    return int(field.text)


def _weight_is_zero(field: _Field, source: str) -> bool:
    """Whether a weight is the tropical semiring's zero (infinity: no arc, not final); any other number is
    a weight that does not change the language. A field that is not a number is an error."""
    try:
        value = float(field.text)
    except ValueError:
        value = math.nan
    if math.isnan(value) or value == -math.inf:
        raise FileFormatError(f"{field.where(source)}: weight {field.text!r:.40} is not a number or Infinity "
                              "(an acceptor's line is 'src dst label [weight]' or 'state [weight]'; "
                              "transducers are not read)")
    return value == math.inf


def parse_symbols(text: str, source: str) -> dict[str, int]:
    """An OpenFst symbol table (``symbol id`` lines) as a map from symbol to id; each symbol and id once,
    ``<eps>`` only as id 0."""
    table: dict[str, int] = {}
    ids: dict[int, str] = {}
    for fields in _lines(text):
        if len(fields) != 2:
            raise FileFormatError(f"{fields[0].where(source)}: a symbol table line is 'symbol id', "
                                  f"got {len(fields)} fields")
        name, number = fields[0].text, _integer(fields[1], "a symbol's id", source)
        if name in table or number in ids:
            twice = f"symbol {name!r:.40}" if name in table else f"id {number} (also {ids[number]!r:.40})"
            raise FileFormatError(f"{fields[0].where(source)}: {twice} is listed twice")
        if name == EPSILON and number != 0:
            raise FileFormatError(f"{fields[1].where(source)}: {EPSILON} must have id 0, got {number}")
        table[name] = number
        ids[number] = name
    if not any(number != 0 for number in table.values()):
        raise FileFormatError(f"{source}: the symbol table names no symbol other than epsilon (id 0)")
    return table


def load_symbols(path: str | os.PathLike) -> dict[str, int]:
    """The symbol table in the file ``path``, read with ``automata.bounded_input``'s limits."""
    return parse_symbols(read_text(path, "symbol table"), str(path))


def _label(field: _Field, symbols: Mapping[str, int] | None, source: str) -> str | None:
    """A label's symbol (None for epsilon): a name of the symbol table, else a raw integer."""
    if symbols is None:
        if not _INTEGER.fullmatch(field.text):
            raise FileFormatError(f"{field.where(source)}: label {field.text!r:.40} is not an integer; without a "
                                  "symbol table (--symbols FILE) labels are integers, 0 for epsilon")
        number = _integer(field, "a label", source)
        return None if number == 0 else str(number)
    if field.text not in symbols:
        raise FileFormatError(f"{field.where(source)}: label {field.text!r:.40} is not in the symbol table")
    return None if symbols[field.text] == 0 else field.text


def _acceptor(text: str, source: str, symbols: Mapping[str, int] | None) -> _Acceptor:
    """Read the arc lines ``src dst label [weight]`` and final lines ``state [weight]``; the first line's
    first field is the start state."""
    index: dict[int, int] = {}
    arcs: list[tuple[int, int, str | None]] = []
    final: dict[int, bool] = {}

    def state(field: _Field) -> int:
        return index.setdefault(_integer(field, "a state id", source), len(index))

    for fields in _lines(text):
        if len(fields) > 4:
            raise FileFormatError(f"{fields[4].where(source)}: {len(fields)} fields; an acceptor's arc is "
                                  "'src dst label [weight]' (transducers' 'src dst in out' lines are not read)")
        if len(fields) <= 2:
            final[state(fields[0])] = len(fields) == 1 or not _weight_is_zero(fields[1], source)
            continue
        src, dst = state(fields[0]), state(fields[1])
        label = _label(fields[2], symbols, source)
        if len(fields) == 3 or not _weight_is_zero(fields[3], source):
            arcs.append((src, dst, label))
    if not index:
        raise FileFormatError(f"{source}: no lines; an acceptor has at least its start state")
    alphabet = _alphabet(arcs, symbols)
    if not alphabet:
        raise FileFormatError(f"{source}: no arc reads a symbol; without a symbol table the alphabet is the "
                              "labels used, so give one (--symbols FILE) to say which symbols there are")
    return _Acceptor(tuple(str(q) for q in index), tuple(arcs), frozenset(q for q, yes in final.items() if yes),
                     alphabet)


def _alphabet(arcs: list[tuple[int, int, str | None]], symbols: Mapping[str, int] | None) -> tuple[str, ...]:
    """The symbol table's symbols other than epsilon, by id; without a table, the labels used, by value."""
    if symbols is not None:
        return tuple(sorted((a for a, number in symbols.items() if number != 0), key=symbols.__getitem__))
    return tuple(sorted({a for _, _, a in arcs if a is not None}, key=int))


def _to_dfa(acceptor: _Acceptor, source: str) -> DFA:
    """The acceptor as a total DFA: directly when it is deterministic, else by the subset construction
    (states named by the sets of ids they stand for); a missing arc goes to a rejecting sink."""
    width = len(acceptor.alphabet)
    targets: dict[tuple[int, str | None], set[int]] = {}
    for src, dst, label in acceptor.arcs:
        targets.setdefault((src, label), set()).add(dst)
    if all(label is not None and len(dst) == 1 for (_, label), dst in targets.items()):
        limits.check("transitions", (len(acceptor.states) + 1) * width,
                     f"{source} ({len(acceptor.states)} states and a sink x {width} symbols)")
        names = acceptor.states
        transitions = {(names[q], a): names[next(iter(dst))] for (q, a), dst in targets.items()}
        return DFA.from_transitions(acceptor.alphabet, transitions, names[0], [names[q] for q in acceptor.final],
                                    names, complete_with_sink=True)
    nfa = NFA(acceptor.alphabet, len(acceptor.states), frozenset({0}), acceptor.final,
              {key: dst for key, dst in targets.items() if key[1] is not None},
              {q: dst for (q, a), dst in targets.items() if a is None})
    try:
        dfa = determinize(nfa, max_states=limits.value("transitions") // width)
    except InputLimitError:
        raise limits.LimitExceeded("transitions", f"{source}: determinising it makes more than "
                                   f"{limits.value('transitions') // width} states x {width} symbols") from None
    rename = re.compile(r"\d+")
    names = tuple(rename.sub(lambda m: acceptor.states[int(m.group())], name) for name in dfa.state_names)
    return DFA(dfa.alphabet, dfa.delta, dfa.start, dfa.accepting, names)


def parse_att(text: str, source: str = "<att>", symbols: Mapping[str, int] | None = None) -> DFA:
    """The DFA of an acceptor in AT&T text; labels are names of ``symbols`` (a symbol table) or, without
    one, integers (0 is epsilon). Errors name ``source``, the line and the column."""
    return _to_dfa(_acceptor(text, source, symbols), source)


def load_att(path: str | os.PathLike, symbols_path: str | os.PathLike | None = None) -> DFA:
    """The DFA of the acceptor in the file ``path``, with the symbol table in ``symbols_path`` if given."""
    symbols = None if symbols_path is None else load_symbols(symbols_path)
    return parse_att(read_text(path, "AT&T file"), str(path), symbols)


def _written_symbols(dfa: DFA, named: bool) -> tuple[str, ...]:
    """The labels that stand for the DFA's symbols in a file: the symbols themselves, which must be
    fields (no spaces) other than epsilon's, or without a symbol table positive integers written plainly."""
    for a in dfa.alphabet:
        if named and (_FIELD.fullmatch(a) is None or a == EPSILON or "\n" in a or "\r" in a):
            raise FileFormatError(f"symbol {a!r:.40} cannot be written in a symbol table (empty, spaces, or {EPSILON})")
        if not named and (not re.fullmatch(r"[1-9][0-9]*", a) or int(a) > MAX_ID):
            raise FileFormatError(f"symbol {a!r:.40} is not a positive integer label; write a symbol table "
                                  "with the AT&T file (save_att(dfa, path, symbols_path))")
    return dfa.alphabet


def att_text(dfa: DFA, named: bool = True) -> str:
    """The DFA as AT&T text: every transition ``src dst label``, the start state's first, then one line
    per accepting state; labels are the symbols (``named``) or their integers."""
    labels = _written_symbols(dfa, named)
    order = [dfa.start, *(q for q in range(dfa.n_states) if q != dfa.start)]
    arcs = [f"{q}\t{int(dfa.delta[q, j])}\t{a}" for q in order for j, a in enumerate(labels)]
    return "\n".join(arcs + [str(q) for q in sorted(dfa.accepting)]) + "\n"


def symbols_text(dfa: DFA) -> str:
    """The symbol table of the DFA's alphabet: epsilon as 0, then each symbol numbered from 1."""
    _written_symbols(dfa, named=True)
    return "".join(f"{a}\t{i}\n" for i, a in enumerate((EPSILON, *dfa.alphabet)))


def save_att(dfa: DFA, path: str | os.PathLike, symbols_path: str | os.PathLike | None = None) -> None:
    """Write the DFA to ``path`` (and its symbol table to ``symbols_path``, if given), each atomically;
    without a symbol table the symbols must be positive integers."""
    text = att_text(dfa, named=symbols_path is not None)
    if symbols_path is not None:
        write_atomic(symbols_path, symbols_text(dfa))
    write_atomic(path, text)
