"""Hypothesis fuzzing of the compiled-directory readers: any mutation of config.json, certificate.json,
dfa.json or the weights either still verifies or is refused with the project's input error, never
another exception; a mutation of a checked claim never verifies."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automata.errors import LsrlInputError
from lsrl.artifacts import verify_directory
from models import checkpoint

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                           | st.text(max_size=12) | st.sampled_from(["nan", "1e999999999", "-1/0", "1/3", "float8"]),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                        max_size=3), max_leaves=8)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    from lsrl.cli import main

    out = tmp_path_factory.mktemp("fuzz") / "parity"
    assert main(["compile", "task:parity", "--arch", "diag-neg", "-o", str(out)]) == 0
    return out


def _paths(value, prefix=()):
    """Every (path, value) in a JSON document, containers included."""
    yield prefix, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _mutated(document, choice: int, replacement):
    paths = [p for p, _ in _paths(document) if p]
    path = paths[choice % len(paths)]
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = replacement
    return path


def _verify_outcome(directory: Path) -> str:
    try:
        verify_directory(directory)
    except LsrlInputError:
        return "refused"
    return "holds"


@pytest.mark.parametrize("name", ["certificate.json", "config.json", "dfa.json"])
@FUZZ
@given(choice=st.integers(0, 10_000), replacement=JSON_VALUES)
def test_a_mutated_json_file_verifies_or_is_refused(compiled, tmp_path_factory, name, choice, replacement):
    directory = Path(shutil.copytree(compiled, tmp_path_factory.mktemp("m") / "d"))
    document = json.loads((directory / name).read_text())
    original = json.loads(json.dumps(document))
    path = _mutated(document, choice, replacement)
    (directory / name).write_text(json.dumps(document))
    outcome = _verify_outcome(directory)
    if outcome == "holds" and name == "certificate.json" and path[0] in ("readout_margin", "all_lengths", "kind",
                                                                            "float_safety", "claim", "labels"):
        assert _lookup(document, path) == _lookup(original, path) or path[-1] in ("rule", "max_abs_value")


def _lookup(document, path):
    for key in path:
        document = document[key]
    return document


@FUZZ
@given(positions=st.lists(st.integers(0, 10**6), min_size=1, max_size=4), byte=st.integers(0, 255),
       cut=st.none() | st.integers(0, 2000))
def test_corrupted_weights_load_or_are_refused(compiled, tmp_path_factory, positions, byte, cut):
    directory = Path(shutil.copytree(compiled, tmp_path_factory.mktemp("w") / "d"))
    path = directory / checkpoint.WEIGHTS
    data = bytearray(path.read_bytes())
    for position in positions:
        data[position % len(data)] = byte
    path.write_bytes(bytes(data[:cut] if cut is not None else data))
    _verify_outcome(directory)
