"""OpenFst AT&T acceptors: round trips, the language of partial and nondeterministic files against a
direct simulation, and malformed files refused with one message naming file:line:col (exit 2)."""
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata import limits
from automata.att_format import att_text, load_att, parse_att, parse_symbols, save_att
from automata.bounded_input import InputLimitError
from automata.dfa import DFA
from automata.equivalence import equivalent
from automata.errors import FileFormatError
from automata.fileformat import save_dfa
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.cli import main


def isomorphic_by_names(read: DFA, written: DFA) -> bool:
    """``read`` is ``written`` renumbered, its state names being the ids ``written`` had."""
    ids = np.array([int(name) for name in read.state_names])
    return (read.alphabet == written.alphabet and ids[read.start] == written.start
            and {int(ids[q]) for q in read.accepting} == written.accepting
            and np.array_equal(ids[read.delta], written.delta[ids]))


@settings(max_examples=80, deadline=None)
@given(dfas(max_states=8, max_symbols=4))
def test_round_trip_with_a_symbol_table(tmp_path_factory, dfa):
    folder = tmp_path_factory.mktemp("att")
    save_att(dfa, folder / "lang.att", folder / "lang.syms")
    assert isomorphic_by_names(load_att(folder / "lang.att", folder / "lang.syms"), dfa)


@settings(max_examples=80, deadline=None)
@given(dfas(max_states=8, max_symbols=4), st.lists(st.integers(1, 2**31 - 1), min_size=4, max_size=4, unique=True))
def test_round_trip_with_integer_labels(dfa, labels):
    alphabet = tuple(str(x) for x in sorted(labels)[:dfa.n_symbols])
    dfa = DFA(alphabet, dfa.delta, dfa.start, dfa.accepting)
    assert isomorphic_by_names(parse_att(att_text(dfa, named=False)), dfa)


ARC = st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 3),
                st.sampled_from(["", " 0", "\t2.5", " Infinity", " inf"]))


def simulate(first: int, arcs: list, finals: dict, word: tuple[str, ...]) -> bool:
    """Direct NFA simulation of an acceptor's lines (label 0 is epsilon, weight infinity: no arc / not final)."""
    live = [(s, d, str(a)) for s, d, a, w in arcs if "inf" not in w.lower()]

    def closure(states: set[int]) -> set[int]:
        while True:
            more = {d for s, d, a in live if a == "0" and s in states} - states
            if not more:
                return states
            states |= more

    current = closure({first})
    for symbol in word:
        current = closure({d for s, d, a in live if a == symbol and s in current})
    return any(finals.get(q, False) for q in current)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 5), st.lists(ARC, min_size=1, max_size=12),
       st.dictionaries(st.integers(0, 5), st.booleans(), max_size=4), st.data())
def test_partial_and_nondeterministic_acceptors_have_the_simulated_language(first, arcs, finals, data):
    lines = [f"{first}\t{arcs[0][0]}\t1"] + [f"{s} {d} {a}{w}" for s, d, a, w in arcs]
    lines += [f"{q}" if final else f"{q}\tInfinity" for q, final in finals.items()]
    arcs = [(first, arcs[0][0], 1, ""), *arcs]
    labels = sorted({str(a) for _, _, a, w in arcs if a and "inf" not in w.lower()} | {"1"}, key=int)
    dfa = parse_att("\n".join(lines) + "\n")
    assert dfa.alphabet == tuple(labels)
    for word in data.draw(st.lists(st.lists(st.sampled_from(labels), max_size=6).map(tuple), max_size=10)):
        assert dfa.accepts(word) == simulate(first, arcs, finals, word), word


def test_partial_acceptor_is_completed_with_a_rejecting_sink():
    dfa = parse_att("3 7 1\n7 3 2\n7\n")  # (ab)*a over labels 1 = a, 2 = b
    assert dfa.n_states == 3 and dfa.state_names == ("3", "7", "sink")
    assert dfa.accepts(("1",)) and dfa.accepts(("1", "2", "1")) and not dfa.accepts(("2",))
    assert not dfa.accepts(("1", "1"))


def test_epsilon_arcs_are_determinised_and_states_keep_their_ids():
    text = "10 20 <eps>\n10 30 a\n20 30 b\n30\n"
    dfa = parse_att(text, symbols={"<eps>": 0, "a": 1, "b": 2})
    assert dfa.alphabet == ("a", "b") and dfa.state_names[0] == "{10,20}"
    assert dfa.accepts("a") and dfa.accepts("b") and not dfa.accepts("") and not dfa.accepts("ab")


def test_symbol_table_defines_the_alphabet_and_its_order():
    dfa = parse_att("0 1 x\n1\n", symbols=parse_symbols("<eps> 0\ny 5\nx 2\n", "t"))
    assert dfa.alphabet == ("x", "y") and dfa.accepts(("x",)) and not dfa.accepts(("y",))


@pytest.mark.parametrize("text,message", [
    ("0 1 a\n", "lang.att:1:5: label 'a' is not an integer"),
    ("0 1 2\n1 x 2\n", "lang.att:2:3: a state id must be a non-negative integer, got 'x'"),
    ("0 1 2\n1 -inf\n", "lang.att:2:3: weight '-inf' is not"),
    ("0 1 2\n1 nan\n", "lang.att:2:3: weight 'nan' is not a number"),
    ("0 1 2 3 4\n", "lang.att:1:9: 5 fields"),
    ("0 1 2 w\n", "lang.att:1:7: weight 'w' is not a number"),
    ("0 1 99999999999\n", "lang.att:1:5: a label 99999999999 is larger than 2147483647"),
    ("\n\n", "lang.att: no lines"),
    ("0 0 0\n0\n", "no arc reads a symbol"),
    ("0\t1\t2\n\n  1  2  3 x y\n", "lang.att:3:13: 5 fields"),
])
def test_malformed_acceptors_name_file_line_and_column(tmp_path, text, message):
    (tmp_path / "lang.att").write_text(text)
    with pytest.raises(FileFormatError) as err:
        load_att(tmp_path / "lang.att")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("table,att,message", [
    ("<eps> 0\na 1\na 2\n", "0 1 a\n", "syms:3:1: symbol 'a' is listed twice"),
    ("<eps> 0\na 1\nb 1\n", "0 1 a\n", "syms:3:1: id 1 (also 'a') is listed twice"),
    ("<eps> 3\na 1\n", "0 1 a\n", "syms:1:7: <eps> must have id 0"),
    ("<eps> 0\na\n", "0 1 a\n", "syms:2:1: a symbol table line is 'symbol id', got 1 fields"),
    ("<eps> 0\n", "0 1 a\n", "names no symbol other than epsilon"),
    ("<eps> 0\na 1\n", "0 1 b\n", "lang.att:1:5: label 'b' is not in the symbol table"),
])
def test_malformed_symbol_tables_and_unknown_labels(tmp_path, table, att, message):
    (tmp_path / "syms").write_text(table)
    (tmp_path / "lang.att").write_text(att)
    with pytest.raises(FileFormatError, match=re.escape(message)):
        load_att(tmp_path / "lang.att", tmp_path / "syms")


def test_sizes_are_checked_before_the_table_is_built(monkeypatch):
    monkeypatch.setitem(limits._values, "transitions", 8)
    with pytest.raises(InputLimitError, match=re.escape("(5 states and a sink x 2 symbols): 12 transitions (states x "
                                                        "symbols) of a DFA (more than --max-transitions 8; pass")):
        parse_att("0 1 1\n1 2 2\n2 3 1\n3 4 1\n")
    with pytest.raises(InputLimitError, match=re.escape("determinising it makes more than 4 states x 2 symbols "
                                                        "(more than --max-transitions 8")):
        parse_att("0 1 1\n0 2 1\n1 3 2\n2 4 1\n3 0 0\n4 0 0\n1\n")


def test_writer_refuses_symbols_a_file_cannot_hold(tmp_path):
    dfa = get_task("parity").dfa
    with pytest.raises(FileFormatError, match="not a positive integer label"):
        save_att(DFA(("a", "b"), dfa.delta, dfa.start, dfa.accepting), tmp_path / "x.att")
    with pytest.raises(FileFormatError, match="cannot be written in a symbol table"):
        save_att(DFA(("a b", "c"), dfa.delta, dfa.start, dfa.accepting), tmp_path / "x.att", tmp_path / "x.syms")
    assert list(tmp_path.iterdir()) == []


def test_cli_classifies_an_att_file_like_the_same_dfa_in_json(capsys, tmp_path):
    dfa = get_task("tomita:5").dfa
    save_att(dfa, tmp_path / "t5.fst.txt", tmp_path / "t5.syms")
    save_dfa(dfa, tmp_path / "t5.json")
    assert main(["classify", str(tmp_path / "t5.fst.txt"), "--symbols", str(tmp_path / "t5.syms"), "--json"]) == 0
    from_att = json.loads(capsys.readouterr().out)
    assert main(["classify", str(tmp_path / "t5.json"), "--json"]) == 0
    from_json = json.loads(capsys.readouterr().out)
    assert from_att.pop("language").endswith("t5.syms") and from_json.pop("language").endswith("t5.json")
    assert from_att == from_json


def test_cli_compiles_and_verifies_an_att_file(capsys, tmp_path):
    (tmp_path / "parity.att").write_text("0 1 b\n0 0 a\n1 0 b\n1 1 a\n1\n")
    (tmp_path / "syms.txt").write_text("<eps> 0\na 1\nb 2\n")
    out = tmp_path / "model"
    argv = ["compile", str(tmp_path / "parity.att"), "--symbols", str(tmp_path / "syms.txt"), "--arch", "diag-neg"]
    assert main([*argv, "-o", str(out)]) == 0
    assert "certified for all lengths" in capsys.readouterr().out
    assert main(["verify", str(out)]) == 0
    assert "certificate holds for every length" in capsys.readouterr().out
    odd_bs = DFA(("a", "b"), np.array([[0, 1], [1, 0]]), 0, frozenset({1}))
    assert equivalent(load_att(tmp_path / "parity.att", tmp_path / "syms.txt"), odd_bs)


@pytest.mark.parametrize("argv,message", [
    (["classify", "{dir}/bad.att"], "{dir}/bad.att:2:3: a state id must be a non-negative integer, got 'q'"),
    (["classify", "{dir}/bad.att", "--symbols", "{dir}/missing.syms"], "{dir}/missing.syms: cannot read"),
    (["classify", "parity", "--symbols", "{dir}/x.syms"], "a symbol table is for an AT&T file"),
    (["compile", "{dir}/bad.att", "--arch", "diag-neg", "-o", "{dir}/out"], "{dir}/bad.att:2:3"),
])
def test_cli_refuses_bad_att_input_with_one_line_and_exit_2(capsys, tmp_path, argv, message):
    (tmp_path / "bad.att").write_text("0 1 1\n1 q 1\n")
    code = main([a.format(dir=tmp_path) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and message.format(dir=tmp_path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_recorded_source_names_the_symbol_table_and_only_att_files_take_one(tmp_path):
    from automata.errors import LsrlInputError
    from lsrl.sources import resolve_language

    (tmp_path / "l.att").write_text("0 1 x\n1\n")
    (tmp_path / "l.syms").write_text("<eps> 0\nx 1\ny 2\n")
    language = resolve_language(str(tmp_path / "l.att"), symbols=str(tmp_path / "l.syms"))
    again = resolve_language(language.name)
    assert language.name == f"{tmp_path / 'l.att'} --symbols {tmp_path / 'l.syms'}" and again.name == language.name
    assert again.dfa == language.dfa and again.dfa.alphabet == ("x", "y")
    with pytest.raises(LsrlInputError, match="a symbol table is for an AT&T file"):
        resolve_language(f"{tmp_path / 'l.json'} --symbols {tmp_path / 'l.syms'}")
