"""Limits before allocation (``automata.limits``): each size past its limit is one exit-2 line naming the limit and
the flag that raises it, before the table or model is allocated; the flag raises it, and the next command in the
same process has the default again."""
from __future__ import annotations

import json

import pytest

from automata import limits
from tests.reliability.conftest import assert_refused


def _dfa_file(path, states: int, symbols: int):
    names, alphabet = [f"q{i}" for i in range(states)], [f"s{j}" for j in range(symbols)]
    path.write_text(json.dumps({"format": "lsrl-dfa", "version": 1, "alphabet": alphabet, "states": names,
                                "start": "q0", "accepting": ["q0"],
                                "transitions": {q: {a: q for a in alphabet} for q in names}}))
    return path


def test_the_transitions_of_a_dfa_file(lsrl, tmp_path):
    path = _dfa_file(tmp_path / "lang.json", 3, 4)
    assert_refused(lsrl("classify", path, "--max-transitions", 11), "lang.json (3 states x 4 symbols): 12 transitions",
                   "more than --max-transitions 11; pass a larger --max-transitions to go on")
    assert lsrl("classify", path, "--max-transitions", 12).code == 0


def test_the_states_of_a_regex_determinisation(lsrl):
    pattern = "(a|b)*a(a|b)(a|b)(a|b)"
    assert_refused(lsrl("classify", "--regex", pattern, "--max-states", 8), "more than --max-states 8")
    assert lsrl("classify", "--regex", pattern, "--max-states", 32).code == 0


@pytest.mark.parametrize("command", [["classify", "task:S:4"], ["compile", "task:S:4", "--arch", "deltaproduct"],
                                     ["classify", "--regex", "(a|b)*a(a|b)(a|b)(a|b)"]])
def test_the_elements_of_a_monoid(lsrl, tmp_path, command):
    """A task's monoid is refused by its declared size (S_4: 24 elements) before the task is built; a regex's
    monoid while it is enumerated (31 elements)."""
    extra = ["-o", tmp_path / "out"] if command[0] == "compile" else []
    found = "task 'S:4': 24 elements of a transition monoid" if "task:S:4" in command else "too many elements"
    assert_refused(lsrl(*command, *extra, "--max-elements", 23), found, "--max-elements 23")
    assert lsrl(*command, *extra, "--max-elements", 31).code == 0


def test_the_parameters_of_a_compiled_model_and_of_a_model_directory(lsrl, tmp_path):
    out = tmp_path / "parity"
    assert_refused(lsrl("compile", "task:parity", "--arch", "dense-lrnn", "-o", out, "--max-parameters", 10),
                   "a dense-lrnn model", "parameters of a model (more than --max-parameters 10")
    assert not out.exists()
    assert lsrl("compile", "task:parity", "--arch", "dense-lrnn", "-o", out).code == 0
    for command in ("verify", "inspect"):
        assert_refused(lsrl(command, out, "--max-parameters", 10), "config.json: field 'model'", "--max-parameters 10")
    assert lsrl("verify", out).code == 0  # the default again: limits do not leak into the next command


def test_a_dense_model_that_would_not_fit_is_refused_before_it_is_built(lsrl, tmp_path):
    """S_6's dense one-hot model has 720 x 720 transition rows over a 1440-wide stream (750 M parameters): refused
    by the default limit instead of allocating gigabytes."""
    assert limits.value("parameters") < 750_000_000
    assert_refused(lsrl("compile", "task:S:6", "--arch", "dense-lrnn", "-o", tmp_path / "s6"), "--max-parameters")


def test_sizes_counted_on_the_meta_device_are_not_refused():
    """Constructions compare candidate plans by building them on the meta device (nothing allocated): a candidate
    past --max-parameters is counted there, not refused; building it for real is refused."""
    import pytest
    import torch

    from automata import limits
    from models.config import LayerConfig, ModelConfig
    from models.stack import RecurrentModel

    config = ModelConfig(arch="elman", n_symbols=2, n_labels=2, d_model=8,
                         layers=[LayerConfig(d_state=64, nonlinearity="relu")])
    with torch.device("meta"):
        counted = sum(p.numel() for p in RecurrentModel(config).parameters())
    limits.raise_limits(parameters=counted - 1)
    try:
        with torch.device("meta"):
            assert sum(p.numel() for p in RecurrentModel(config).parameters()) == counted
        with pytest.raises(limits.LimitExceeded, match="--max-parameters"):
            RecurrentModel(config)
    finally:
        limits.raise_limits(parameters=limits.LIMITS["parameters"].default)


TASK_COMMANDS = {"classify": [], "trace": ["--word", ""], "compile": ["--arch", "diag-neg", "-o", "{tmp}/out"],
                 "train": ["--arch", "diag-neg", "--steps", "1", "--out", "{tmp}/run"],
                 "suite": ["--arch", "diag-neg", "--out", "{tmp}/suite"]}


@pytest.mark.parametrize("command", list(TASK_COMMANDS))
def test_every_command_that_takes_a_task_refuses_its_sizes_naming_a_flag_it_takes(lsrl, tmp_path, command):
    """S_9 (362,880 states) by default, mod:5 under --max-states 4: one exit-2 line naming the flag, which the
    command accepts; nothing written."""
    extra = [a.format(tmp=tmp_path) for a in TASK_COMMANDS[command]]
    assert_refused(lsrl(command, "S:9", *extra), "task 'S:9': 362,880 states", "--max-states 65536")
    assert_refused(lsrl(command, "mod:5", *extra, "--max-states", 4), "task 'mod:5': 5 states",
                   "pass a larger --max-states")
    assert not any(tmp_path.iterdir())


def test_extract_refuses_the_task_to_compare_with(lsrl, tmp_path):
    out = tmp_path / "parity"
    assert lsrl("compile", "task:parity", "--arch", "diag-neg", "-o", out).code == 0
    assert_refused(lsrl("extract", out, "--task", "S:9"), "task 'S:9': 362,880 states", "--max-states")
    assert_refused(lsrl("extract", out, "--task", "Z:5000"), "25,000,000 transitions", "--max-transitions")


def test_a_program_that_names_a_task(lsrl):
    from tests.reliability.conftest import ROOT

    for command in ("check", "run"):
        argv = [command, ROOT / "examples" / "automaton.lsrl", *(["--input-str", "a b"] if command == "run" else [])]
        assert_refused(lsrl(*argv, "--max-states", 2), "task 'mod:3'", "3 states", "--max-states 2")
        assert lsrl(*argv).code == 0


def test_the_suite_passes_its_limits_to_its_workers(lsrl, tmp_path):
    """--max-parameters is met only in a worker (compiling): the cell's record names the suite's value."""
    assert lsrl("suite", "parity", "--arch", "diag-neg", "--out", tmp_path / "s", "--jobs", 1, "--quiet",
                "--max-parameters", 5).code == 0
    record = json.loads((tmp_path / "s" / "records.jsonl").read_text().splitlines()[0])
    assert record["outcome"] == "error" and "more than --max-parameters 5;" in record["reason"], record


def test_a_command_leaves_the_limits_as_it_found_them(lsrl, tmp_path):
    """train takes no --max-elements, so it does not check a task's monoid early; after it, the library checks
    every limit again, at its default."""
    assert_refused(lsrl("train", "mod:5", "--arch", "diag-neg", "--max-states", 4, "--out", tmp_path / "r"),
                   "--max-states 4")
    assert limits.applies("elements") and limits.value("states") == limits.LIMITS["states"].default
