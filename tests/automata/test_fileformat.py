import json

import pytest
from hypothesis import given, settings

from automata.dfa import DFA
from automata.errors import AutomatonError, FileFormatError, MissingTransition
from automata.fileformat import dfa_from_json, dfa_to_json, load_dfa, save_dfa
from automata.strategies import dfas

PARITY = {"format": "lsrl-dfa", "version": 1, "alphabet": ["0", "1"], "states": ["even", "odd"],
          "start": "even", "accepting": ["even"],
          "transitions": {"even": {"0": "even", "1": "odd"}, "odd": {"0": "odd", "1": "even"}}}


@settings(max_examples=100, deadline=None)
@given(dfas(max_states=8, max_symbols=4))
def test_json_round_trip(dfa):
    again = dfa_from_json(json.loads(json.dumps(dfa_to_json(dfa))))
    assert again == dfa


def test_save_and_load(tmp_path):
    dfa = dfa_from_json(PARITY)
    save_dfa(dfa, tmp_path / "parity.json")
    assert load_dfa(tmp_path / "parity.json") == dfa
    assert [p.name for p in tmp_path.iterdir()] == ["parity.json"]
    assert dfa.accepts("11") and not dfa.accepts("10")


def test_missing_transition_names_state_and_symbol():
    data = json.loads(json.dumps(PARITY))
    del data["transitions"]["odd"]["1"]
    with pytest.raises(MissingTransition, match=r"state 'odd', symbol '1'"):
        dfa_from_json(data, "x.json")
    completed = dfa_from_json(data, "x.json", complete_with_sink=True)
    assert completed.n_states == 3 and not completed.accepts("11") and completed.accepts("")


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(version=7), "unsupported version 7"),
    (lambda d: d.pop("alphabet"), "missing field 'alphabet'"),
    (lambda d: d.update(start="nowhere"), "'nowhere' is not listed in 'states'"),
    (lambda d: d.update(format="other"), "field 'format'"),
    (lambda d: d["transitions"]["even"].update({"0": "ghost"}), "unknown state 'ghost'.*state 'even', symbol '0'"),
    (lambda d: d["transitions"]["even"].update({"2": "odd"}), "outside the alphabet.*symbol '2'"),
])
def test_malformed_documents_are_named(mutate, message):
    data = json.loads(json.dumps(PARITY))
    mutate(data)
    with pytest.raises((FileFormatError, AutomatonError), match=message):
        dfa_from_json(data, "x.json")


def test_malformed_json_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "lsrl-dfa",\n "version": 1,,}')
    with pytest.raises(FileFormatError, match=r"bad.json:2:15: malformed JSON"):
        load_dfa(path)


def test_dfa_rejects_bad_tables():
    with pytest.raises(AutomatonError, match="not a state.*state '0', symbol 'a'"):
        DFA(("a",), [[3]], 0, frozenset())
