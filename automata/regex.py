"""Regular expressions (a subset of Python's ``re``, docs/regex.md) to minimal DFAs: parse to a typed AST with offsets,
Thompson NFA, subset construction, Hopcroft."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

import lark

from automata import limits
from automata import nfa as thompson
from automata.bounded_input import InputLimitError
from automata.dfa import DFA
from automata.errors import RegexSyntaxError
from automata.minimize import minimize
from automata.nfa import NFA, determinize

MAX_DEPTH = 200
"""Deepest AST accepted; deeper patterns would exhaust Python's recursion limit when compiled."""

MAX_LENGTH = 10_000
"""Longest pattern accepted: the Thompson NFA's closures take about 2 s at this length, quadratically more beyond."""

MAX_RANGE = 256
"""Widest class range allowed when the alphabet is taken from the pattern."""


# -- the AST -------------------------------------------------------------------------------------
# ``position`` takes no part in equality, so that a rendered and re-parsed tree equals the original.


@dataclass(frozen=True)
class Empty:
    """The empty string: an empty pattern, an empty group ``()`` or an empty branch ``a|``."""

    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Literal:
    """One symbol, written as itself or backslash-escaped."""

    char: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Dot:
    """``.``: any one symbol of the alphabet."""

    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Range:
    """``a-z`` inside a class: the symbols whose code point lies between ``low`` and ``high``."""

    low: str
    high: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CharClass:
    """``[...]``: one symbol among the items, or with ``negated`` one symbol of the alphabet outside them."""

    items: tuple[Literal | Range, ...]
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Concat:
    """The parts one after another."""

    parts: tuple[RegexNode, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Alternation:
    """Any one of the branches: ``a|b``."""

    branches: tuple[RegexNode, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Repeat:
    """``child*`` (zero or more), ``child+`` (one or more) or ``child?`` (zero or one)."""

    child: RegexNode
    quantifier: str
    position: int = field(default=0, compare=False)


RegexNode = Empty | Literal | Dot | CharClass | Concat | Alternation | Repeat


# -- parsing -------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A semantic error found while building the AST; ``parse_regex`` adds the pattern."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


class _Builder(lark.Transformer):
    """Builds the AST while the LALR parser reduces, so no parse tree (and no recursion) is needed.
    An empty ``concat`` has no token to take a position from; its parent sets it."""

    def start(self, children: list) -> RegexNode:
        (node,) = children
        return replace(node, position=0) if node.position < 0 else node

    def alternation(self, children: list) -> RegexNode:
        if len(children) == 1:
            return children[0]
        branches, bars = children[::2], children[1::2]
        placed = [replace(branches[0], position=bars[0].start_pos) if branches[0].position < 0 else branches[0]]
        placed += [replace(b, position=bar.end_pos) if b.position < 0 else b for b, bar in zip(branches[1:], bars)]
        return Alternation(tuple(placed), placed[0].position)

    def concat(self, children: list) -> RegexNode:
        if not children:
            return Empty(-1)
        return children[0] if len(children) == 1 else Concat(tuple(children), children[0].position)

    def quantified(self, children: list) -> Repeat:
        child, first, *more = children
        if more:
            raise _Invalid(f"'{more[0]}' cannot follow the quantifier '{first}' (in Python's re it would make "
                           f"the repetition lazy or possessive); use parentheses to repeat a repetition", more[0].start_pos)
        return Repeat(child, str(first), child.position)

    def literal(self, children: list) -> Literal:
        (token,) = children
        return Literal(token[-1], token.start_pos)

    class_char = literal

    def dot(self, children: list) -> Dot:
        return Dot(children[0].start_pos)

    def group(self, children: list) -> RegexNode:
        lpar, inner, _ = children
        return replace(inner, position=lpar.start_pos)

    def range(self, children: list) -> Range:
        low, _, high = children
        if low.char > high.char:
            raise _Invalid(f"bad range {low.char}-{high.char}: {low.char!r} comes after {high.char!r}", low.position)
        return Range(low.char, high.char, low.position)

    def char_class(self, children: list) -> CharClass:
        negated = isinstance(children[1], lark.Token) and children[1].type == "CARET"
        items = children[2 if negated else 1:-1]
        return CharClass(tuple(items), negated, children[0].start_pos)


@cache
def _parser() -> lark.Lark:
    grammar = resources.files("automata").joinpath("regex.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", lexer="contextual", transformer=_Builder())


def _opener(error: lark.UnexpectedToken, types: tuple[str, ...]) -> lark.Token | None:
    """The innermost unclosed ``(`` or ``[`` on the parser's stack when the error happened."""
    stack = getattr(error.state, "value_stack", [])
    return next((v for v in reversed(stack) if isinstance(v, lark.Token) and v.type in types), None)


def _message(pattern: str, p: int, in_class: bool) -> str:
    """Why the character at ``p`` cannot stand where it does (inside a class or not)."""
    c = pattern[p]
    if c == "\\":
        following = pattern[p + 1:p + 2]
        if not following:
            return "trailing backslash: write \\\\ for a backslash symbol"
        if following.isspace():
            return "a backslash cannot escape whitespace (whitespace is not a symbol)"
        return (f"unsupported escape \\{following}: only ASCII punctuation can be escaped "
                f"(Python's re reads \\{following} as a special sequence)")
    if c.isspace():
        return "whitespace is not a symbol"
    if c in "*+?":
        return f"nothing to repeat: '{c}' must follow a symbol, a class or a group"
    if c == ")":
        return "unbalanced ')': no group is open"
    if c == "]" and not in_class:
        return "unbalanced ']': no class is open; write \\] for the symbol"
    if c == "]" and pattern[p - 1] == "-":
        return "the range has no upper end; write \\- for a '-' symbol in a class"
    if c == "]":
        return "empty character class; write [\\]] for the symbol ']'"
    if c == "^" and in_class:
        return "'^' inside a class negates only as its first character; write \\^ for the symbol"
    if c in "^$":
        return (f"'{c}' is reserved (anchors are not supported: a pattern always matches a whole word); "
                f"write \\{c} for the symbol")
    if c in "{}":
        return f"'{c}' is reserved (counted repetition is not supported); write \\{c} for the symbol"
    if c == "-":
        return "a '-' in a class must stand between two characters; write \\- for the symbol"
    if c == "[":
        return "'[' inside a class must be escaped as \\["
    return f"unexpected character {c!r}"


def _syntax_error(pattern: str, error: lark.UnexpectedInput) -> RegexSyntaxError:
    """Lark's error, explained: an unclosed group or class at the end, or else an out-of-place character."""
    if isinstance(error, lark.UnexpectedToken) and error.token.type == "$END":
        opener = _opener(error, ("LPAR", "LBRACKET"))
        if opener is None:
            return RegexSyntaxError("unexpected end of the pattern", pattern, len(pattern))
        what = "']' to close this character class" if opener.type == "LBRACKET" else "')' to close this group"
        return RegexSyntaxError(f"missing {what}", pattern, opener.start_pos)
    p = min(max(error.pos_in_stream or 0, 0), len(pattern) - 1)
    expected = error.expected if isinstance(error, lark.UnexpectedToken) else getattr(error, "allowed", set())
    return RegexSyntaxError(_message(pattern, p, "CLASS_LITERAL" in expected), pattern, p)


def _too_deep(node: RegexNode) -> RegexNode | None:
    """The first node nested deeper than ``MAX_DEPTH``, found without recursion."""
    stack: list[tuple[RegexNode, int]] = [(node, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in _children(node))
    return None


def _children(node: RegexNode) -> tuple[RegexNode, ...]:
    if isinstance(node, Concat):
        return node.parts
    if isinstance(node, Alternation):
        return node.branches
    if isinstance(node, Repeat):
        return (node.child,)
    return ()


def parse_regex(pattern: str) -> RegexNode:
    """The AST of ``pattern``; an invalid pattern raises ``RegexSyntaxError`` at the offending character."""
    if len(pattern) > MAX_LENGTH:
        raise InputLimitError(f"a regex of {len(pattern)} characters (limit {MAX_LENGTH})")
    try:
        node = _parser().parse(pattern)
    except _Invalid as error:
        raise RegexSyntaxError(error.message, pattern, error.position) from None
    except lark.UnexpectedInput as error:
        raise _syntax_error(pattern, error) from None
    deep = _too_deep(node)
    if deep is not None:
        raise RegexSyntaxError(f"the pattern is nested more than {MAX_DEPTH} levels deep", pattern, deep.position)
    return node


# -- rendering -----------------------------------------------------------------------------------

_META = set("\\|*+?()[]{}.^$")
_CLASS_META = set("\\[]^-|&~")  # | & ~ doubled inside a class make Python's re warn about set operations


def _escape(char: str, meta: set[str]) -> str:
    return "\\" + char if char in meta else char


def _render_item(item: Literal | Range) -> str:
    if isinstance(item, Range):
        return f"{_escape(item.low, _CLASS_META)}-{_escape(item.high, _CLASS_META)}"
    return _escape(item.char, _CLASS_META)


def _render_in(node: RegexNode, parent: type) -> str:
    """Render a child, parenthesised where ``parent``'s syntax would otherwise absorb or split it."""
    if isinstance(node, Empty):
        return "" if parent is Alternation else "()"
    text = render_regex(node)
    needs_group = (isinstance(node, (Concat, Alternation, Repeat)) if parent is Repeat
                   else isinstance(node, (Concat, Alternation)) if parent is Concat
                   else isinstance(node, Alternation))
    return f"({text})" if needs_group else text


def render_regex(node: RegexNode) -> str:
    """A pattern whose AST is ``node`` (with the minimal escapes and parentheses), valid for Python's re too."""
    if isinstance(node, Empty):
        return ""
    if isinstance(node, Literal):
        return _escape(node.char, _META)
    if isinstance(node, Dot):
        return "."
    if isinstance(node, CharClass):
        return "[" + "^" * node.negated + "".join(map(_render_item, node.items)) + "]"
    if isinstance(node, Concat):
        return "".join(_render_in(part, Concat) for part in node.parts)
    if isinstance(node, Alternation):
        return "|".join(_render_in(branch, Alternation) for branch in node.branches)
    return _render_in(node.child, Repeat) + node.quantifier


# -- compilation ---------------------------------------------------------------------------------


def _class_members(node: Literal | Range) -> Iterator[str]:
    """The characters an item of a class names, when the alphabet is taken from the pattern."""
    if isinstance(node, Literal):
        yield node.char
    else:
        yield from map(chr, range(ord(node.low), ord(node.high) + 1))


def _literals(node: RegexNode) -> list[Literal | Range]:
    """Every literal and range of the pattern, classes included, in order of position."""
    found = []
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, Literal):
            found.append(node)
        elif isinstance(node, CharClass):
            found.extend(node.items)
        stack.extend(_children(node))
    return sorted(found, key=lambda item: item.position)


def _pattern_alphabet(pattern: str, node: RegexNode) -> tuple[str, ...]:
    """The sorted characters named by the pattern's literals and class ranges."""
    symbols: set[str] = set()
    for item in _literals(node):
        if isinstance(item, Range) and ord(item.high) - ord(item.low) >= MAX_RANGE:
            raise RegexSyntaxError(f"range {item.low}-{item.high} is wider than {MAX_RANGE} characters; "
                                   "pass an explicit alphabet", pattern, item.position)
        symbols.update(_class_members(item))
    return tuple(sorted(symbols))


def _check_alphabet(pattern: str, node: RegexNode, alphabet: tuple[str, ...]) -> None:
    """Every literal must be a symbol of the alphabet (ranges are cut down to it instead)."""
    symbols = set(alphabet)
    for item in _literals(node):
        if isinstance(item, Literal) and item.char not in symbols:
            shown = ", ".join(map(repr, alphabet[:20])) + (", ..." if len(alphabet) > 20 else "")
            raise RegexSyntaxError(f"symbol {item.char!r} is not in the alphabet {{{shown}}}", pattern, item.position)


def _class_symbols(node: CharClass, alphabet: tuple[str, ...]) -> list[str]:
    """The symbols of the alphabet that the class matches."""
    def named(a: str) -> bool:
        return any(a == item.char if isinstance(item, Literal) else len(a) == 1 and item.low <= a <= item.high
                   for item in node.items)
    return [a for a in alphabet if named(a) != node.negated]


def _to_nfa(node: RegexNode, alphabet: tuple[str, ...]) -> NFA:
    """Thompson's construction (Thompson 1968), with n-ary concatenation and union."""
    if isinstance(node, Empty):
        return thompson.empty_string(alphabet)
    if isinstance(node, Literal):
        return thompson.symbol(alphabet, node.char)
    if isinstance(node, Dot):
        return thompson.symbol(alphabet, *alphabet)
    if isinstance(node, CharClass):
        return thompson.symbol(alphabet, *_class_symbols(node, alphabet))
    if isinstance(node, Concat):
        return thompson.concat(*(_to_nfa(part, alphabet) for part in node.parts))
    if isinstance(node, Alternation):
        return thompson.union(*(_to_nfa(branch, alphabet) for branch in node.branches))
    repeat = {"*": thompson.star, "+": thompson.plus, "?": thompson.optional}[node.quantifier]
    return repeat(_to_nfa(node.child, alphabet))


def regex_to_nfa(pattern: str, alphabet: Sequence[str] | None = None) -> NFA:
    """An NFA for the pattern over ``alphabet`` (by default the sorted characters the pattern names).
    A literal outside a given alphabet raises ``RegexSyntaxError`` naming it."""
    node = parse_regex(pattern)
    if alphabet is None:
        symbols = _pattern_alphabet(pattern, node)
    else:
        symbols = tuple(alphabet)
        _check_alphabet(pattern, node, symbols)
    if not symbols:
        taken = "the pattern names no symbol, so the alphabet taken from it" if alphabet is None else "the alphabet"
        raise RegexSyntaxError(f"{taken} is empty; name the symbols (over {{a, b}}, '[^ab]' is the empty "
                               "language and '[^ab]*' the empty word)", pattern, 0)
    return _to_nfa(node, symbols)


def regex_to_dfa(pattern: str, alphabet: Sequence[str] | None = None) -> DFA:
    """The minimal DFA of the pattern's language over ``alphabet`` (see ``regex_to_nfa``). A subset
    construction of more states than the limit (``automata.limits``: ``(a|b)*a(a|b)(a|b)...`` doubles with
    each factor) is an ``InputLimitError``, raised before the table grows."""
    nfa = regex_to_nfa(pattern, alphabet)
    try:
        return minimize(determinize(nfa, max_states=limits.value("states")))
    except InputLimitError:
        raise limits.LimitExceeded("states", f"regex {pattern!r:.60}: its DFA has more states before "
                                   "minimisation") from None
