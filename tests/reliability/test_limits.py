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


@pytest.mark.parametrize("command", [["classify", "task:S:4"], ["compile", "task:S:4", "--arch", "deltaproduct"]])
def test_the_elements_of_a_monoid(lsrl, tmp_path, command):
    extra = ["-o", tmp_path / "out"] if command[0] == "compile" else []
    assert_refused(lsrl(*command, *extra, "--max-elements", 23), "too many elements", "--max-elements 23")
    assert lsrl(*command, *extra, "--max-elements", 24).code == 0


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
