"""Automata and program text as untrusted input: malformed DFA files, regexes, task names, ``--input``
files and ``use`` paths make the CLI exit 2 with one message naming the problem and the place; the
readers, fuzzed, return a value or raise ``LsrlInputError``, never another exception."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automata import limits
from automata.classify import classify
from automata.errors import LsrlInputError
from automata.fileformat import dfa_from_json, dfa_to_json, load_dfa
from automata.regex import regex_to_dfa
from automata.strategies import dfas
from automata.tasks import task_families
from lsrl.lang.check import check_file
from tests.reliability.conftest import ROOT, assert_refused, lsrl_process

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PARITY = {"format": "lsrl-dfa", "version": 1, "alphabet": ["0", "1"], "states": ["even", "odd"], "start": "even",
          "accepting": ["even"], "transitions": {"even": {"0": "even", "1": "odd"}, "odd": {"0": "odd", "1": "even"}}}
PARITY_PROGRAM = ROOT / "examples" / "parity.lsrl"


def _parity(**changes) -> dict:
    return {**json.loads(json.dumps(PARITY)), **changes}


def _write(path: Path, content: str | bytes | dict) -> Path:
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# -- DFA files ----------------------------------------------------------------------------------

DFA_FILES = {
    "not-utf8": (b'{"format": "lsrl-dfa", "alphabet": ["\xff"]}', ["1: not UTF-8 text", "byte 37: 0xff"]),
    "empty": ("", ["empty"]),
    "blank": ("  \n\n ", ["empty"]),
    "nested-100k": ("[" * 100_000 + "]" * 100_000, ["nested deeper than 64"]),
    "nested-object": ('{"a":' * 5000 + "1" + "}" * 5000, ["nested deeper than 64"]),
    "top-level-list": ("[1, 2]", ["JSON object at top level", "got list"]),
    "top-level-number": ("3", ["JSON object at top level", "got int"]),
    "nan": (json.dumps(PARITY)[:-1] + ', "x": NaN}', ["NaN is not a JSON number"]),
    "overflow": (json.dumps(PARITY)[:-1] + ', "x": 1e999}', ["overflows a float"]),
    "truncated": (json.dumps(PARITY)[:40], ["malformed JSON"]),
    "list-target": (_parity(transitions={"even": {"0": ["even"], "1": "odd"}, "odd": {"0": "odd", "1": "even"}}),
                    ["state 'even' on symbol '0' must name a state", "got list"]),
    "object-target": (_parity(transitions={"even": {"0": {"x": 1}, "1": "odd"}, "odd": {"0": "odd", "1": "even"}}),
                      ["symbol '0' must name a state", "got dict"]),
    "number-target": (_parity(transitions={"even": {"0": 3, "1": "odd"}, "odd": {"0": "odd", "1": "even"}}),
                      ["symbol '0' must name a state", "got int"]),
    "row-not-object": (_parity(transitions={"even": ["odd"], "odd": {"0": "odd", "1": "even"}}),
                       ["transitions of state 'even' must be an object"]),
    "duplicate-state": (_parity(states=["even", "odd", "even"]), ["'even' is listed twice in 'states'"]),
    "duplicate-symbol": (_parity(alphabet=["0", "1", "0"]), ["'0' is listed twice in 'alphabet'"]),
    "unknown-field": (_parity(comment=1), ["unknown field 'comment'"]),
    "version-true": (_parity(version=True), ["unsupported version True"]),
    "version-string": (_parity(version="1"), ["unsupported version '1'"]),
    "states-object": (_parity(states={"even": 1}), ["field 'states' must be a list", "got dict"]),
    "start-number": (_parity(start=0), ["field 'start' must be a str", "got int"]),
    "symbol-number": (_parity(alphabet=[0, 1]), ["entry 0 of 'alphabet' must be a non-empty string"]),
    "symbol-empty": (_parity(alphabet=["", "1"]), ["entry 0 of 'alphabet' must be a non-empty string"]),
    "empty-alphabet": (_parity(alphabet=[], transitions={"even": {}, "odd": {}}),
                       ["field 'alphabet' is empty", "at least one symbol"]),
    "accepting-unknown": (_parity(accepting=["nowhere"]), ["'nowhere' is not listed in 'states'"]),
    "target-unknown": (_parity(transitions={"even": {"0": "x", "1": "odd"}, "odd": {"0": "odd", "1": "even"}}),
                       ["transition to unknown state 'x'", "state 'even', symbol '0'"]),
    "huge-table": ({"format": "lsrl-dfa", "version": 1, "alphabet": [f"s{j}" for j in range(5000)],
                    "states": [f"q{i}" for i in range(5000)], "start": "q0", "accepting": [], "transitions": {}},
                   ["5000 states x 5000 symbols", "25,000,000 transitions", "more than --max-transitions 16777216"]),
}


@pytest.mark.parametrize("name", DFA_FILES)
@pytest.mark.parametrize("command", ["classify", "trace"])
def test_malformed_dfa_file_is_refused(lsrl, tmp_path, name, command):
    content, words = DFA_FILES[name]
    path = _write(tmp_path / f"{name}.json", content)
    argv = [command, path, "--complete-with-sink", *(["--word", "0"] if command == "trace" else [])]
    assert_refused(lsrl(*argv), f"lsrl {command}: error: {path}", *words)


def test_dfa_file_that_is_a_directory_or_missing(lsrl, tmp_path):
    (tmp_path / "d.json").mkdir()
    assert_refused(lsrl("classify", tmp_path / "d.json"), "is a directory, expected a DFA file")
    assert_refused(lsrl("classify", tmp_path / "missing.json"), "missing.json", "cannot read the DFA file")


def test_the_empty_language_over_an_alphabet_is_classified(lsrl, tmp_path):
    """The empty language over {a, b} is regular and trivial: a one-element syntactic monoid, and every
    class recognises it (a constant readout)."""
    path = _write(tmp_path / "none.json", {"format": "lsrl-dfa", "version": 1, "alphabet": ["a", "b"],
                                           "states": ["p"], "start": "p", "accepting": [],
                                           "transitions": {"p": {"a": "p", "b": "p"}}})
    done = lsrl("classify", path, "--json")
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["monoid_size"] == 1 and result["aperiodic"]
    assert {v["status"] for v in result["verdicts"]} == {"constructible"}


# -- regexes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["", "|", "()", ".", "()*", "(|)"])
@pytest.mark.parametrize("command", ["classify", "trace"])
def test_regex_without_symbols_is_refused(lsrl, command, pattern):
    """A pattern that names no symbol has no alphabet to take; it used to crash classify."""
    argv = [command, "--regex", pattern, *(["--word", ""] if command == "trace" else [])]
    assert_refused(lsrl(*argv), "the pattern names no symbol", "alphabet taken from it is empty", "[^ab]")


@pytest.mark.parametrize("pattern,accepted", [("[^ab]", []), ("[^ab]*", [""])])
def test_empty_language_and_empty_word_by_regex(lsrl, pattern, accepted):
    """The refusal's own suggestions work: the empty language and {empty word} over {a, b}."""
    dfa = regex_to_dfa(pattern)
    assert dfa.alphabet == ("a", "b")
    assert [w for w in ["", "a", "b", "ab", "ba"] if dfa.accepts(w)] == accepted
    done = lsrl("classify", "--regex", pattern, "--json")
    assert done.code == 0 and json.loads(done.out)["aperiodic"]


def test_regex_whose_dfa_explodes_is_refused_before_it_is_built(lsrl):
    """(a|b)*a(a|b)^n has 2^(n+1) subset states: n = 40 would never finish, and classify of n = 16 took
    12 GB; the subset construction stops at the limit."""
    pattern = "(a|b)*a" + "(a|b)" * 40
    assert_refused(lsrl("classify", "--regex", pattern), "its DFA has more states before minimisation",
                   f"(more than --max-states {limits.value('states')}; pass a larger --max-states to go on)")


def test_regex_errors_stay_short(lsrl):
    """A 100,000-character pattern is refused by its length; a long invalid one shows a window around the
    column instead of the whole pattern and a caret line as long."""
    assert_refused(lsrl("classify", "--regex", "a" * 100_000), "a regex of 100000 characters (limit 10000)")
    done = lsrl("classify", "--regex", "(" * 5000)
    assert_refused(done, "invalid regex at column 5000: missing ')'")
    assert max(len(line) for line in done.err.splitlines()) < 200


# -- task names ---------------------------------------------------------------------------------

STATES = f"(more than --max-states {limits.LIMITS['states'].default}; pass a larger --max-states to go on)"
TASKS = {
    "dyck:4:8000": ["task 'dyck:4:8000': more than 10^18 states of a DFA under construction", STATES],
    "dyck:4:9": ["task 'dyck:4:9': 349,526 states", STATES],
    "dyck:2:16": ["task 'dyck:2:16': 131,072 states", STATES],
    "S:50": ["task 'S:50': more than 10^18 states", STATES],
    "A:1000": ["more than 10^18 states", STATES],
    "mod:1000000000": ["1,000,000,000 states", STATES],
    "mod:" + "9" * 5000: ["more than 10^18 states", STATES],
    "mod:" + "0" * 5000: ["k must be an integer >= 2"],
    "mod:-1": ["k must be an integer"],
    "mod:\x00": ["k must be an integer"],
    "Z:10000": ["(10,000 states x 10,000 symbols): 100,000,000 transitions", "--max-transitions"],
    "modarith:200": ["80,001 states", STATES],
    "contains:" + "a" * 70000: ["70,001 states", STATES],
    "contains:" + "c" * 65: ["w must be a word of letters a and b"],
    "mod:3:4": ["mod takes 1 parameter(s)"],
    "x" * 5000: ["unknown task"],
}


@pytest.mark.parametrize("name", TASKS, ids=lambda n: n[:20].replace("\x00", "NUL"))
@pytest.mark.parametrize("command", ["classify", "trace"])
def test_absurd_task_parameters_are_refused_with_the_limit(lsrl, command, name):
    argv = [command, name, *(["--word", ""] if command == "trace" else [])]
    done = lsrl(*argv)
    assert_refused(done, *TASKS[name])
    assert len(done.err.splitlines()[0]) < 300, "the message must not echo a huge name in full"


def test_dyck_refusal_in_a_process():
    """The original failure: the process died with a traceback while formatting its own message."""
    done = lsrl_process("trace", "dyck:4:8000", "--word", "()")
    assert_refused(done, "dyck:4:8000")


def test_largest_dyck_depth_is_built():
    from automata.tasks import get_task

    assert get_task("dyck:4:7").dfa.n_states == sum(4 ** d for d in range(8)) + 1
    assert get_task("dyck:1:30000").dfa.n_states == 30002  # one state per depth: a step costs O(1), not O(h)


# -- program text: --input files and use --------------------------------------------------------


def test_input_file_not_utf8(lsrl, tmp_path):
    path = _write(tmp_path / "in.txt", b"01\xff1")
    assert_refused(lsrl("run", PARITY_PROGRAM, "--input", path), f"{path}:1: not UTF-8 text", "byte 2")


def test_input_file_missing_or_a_directory(lsrl, tmp_path):
    assert_refused(lsrl("run", PARITY_PROGRAM, "--input", tmp_path / "none"), "cannot read the --input file")
    assert_refused(lsrl("run", PARITY_PROGRAM, "--input", tmp_path), "is a directory")


def test_input_file_is_read(lsrl, tmp_path):
    done = lsrl("run", PARITY_PROGRAM, "--input", _write(tmp_path / "in.txt", "011\n"))
    assert done.code == 0 and done.out.split() == ["1", "odd=[0]", "2", "odd=[1]", "3", "odd=[0]"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_endless_device_files_are_refused_not_read_forever(lsrl, tmp_path):
    """/dev/zero reports size 0; reading stops one byte past the limit instead of never."""
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    assert_refused(lsrl("check", "/dev/zero"), "/dev/zero: more than the 16777216-byte limit of a program")
    assert_refused(lsrl("classify", tmp_path / "zero.json"), "zero.json: more than the", "limit of a DFA file")


def test_oversized_program_file_is_refused_before_parsing(lsrl, tmp_path):
    path = tmp_path / "big.lsrl"
    with path.open("wb") as handle:
        handle.truncate(2**24 + 1)
    assert_refused(lsrl("check", path), "big.lsrl: 16777217 bytes, more than the 16777216-byte limit of a program")


def test_use_of_a_foreign_file_names_it_without_echoing_it(lsrl, tmp_path):
    secret = _write(tmp_path / "passwd", "root:x:0:0:secret-word:/root:/bin/bash\n")
    for module in (str(secret), "/etc/passwd"):
        program = _write(tmp_path / "p.lsrl", f'use "{module}"\ninput x : 1\noutput y = x\n')
        done = lsrl("check", program)
        assert_refused(done, f"p.lsrl:1:5: '{module}' is not an lsrl module", "end in .lsrl")
        assert "root:x:0" not in done.err and "secret-word" not in done.err


def test_use_of_a_module_that_is_not_utf8(lsrl, tmp_path):
    _write(tmp_path / "m.lsrl", b"def f(x) = x \xfe\n")
    program = _write(tmp_path / "p.lsrl", 'use "m.lsrl"\ninput x : 1\noutput y = f(x)\n')
    assert_refused(lsrl("check", program), "m.lsrl:1: not UTF-8 text (byte 13: 0xfe)")


# -- fuzzing ------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False)
                           | st.text(alphabet="ab01 q", max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("ab01", max_size=2),
                                                                                       inner, max_size=3),
                           max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _reads_or_refuses(read) -> None:
    try:
        read()
    except LsrlInputError:
        pass


@FUZZ
@given(dfas(max_states=4, max_symbols=3), st.integers(0, 10**6), JSON_VALUES, st.sampled_from(["set", "drop", "add"]))
def test_fuzz_dfa_documents(dfa, choice, value, how):
    """Any one mutation of a valid document (a value replaced, a key or item dropped, a key added)."""
    document = dfa_to_json(dfa)
    paths = [p for p in _paths(document) if p]
    path = paths[choice % len(paths)]
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if how == "set":
        parent[path[-1]] = value
    elif how == "drop":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[f"new{choice}"] = value
    _reads_or_refuses(lambda: dfa_from_json(document, "fuzz.json", complete_with_sink=choice % 2 == 0))


@FUZZ
@given(dfas(max_states=4, max_symbols=3), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)),
                                                  min_size=1, max_size=4))
def test_fuzz_dfa_file_bytes(tmp_path, dfa, edits):
    """Random byte splices in a DFA file: read, or refused (bad UTF-8, bad JSON, bad document)."""
    data = bytearray(json.dumps(dfa_to_json(dfa)).encode())
    for at, replacement in edits:
        at %= len(data) + 1
        data[at:at + len(replacement)] = replacement
    path = _write(tmp_path / "fuzz.json", bytes(data))
    _reads_or_refuses(lambda: load_dfa(path))


@FUZZ
@given(st.text(alphabet="ab()[]|*+?.^\\-{}", max_size=10))
def test_fuzz_regex_then_classify(pattern):
    """A regex gives a DFA that classifies, or a located RegexSyntaxError (the empty alphabet crashed here)."""
    _reads_or_refuses(lambda: classify(regex_to_dfa(pattern), max_elements=2000))


FAMILIES = [f.name for f in task_families()]


@FUZZ
@given(st.one_of(st.text(max_size=12),
                 st.tuples(st.sampled_from(FAMILIES), st.lists(st.text("0123456789ab-+ x", max_size=2), max_size=3))
                 .map(lambda t: ":".join((t[0], *t[1])))))
def test_fuzz_task_names(name):
    """Task names: a family with up to three parameters of at most two characters (small tasks only)."""
    from automata.tasks import get_task

    _reads_or_refuses(lambda: get_task(name))


PROGRAMS = sorted([*ROOT.glob("examples/*.lsrl"), *ROOT.glob("lsrl/lang/stdlib/*.lsrl")])


@FUZZ
@given(st.sampled_from(PROGRAMS), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=4)), max_size=4))
def test_fuzz_program_files(tmp_path, source, edits):
    """Byte splices in a real program file (bad UTF-8 included), then the full check with its `use`s."""
    data = bytearray(source.read_bytes())
    for at, replacement in edits:
        at %= len(data) + 1
        data[at:at + len(replacement)] = replacement
    path = _write(tmp_path / "fuzz.lsrl", bytes(data))
    _reads_or_refuses(lambda: check_file(path))
