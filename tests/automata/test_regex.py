"""Regexes: the minimal DFA agrees with Python's ``re.fullmatch`` on random patterns, and every bad
pattern raises ``RegexSyntaxError`` pointing at the right column, never a lark exception."""
from __future__ import annotations

import itertools
import re
import string
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.errors import LsrlInputError, RegexSyntaxError
from automata.minimize import is_minimal
from automata.regex import (
    MAX_DEPTH,
    MAX_RANGE,
    Alternation,
    CharClass,
    Concat,
    Dot,
    Empty,
    Literal,
    Range,
    RegexNode,
    Repeat,
    parse_regex,
    regex_to_dfa,
    regex_to_nfa,
    render_regex,
)

# Alphabets for the comparison with re; the second needs escapes both inside and outside classes.
ALPHABETS = [("a", "b"), ("0", "1", "2"), ("-", ".", "]", "^", "a")]


def words(alphabet: tuple[str, ...], max_length: int) -> list[str]:
    return ["".join(w) for n in range(max_length + 1) for w in itertools.product(alphabet, repeat=n)]


def some_words(alphabet: tuple[str, ...], budget: int = 150) -> list[str]:
    """All words up to the longest length whose words number at most ``budget`` in all."""
    length = 0
    while len(alphabet) ** (length + 1) <= budget and length < 6:
        length += 1
    return words(alphabet, length)


def named_characters(node: RegexNode) -> set[str]:
    """The characters that the literals and class ranges of ``node`` name."""
    if isinstance(node, Literal):
        return {node.char}
    if isinstance(node, CharClass):
        return set().union(*({chr(c) for c in range(ord(i.low), ord(i.high) + 1)} if isinstance(i, Range)
                             else {i.char} for i in node.items))
    children = node.parts if isinstance(node, Concat) else node.branches if isinstance(node, Alternation) else (
        (node.child,) if isinstance(node, Repeat) else ())
    return set().union(*map(named_characters, children))


@st.composite
def char_classes(draw: st.DrawFn, alphabet: tuple[str, ...]) -> CharClass:
    symbol = st.sampled_from(alphabet)
    ranges = st.tuples(symbol, symbol).map(lambda pair: Range(*sorted(pair)))
    items = draw(st.lists(st.one_of(symbol.map(Literal), ranges), min_size=1, max_size=3))
    return CharClass(tuple(items), draw(st.booleans()))


def regex_nodes(alphabet: tuple[str, ...]) -> st.SearchStrategy[RegexNode]:
    """Random ASTs of the shapes the parser produces (so that rendering and parsing round-trip)."""
    leaves = st.one_of(st.sampled_from(alphabet).map(Literal), st.just(Dot()), st.just(Empty()), char_classes(alphabet))

    def extend(children: st.SearchStrategy[RegexNode]) -> st.SearchStrategy[RegexNode]:
        several = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(several.map(Concat), several.map(Alternation),
                         st.builds(Repeat, children, st.sampled_from("*+?")))

    return st.recursive(leaves, extend, max_leaves=8)


NODES = {alphabet: regex_nodes(alphabet) for alphabet in ALPHABETS}  # built once: building validates
ALPHABETS_AND_NODES = st.one_of(*(st.tuples(st.just(alphabet), nodes) for alphabet, nodes in NODES.items()))


@settings(max_examples=80, deadline=None)
@given(ALPHABETS_AND_NODES)
def test_agrees_with_re_fullmatch(case: tuple[tuple[str, ...], RegexNode]) -> None:
    alphabet, node = case
    pattern = render_regex(node)
    assert parse_regex(pattern) == node
    dfa = regex_to_dfa(pattern, alphabet)
    assert dfa.alphabet == alphabet
    assert is_minimal(dfa)
    compiled = re.compile(pattern)
    for word in some_words(alphabet):
        assert dfa.accepts(word) == bool(compiled.fullmatch(word)), (pattern, word)


@settings(max_examples=40, deadline=None)
@given(ALPHABETS_AND_NODES)
def test_determinize_agrees_with_the_nfa(case: tuple[tuple[str, ...], RegexNode]) -> None:
    alphabet, node = case
    pattern = render_regex(node)
    nfa = regex_to_nfa(pattern, alphabet)
    dfa = regex_to_dfa(pattern, alphabet)
    for word in some_words(alphabet, 40):
        assert dfa.accepts(word) == nfa.accepts(word), (pattern, word)


@settings(max_examples=40, deadline=None)
@given(regex_nodes(("a", "b", "c")))
def test_default_alphabet_is_the_pattern_characters(node: RegexNode) -> None:
    pattern = render_regex(node)
    if not named_characters(node):  # '', '()', '.': no alphabet to take, refused rather than a DFA over none
        with pytest.raises(RegexSyntaxError, match="alphabet taken from it is empty"):
            regex_to_dfa(pattern)
        return
    dfa = regex_to_dfa(pattern)
    assert dfa.alphabet == tuple(sorted(named_characters(node)))
    compiled = re.compile(pattern)
    for word in some_words(dfa.alphabet):
        assert dfa.accepts(word) == bool(compiled.fullmatch(word)), (pattern, word)


FUZZ_CHARACTERS = "ab()[]|*+?.^$\\-{} "


@settings(max_examples=200, deadline=None)
@given(st.text(FUZZ_CHARACTERS, max_size=10))
def test_fuzz_compiles_or_raises_regex_syntax_error(pattern: str) -> None:
    """Anything accepted means the same as in re; anything else is a RegexSyntaxError with a column."""
    try:
        dfa = regex_to_dfa(pattern)
    except RegexSyntaxError as error:
        assert 0 <= error.position <= len(pattern)
        assert f"column {error.position + 1}:" in str(error)
        return
    with warnings.catch_warnings():  # re warns (FutureWarning) about a doubled '|' inside a class
        warnings.simplefilter("ignore", FutureWarning)
        compiled = re.compile(pattern)
    rng = np.random.default_rng(len(pattern))
    samples = ["".join(rng.choice(dfa.alphabet, size=n)) for n in rng.integers(0, 7, size=40)] if dfa.alphabet else [""]
    for word in samples:
        assert dfa.accepts(word) == bool(compiled.fullmatch(word)), (pattern, word)


# (pattern, 1-based column of the caret, a phrase of the message)
BAD = [
    ("(ab", 1, "missing ')'"),
    ("a(b(c)", 2, "missing ')'"),
    ("ab)", 3, "unbalanced ')'"),
    ("a|b)c", 4, "unbalanced ')'"),
    ("*a", 1, "nothing to repeat"),
    ("a|*", 3, "nothing to repeat"),
    ("(+)", 2, "nothing to repeat"),
    ("a**", 3, "cannot follow the quantifier"),
    ("a+?", 3, "cannot follow the quantifier"),
    ("[]", 2, "empty character class"),
    ("a[^]", 4, "empty character class"),
    ("[ab", 1, "missing ']'"),
    ("(a[b", 3, "missing ']'"),
    ("x[z-a]", 3, "bad range z-a"),
    ("[a-]", 4, "no upper end"),
    ("[-a]", 2, "'-' in a class"),
    ("a]", 2, "unbalanced ']'"),
    ("[a^]", 3, "'^' inside a class"),
    ("[a[]", 3, "'[' inside a class"),
    ("ab\\", 3, "trailing backslash"),
    ("a\\d", 2, "unsupported escape \\d"),
    ("a{2}", 2, "'{' is reserved"),
    ("a}", 2, "'}' is reserved"),
    ("^a", 1, "'^' is reserved"),
    ("a$", 2, "'$' is reserved"),
    ("a b", 2, "whitespace"),
    ("a\\ ", 2, "escape whitespace"),
]


@pytest.mark.parametrize(("pattern", "column", "phrase"), BAD)
def test_bad_patterns_point_at_the_offending_character(pattern: str, column: int, phrase: str) -> None:
    with pytest.raises(RegexSyntaxError) as caught:
        regex_to_dfa(pattern)
    error = caught.value
    assert isinstance(error, LsrlInputError)
    assert error.position == column - 1 and error.regex == pattern
    message = str(error)
    assert f"column {column}:" in message and phrase in message
    pattern_line, caret_line = message.splitlines()[-2:]
    assert pattern_line == "  " + pattern
    assert caret_line == "  " + " " * (column - 1) + "^"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_literal_outside_the_given_alphabet_is_named() -> None:
    with pytest.raises(RegexSyntaxError, match=r"column 5: symbol 'c' is not in the alphabet \{'a', 'b'\}"):
        regex_to_dfa("a*b|c", ["a", "b"])
    with pytest.raises(RegexSyntaxError, match="column 3: symbol 'c'"):
        regex_to_dfa("[^c]", "ab")


def test_classes_and_dot_are_relative_to_the_alphabet() -> None:
    dfa = regex_to_dfa("[^a].", "abc")
    assert {w for w in words(("a", "b", "c"), 2) if dfa.accepts(w)} == {x + y for x in "bc" for y in "abc"}
    wide = regex_to_dfa("[a-z]+", "ab")
    assert wide.accepts("abba") and not wide.accepts("")
    assert regex_to_dfa("[x-z]", "ab").accepting == frozenset()
    assert regex_to_dfa("[^ab]*", "ab").accepts("") and not regex_to_dfa("[^ab]*", "ab").accepts("a")
    assert regex_to_dfa("a.", None).alphabet == ("a",)
    assert regex_to_dfa("[b-d]a").alphabet == ("a", "b", "c", "d")


def test_dot_covers_multi_character_symbols() -> None:
    dfa = regex_to_dfa("a.*", ["a", "s26", "s27"])
    assert dfa.accepts(["a", "s27", "s26"]) and not dfa.accepts(["s26"])


def test_empty_string_forms() -> None:
    for pattern in ["", "()", "(|)", "()*", "|"]:
        dfa = regex_to_dfa(pattern, "ab")
        assert [w for w in words(("a", "b"), 2) if dfa.accepts(w)] == [""], pattern
    assert {w for w in words(("a", "b"), 2) if regex_to_dfa("a|", "ab").accepts(w)} == {"", "a"}
    assert {w for w in words(("a", "b"), 2) if regex_to_dfa("(|b)a", "ab").accepts(w)} == {"a", "ba"}


def test_positions_are_kept() -> None:
    node = parse_regex(r"x(\*|[^a-c]d)+|")
    assert node == Alternation((Concat((Literal("x"), Repeat(Alternation((
        Literal("*"), Concat((CharClass((Range("a", "c"),), negated=True), Literal("d"))))), "+"))), Empty()))
    assert isinstance(node, Alternation)
    concat, empty = node.branches
    assert isinstance(concat, Concat) and isinstance(empty, Empty)
    x, repeat = concat.parts
    assert isinstance(repeat, Repeat) and isinstance(repeat.child, Alternation)
    star, rest = repeat.child.branches
    assert isinstance(rest, Concat)
    cls, d = rest.parts
    assert isinstance(cls, CharClass)
    assert [x.position, repeat.position, repeat.child.position, star.position, rest.position, cls.position,
            cls.items[0].position, d.position, empty.position] == [0, 1, 1, 2, 5, 5, 7, 11, 15]


def test_the_classic_blow_up_is_minimal() -> None:
    """``.*a.^n`` over 30 symbols: the minimal DFA has 2^(n+1) states (it remembers the last n+1
    positions where ``a`` occurred)."""
    n = 6
    alphabet = tuple(string.ascii_letters[:30])
    dfa = regex_to_dfa(".*a" + "." * n, alphabet)
    assert dfa.n_states == 2 ** (n + 1) and is_minimal(dfa)
    assert dfa.accepts("zz" + "a" + "b" * n) and not dfa.accepts("a" + "b" * (n + 1))


def test_limits() -> None:
    with pytest.raises(RegexSyntaxError, match=f"wider than {MAX_RANGE}"):
        regex_to_dfa("[!-\u0200]")
    assert regex_to_dfa("[!-\u0200]", "ab").accepts("a")
    deep = "(" * MAX_DEPTH + "a" + ")*" * MAX_DEPTH
    with pytest.raises(RegexSyntaxError, match="nested more than"):
        parse_regex(deep)
    fits = "(" * (MAX_DEPTH - 1) + "a" + ")*" * (MAX_DEPTH - 1)
    assert regex_to_dfa(fits).accepts("aaa")
    assert isinstance(parse_regex("(" * 500 + ")" * 500), Empty)
