"""Task sizes and limits (``automata.tasks.Sizes``, ``automata.limits``): every family's declared sizes are those of
its construction, and a task past a limit is refused naming the flag before anything is allocated."""
from __future__ import annotations

import math
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata import limits
from automata.errors import UnknownTask
from automata.monoid import transition_monoid
from automata.tasks import TASKS, Family, Param, get_task

# Small enough that every build takes well under a second, large enough for instances on both sides of each limit.
SMALL = {"states": 3000, "transitions": 60_000, "elements": 400}


@contextmanager
def limited(**values: int) -> Iterator[None]:
    limits.raise_limits(**values)
    try:
        yield
    finally:
        limits.raise_limits(**{name: limits.LIMITS[name].default for name in values})


def _value(param: Param, small: bool) -> st.SearchStrategy[str]:
    if param.word:
        short = st.text("ab", min_size=1, max_size=6)
        return short if small else short | st.integers(1, 10**5).map(lambda n: "ab" * n)
    if small:
        return st.integers(param.low, param.high if param.high is not None else param.low + 3).map(str)
    high = param.high if param.high is not None else 10**12
    return st.one_of(st.integers(param.low, min(high, param.low + 6)), st.integers(param.low, high)).map(str)


@st.composite
def task_names(draw: st.DrawFn, small: bool = False) -> str:
    family = draw(st.sampled_from(list(TASKS.values())))
    return ":".join((family.name, *(draw(_value(p, small)) for p in family.params)))


@settings(max_examples=150, deadline=None)
@given(task_names())
def test_a_task_builds_within_the_limits_or_is_refused_naming_the_flag_before_allocating(name):
    """Either the task is built and fits the limits, or it is refused (a size past a limit, naming the flag; or
    plain validation), never a MemoryError or another exception; a refusal allocates next to nothing, a build no
    more than a few tables of the allowed size."""
    with limited(**SMALL):
        tracemalloc.start()
        try:
            task = get_task(name)
        except limits.LimitExceeded as err:
            assert f"more than --max-{err.limit} {SMALL[err.limit]}; pass a larger --max-{err.limit}" in str(err)
            assert tracemalloc.get_traced_memory()[1] < 1 << 20
            return
        except UnknownTask as err:
            assert "must" in str(err)
            return
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert task.dfa.n_states <= SMALL["states"] and task.dfa.n_states * task.dfa.n_symbols <= SMALL["transitions"]
    assert peak < 64 * SMALL["transitions"] + 4096 * SMALL["states"]


@settings(max_examples=60, deadline=None)
@given(task_names(small=True))
def test_the_declared_sizes_are_those_of_the_construction(name):
    """States and symbols of the DFA the builder explores (before a recognition task's minimisation) and the
    transition monoid's elements where declared: exactly what the task has."""
    family_name, *raw = name.split(":")
    family = TASKS[family_name]
    try:
        values = family.parse(raw, name)
    except (UnknownTask, limits.LimitExceeded):
        return
    sizes = family.sizes(*values)
    with mock.patch("automata.tasks.minimize", lambda dfa: dfa):
        explored = family.build(name, *values).dfa
    assert (explored.n_states, explored.n_symbols) == (sizes.states, sizes.symbols)
    task = get_task(name)
    if task.kind == "state-tracking":
        assert task.dfa.n_states == sizes.states
    if sizes.elements is not None and sizes.elements <= 1000:
        assert transition_monoid(task.dfa).size == sizes.elements


@pytest.mark.parametrize("family", list(TASKS.values()), ids=lambda f: f.name)
def test_sizes_of_huge_parameters_are_computed_at_once(family: Family):
    """Sizes of astronomically large parameters are exact integers or ``math.inf``, computed without looping over
    the parameter (a factorial of a billion, Dyck stacks of depth a billion)."""
    values = tuple("ab" * 10**6 if p.word else (p.high if p.high is not None else 10**9) for p in family.params)
    try:
        sizes = family.sizes(*values)
    except ValueError:  # perm-moves needs m < n
        sizes = family.sizes(*values[:-1], values[-1] - 1)
    assert all(isinstance(v, int) or v == math.inf for v in (sizes.states, sizes.symbols))


@pytest.mark.parametrize("name, limit", [("S:7", "transitions"), ("S:9", "states"), ("mod:70000", "states")])
def test_a_raised_limit_lets_a_task_past_the_default_through(name, limit):
    family_name, *raw = name.split(":")
    with pytest.raises(limits.LimitExceeded, match=f"--max-{limit}"):
        TASKS[family_name].parse(raw, name)
    with limited(states=10**6, transitions=10**12, elements=10**6):
        TASKS[family_name].parse(raw, name)


def test_the_elements_of_a_monoid_are_checked_before_the_task_is_built():
    """S_5's 120 elements against --max-elements 100: refused by the declared size, without building S_5."""
    with limited(elements=100), mock.patch("automata.tasks._symmetric", side_effect=AssertionError("built")):
        with pytest.raises(limits.LimitExceeded, match=r"task 'S:5': 120 elements of a transition monoid"):
            get_task("S:5")
