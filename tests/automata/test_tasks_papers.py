"""The papers' own data as tasks: Grazzi et al.'s modular arithmetic with '=' and Siems et al.'s restricted S_5
word problems, each checked against a port of the official generator."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.classify import classify
from automata.errors import UnknownTask
from automata.finite_groups import symmetric_group
from automata.limits import LimitExceeded
from automata.tasks import get_task


def grazzi_modular_arithmetic(batch: int, low: int, high: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """adankow/unlocking_state_tracking dd420c5, xlstm/experiments/data/formal_language/tasks/
    modular_arithmetic.py:18-59 (vocab_size 10, context 256), in Python integers (theirs are int32)."""
    rng = np.random.default_rng(seed)
    res = rng.integers(5, size=[batch, 256]) + 5
    res[:, 1::2] = rng.integers(3, size=[batch, 128]) + 1
    sizes = 2 * rng.integers(min((low + 1) // 2, (high + 1) // 2), (high + 1) // 2 + 1, size=[batch]) - 1
    for b in range(batch):
        res[b, sizes[b] - 2] = 4
        res[b, sizes[b]:] = 0
        total, value, sign = 0, int(res[b, 0]) - 5, 1
        for n, num in enumerate(res[b, 1:sizes[b] - 2]):
            if n % 2 == 0:
                if num != 3:
                    total, value, sign = total + sign * value, 1, -1 if num == 2 else 1
            else:
                value *= int(num) - 5
        res[b, sizes[b] - 1] = (total + sign * value) % 5 + 5
    return res, sizes


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_modarith_eq_labels_grazzis_data(seed):
    """Their strings up to '=' (token 4) are ours; our label at '=' is their answer token."""
    task = get_task("modarith-eq:5")
    symbol = {1: "+", 2: "-", 3: "*", 4: "=", **{5 + d: str(d) for d in range(5)}}
    res, sizes = grazzi_modular_arithmetic(16, 3, 40, seed)
    for row, size in zip(res, sizes):
        word = tuple(symbol[int(t)] for t in row[:size - 1])
        assert word[-1] == "=" and task.final_position(len(word)) == len(word) - 1
        assert task.label_word(word)[-1] == str(int(row[size - 1]) - 5)


def test_modarith_eq_training_lengths_put_equals_uniformly_like_grazzi():
    """Lengths 2..39 (the protocol's) put '=' at the slots 1, 3, ..., 37 twice each: their sizes 3..39 uniform."""
    task = get_task("modarith-eq:5")
    slots = [task.final_position(n) for n in range(2, 40)]
    assert sorted(set(slots)) == list(range(1, 38, 2)) and all(slots.count(s) == 2 for s in set(slots))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(2, 60))
def test_modarith_eq_sampler_marks_each_strings_end(seed, length):
    task = get_task("modarith-eq:5")
    rng = np.random.default_rng(seed)
    ends = rng.integers(2, length + 1, size=8)
    words = task.sample(8, length, seed, ends)
    labels = task.label_sequence(words)
    equals = task.alphabet.index("=")
    for word, row, end in zip(words, labels, ends):
        final = task.final_position(int(end))
        assert word[final] == equals and np.flatnonzero(word == equals)[0] == final
        assert task.label_names[row[final]] in tuple("01234")


def test_modarith_eq_refuses_equals_out_of_place():
    task = get_task("modarith-eq:5")
    assert task.label_word(tuple("1+2*3="))[-1] == "2"
    for word in ("1+=", "=", "1=1", "1==", "1=+"):
        assert task.label_word(tuple(word))[-1] == "invalid"


def test_restricted_alphabets_are_siems_allowed_indices():
    """generate_data.py:83-86 and :101-103: the permutations moving at most `limit` points, in the order of
    itertools.permutations (our S_n's order too)."""
    group = symmetric_group(5)
    for m, count in ((2, 1 + math.comb(5, 2)), (3, 1 + math.comb(5, 2) + 2 * math.comb(5, 3))):
        task = get_task(f"perm-moves:5:{m}")
        allowed = [group.names[i] for i, p in enumerate(group.elements) if sum(x != j for j, x in enumerate(p)) <= m]
        assert task.alphabet == tuple(allowed) and len(allowed) == count
        assert task.dfa.n_states == 120 and len(task.dfa.reachable()) == 120
    with pytest.raises(UnknownTask, match="m must satisfy"):
        get_task("perm-moves:5:5")


def siems_tokens(seq: list[int], n_tokens: int, new_length: int, table: np.ndarray, identity: int
                 ) -> tuple[list[int], list[int]]:
    """generate_data.py:170-201 without s_token: inputs and the shifted supervision."""
    seq = seq[:(new_length // n_tokens) + 1]
    acc, out = identity, []
    for x in seq:
        acc = int(table[acc, x])
        out.append(acc)
    inputs, outputs = [], []
    for x, y in zip(seq, out):
        inputs.append(x)
        outputs.append(y)
        if len(inputs) >= new_length:
            break
        for _ in range(n_tokens - 1):
            inputs.append(x)
            outputs.append(y)
            if len(inputs) >= new_length:
                break
        if len(inputs) >= new_length:
            break
    return inputs, [identity] * (n_tokens - 1) + outputs[:-(n_tokens - 1)]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_perm_tokens_labels_siems_shifted_supervision(data):
    n, r = data.draw(st.sampled_from([(3, 2), (4, 3), (5, 4)]))
    task = get_task(f"perm-tokens:{n}:{r}")
    group = symmetric_group(n)
    length = data.draw(st.integers(r, 40))
    seq = data.draw(st.lists(st.integers(0, group.order - 1), min_size=length // r + 1, max_size=length // r + 1))
    inputs, targets = siems_tokens(seq, r, length, group.multiplication_table(), 0)  # element 0 is the identity
    assert len(inputs) == length
    assert task.label_sequence(np.asarray([inputs])).tolist() == [targets]


def test_perm_tokens_sampler_repeats_and_size_is_bounded():
    task = get_task("perm-tokens:5:4")
    assert task.dfa.n_states == 120 + 120 * 120 * 3 + 1
    words = task.sample(32, 32, 0)
    assert all((words[:, 0::4] == words[:, i::4]).all() for i in (1, 2, 3))
    assert "invalid" not in {task.label_names[v] for v in task.label_sequence(words).ravel()}
    with pytest.raises(LimitExceeded, match=r"72,121 states .*\(more than --max-states 65536"):
        get_task("perm-tokens:5:6")  # refused by its declared size, before anything is built


@pytest.mark.parametrize("name, n_h", [("perm-moves:5:2", 1), ("perm-moves:5:3", 2)])
def test_restricted_s5_classifies_with_siems_n_h(name, n_h):
    """Swaps are reflections (n_h = 1), moves of 3 points products of two (n_h = 2): one layer suffices."""
    verdict = classify(get_task(name).dfa).verdict("deltaproduct")
    assert verdict.status == "constructible" and verdict.construction.n_h == n_h and verdict.construction.layers == 1


def test_training_batch_scores_modarith_eq_at_each_strings_equals():
    """The paper protocol's batches (uniform lengths 2..39, answer-only loss): the one position of a string that
    carries the loss holds '=' and a value label."""
    import torch

    from lsrl.reproduce import protocol
    from lsrl.training.train import batch

    config = protocol.grazzi("modarith-eq:5", "deltanet")
    task = get_task("modarith-eq:5")
    symbols, labels, mask = batch(task, config, 0, np.random.default_rng(0), torch.device("cpu"))
    assert mask.sum(dim=1).tolist() == [1] * config.batch
    assert (symbols[mask] == task.alphabet.index("=")).all() and (labels[mask] < 5).all()
