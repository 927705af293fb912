"""The typed origin of a model (models.origin) saved as config.json's "meta": round trips, the layout written
before it was typed still reads, and a malformed one is refused naming the field."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import ConfigError, LayerConfig, ModelConfig
from models.origin import ConstructionOrigin, ProgramIO, ProgramOrigin, TrainingOrigin

NAMES = st.text(min_size=1, max_size=12)
COUNTS = st.lists(st.integers(1, 2**40), max_size=4).map(tuple)
CONSTRUCTIONS = st.builds(ConstructionOrigin, NAMES, st.none() | NAMES, st.none() | st.integers(0, 64), COUNTS,
                          st.lists(NAMES, max_size=4).map(tuple), COUNTS, COUNTS,
                          st.none() | st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), st.booleans(),
                          st.none() | st.integers(0, 2**62))
PORTS = st.builds(ProgramIO, NAMES, st.integers(1, 64), st.none() | st.lists(NAMES, min_size=1, max_size=3).map(tuple))
PROGRAMS = st.builds(ProgramOrigin, NAMES, NAMES, st.none() | st.integers(1, 10**9), st.lists(PORTS, max_size=3).map(tuple),
                     st.lists(PORTS.map(lambda p: ProgramIO(p.name, p.dim)), max_size=3).map(tuple))
ORIGINS = st.none() | st.builds(TrainingOrigin, NAMES, NAMES) | CONSTRUCTIONS | PROGRAMS


def config(origin) -> ModelConfig:
    return ModelConfig("diag", 2, 2, 3, (LayerConfig(d_state=1),), exact=True, origin=origin)


def saved_meta(meta: dict) -> ModelConfig:
    """``meta`` as it would come back from a config.json."""
    return ModelConfig.from_json(json.loads(json.dumps({**config(None).to_json(), "meta": meta})))


@given(ORIGINS)
@settings(max_examples=200, deadline=None)
def test_every_origin_round_trips_through_config_json(origin) -> None:
    document = json.loads(json.dumps(config(origin).to_json()))
    assert ModelConfig.from_json(document).origin == origin
    assert list(document) == [f if f != "origin" else "meta" for f in ModelConfig.__dataclass_fields__]


# "meta" objects exactly as lsrl wrote them before the origin was typed (safe_length null included).
OLD_LAYOUT = [
    ({}, None),
    ({"task": "parity", "arch_id": "mamba-neg"}, TrainingOrigin("parity", "mamba-neg")),
    ({"construction": "diag-neg-bits", "bits": 1}, ConstructionOrigin("diag-neg-bits", bits=1)),
    ({"construction": "rotation-cyclic-factors", "moduli": [4], "safe_length": None},
     ConstructionOrigin("rotation-cyclic-factors", moduli=(4,))),
    ({"construction": "rotation-group-cascade", "primes": [2, 3], "safe_length": 7042},
     ConstructionOrigin("rotation-group-cascade", primes=(2, 3), safe_length=7042)),
    ({"construction": "diag-01-holonomy-cascade", "level_sizes": [2, 2], "reset_gate": 0.125, "exact_values": False},
     ConstructionOrigin("diag-01-holonomy-cascade", level_sizes=(2, 2), reset_gate=0.125, exact_values=False)),
    ({"construction": "rotation-permuting-holonomy-cascade", "components": ["target2@level0", "counter3@level2"],
      "reset_gate": 0.015625, "exact_values": False, "safe_length": 68589},
     ConstructionOrigin("rotation-permuting-holonomy-cascade", components=("target2@level0", "counter3@level2"),
                        reset_gate=0.015625, exact_values=False, safe_length=68589)),
    ({"construction": "householder-one-hot", "description": "one-hot state over the 2 minimal-DFA states"},
     ConstructionOrigin("householder-one-hot", description="one-hot state over the 2 minimal-DFA states")),
    ({"program_hash": "3edd", "compiled_for": "mamba-neg", "max_length": None, "inputs": [["x", 2, ["0", "1"]]],
      "outputs": [["odd", 1]]},
     ProgramOrigin("3edd", "mamba-neg", None, (ProgramIO("x", 2, ("0", "1")),), (ProgramIO("odd", 1),))),
]


@pytest.mark.parametrize("meta, origin", OLD_LAYOUT)
def test_the_untyped_layout_reads_into_the_typed_origin(meta: dict, origin) -> None:
    assert saved_meta(meta).origin == origin
    # written back the same, except that a construction's null safe_length (its default) is left out
    dropped = () if isinstance(origin, ProgramOrigin) else ("safe_length",)
    assert config(origin).to_json()["meta"] == {k: v for k, v in meta.items() if not (k in dropped and v is None)}


def test_construction_facts_read_as_fields() -> None:
    cascade = OLD_LAYOUT[6][1]
    assert cascade.counter_orders == (3,) and cascade.rotation_orders == ()
    assert OLD_LAYOUT[4][1].rotation_orders == (2, 3) and OLD_LAYOUT[3][1].rotation_orders == (4,)


@pytest.mark.parametrize("meta, message", [
    ({"construction": "x", "moduli": [3], "colour": 1}, "unknown field 'colour'"),
    ({"construction": "x", "arch_id": "mamba"}, "exactly one of the fields"),
    ({"construction": "x", "task": "parity"}, "unknown field 'task'"),
    ({"task": "parity"}, "exactly one of the fields"),
    ({"arch_id": "mamba"}, "missing field 'task'"),
    ({"construction": 3}, "field 'construction' must be a string"),
    ({"construction": "x", "moduli": 3}, "field 'moduli' must be a list"),
    ({"construction": "x", "moduli": [3, -1]}, r"field 'moduli'\[1\] = -1 is outside"),
    ({"construction": "x", "safe_length": True}, "field 'safe_length' must be an integer"),
    ({"construction": "x", "reset_gate": "1/8"}, "field 'reset_gate' must be a number"),
    ({"construction": "x", "exact_values": None}, "field 'exact_values' must be true or false"),
    ({"program_hash": "h", "compiled_for": "lti", "max_length": 3, "inputs": [["x", 2]], "outputs": []},
     "field 'inputs' must hold lists of 3 values"),
    ({"program_hash": "h", "compiled_for": "lti", "max_length": 3, "inputs": [], "outputs": [["y", "1"]]},
     r"outputs\[0\]\[1\] must be an integer"),
])
def test_a_malformed_origin_is_refused_naming_the_field(meta: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="field 'meta': .*" + message):
        saved_meta(meta)
