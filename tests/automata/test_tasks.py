from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata import limits
from automata.errors import LsrlInputError, UnknownTask
from automata.minimize import is_minimal
from automata.tasks import TASKS, Balanced, get_task, known_tasks, task_families, task_names

Word = Sequence[str]


# -- independent reference labels: the label name of a whole word ----------------------------


def parse_cycles(name: str, degree: int) -> tuple[int, ...]:
    image = list(range(degree))
    for cycle in re.findall(r"\(([0-9,]+)\)", name):
        points = [int(x) - 1 for x in cycle.split(",")]
        for a, b in zip(points, points[1:] + points[:1]):
            image[a] = b
    return tuple(image)


def permutation_product(word: Word, degree: int) -> tuple[int, ...]:
    """Apply the letters left to right: x -> g_t(...g_1(x))."""
    points = list(range(degree))
    for letter in word:
        g = parse_cycles(letter, degree)
        points = [g[x] for x in points]
    return tuple(points)


def quaternion(word: Word) -> str:
    units = {"1": (1, 0, 0, 0), "i": (0, 1, 0, 0), "j": (0, 0, 1, 0), "k": (0, 0, 0, 1)}
    units.update({"-" + n: tuple(-v for v in q) for n, q in list(units.items())})
    x = (1, 0, 0, 0)
    for letter in word:
        a1, b1, c1, d1 = x
        a2, b2, c2, d2 = units[letter]
        x = (a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2, a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
             a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2, a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2)
    return next(n for n, q in units.items() if q == x)


def dihedral(word: Word, n: int) -> str:
    """Compose affine maps x -> sign*x + shift on Z_n."""
    sign, shift = 1, 0
    for letter in word:
        i = int(letter[1:])
        sign, shift = (sign, shift + i) if letter[0] == "r" else (-sign, i - shift)
    return f"r{shift % n}" if sign == 1 else f"s{shift % n}"


def modarith(word: Word, k: int) -> str:
    for i, token in enumerate(word):
        if token.isdigit() != (i % 2 == 0):
            return "invalid"
    if len(word) % 2 == 0:
        return "incomplete"
    return str(eval("".join(word)) % k)  # Python's precedence: * before + and -, left to right


def modarith_eq(word: Word, k: int) -> str:
    """Grazzi et al.'s expression then '=': the value at '=', invalid at '=' after an operator or after '='."""
    if "=" in word[:-1]:
        return "invalid"
    if word[-1] != "=":
        return modarith(word, k)
    value = modarith(word[:-1], k)
    return "invalid" if value in ("incomplete", "invalid") else value


def perm_tokens(word: Word, n: int, r: int) -> object:
    """The product of the blocks of r equal tokens read in full; 'invalid' once a block has unequal tokens."""
    blocks = [word[i:i + r] for i in range(0, len(word), r)]
    if any(len(set(block)) > 1 for block in blocks):
        return "invalid"
    return permutation_product([block[0] for block in blocks if len(block) == r], n)


def tomita_3(s: str) -> bool:
    runs = [(c, len(list(g))) for c, g in itertools.groupby(s)]
    seen_odd_ones = False
    for c, n in runs:
        if c == "0" and n % 2 and seen_odd_ones:
            return False
        if c == "1" and n % 2:
            seen_odd_ones = True
    return True


def dyck(s: str, pairs: str, h: int) -> bool:
    stack = []
    for c in s:
        if c in pairs[0::2]:
            stack.append(c)
            if len(stack) > h:
                return False
        elif not stack or pairs[pairs.index(stack.pop()) + 1] != c:
            return False
    return not stack


def yes(b: bool) -> str:
    return "accept" if b else "reject"


REFERENCE: dict[str, Callable[[Word], str]] = {
    "parity": lambda w: ("even", "odd")[w.count("1") % 2],
    "mod:3": lambda w: str(w.count("a") % 3),
    "mod:7": lambda w: str(w.count("a") % 7),
    "cycle:5": lambda w: str(sum(int(m) for m in w) % 5),
    "cycle:3": lambda w: str(sum(int(m) for m in w) % 3),
    "modarith:5": lambda w: modarith(w, 5),
    "modarith:3": lambda w: modarith(w, 3),
    "modarith:11": lambda w: modarith(w, 11),
    "modarith-eq:5": lambda w: modarith_eq(w, 5),
    "modarith-eq:3": lambda w: modarith_eq(w, 3),
    "perm-moves:4:2": lambda w: permutation_product(w, 4),
    "perm-moves:5:3": lambda w: permutation_product(w, 5),
    "perm-tokens:3:2": lambda w: perm_tokens(w, 3, 2),
    "perm-tokens:4:3": lambda w: perm_tokens(w, 4, 3),
    "Z:6": lambda w: str(sum(int(g) for g in w) % 6),
    "Z2xZ2": lambda w: "eabc"[np.bitwise_xor.reduce(["eabc".index(g) for g in w], initial=0)],
    "dihedral:4": lambda w: dihedral(w, 4),
    "dihedral:5": lambda w: dihedral(w, 5),
    "Q8": quaternion,
    "S:3": lambda w: permutation_product(w, 3),
    "S:5": lambda w: permutation_product(w, 5),
    "A:4": lambda w: permutation_product(w, 4),
    "A:5": lambda w: permutation_product(w, 5),
    "flipflop": lambda w: next((m[-1] for m in reversed(w) if m != "read"), "0"),
    "even-pairs": lambda w: yes(sum(a != b for a, b in zip(w, w[1:])) % 2 == 0),
    "tomita:1": lambda w: yes(set(w) <= {"1"}),
    "tomita:2": lambda w: yes("".join(w) == "10" * (len(w) // 2)),
    "tomita:3": lambda w: yes(tomita_3("".join(w))),
    "tomita:4": lambda w: yes("000" not in "".join(w)),
    "tomita:5": lambda w: yes(w.count("0") % 2 == 0 and w.count("1") % 2 == 0),
    "tomita:6": lambda w: yes((w.count("0") - w.count("1")) % 3 == 0),
    "tomita:7": lambda w: yes(re.fullmatch("0*1*0*1*", "".join(w)) is not None),
    "dyck:1:2": lambda w: yes(dyck("".join(w), "()", 2)),
    "dyck:2:3": lambda w: yes(dyck("".join(w), "()[]", 3)),
    "dyck:3:2": lambda w: yes(dyck("".join(w), "()[]{}", 2)),
    "ab-star": lambda w: yes(re.fullmatch("(ab)*", "".join(w)) is not None),
    "contains:aba": lambda w: yes("aba" in "".join(w)),
    "contains:bb": lambda w: yes("bb" in "".join(w)),
    "ends-with:ab": lambda w: yes("".join(w).endswith("ab")),
    "ends-with:abb": lambda w: yes("".join(w).endswith("abb")),
    "no-aa": lambda w: yes("aa" not in "".join(w)),
}


def degree(name: str) -> int | None:
    """The degree of a permutation task's labels (compared as permutations, not printed names)."""
    family, *params = name.split(":")
    return int(params[0]) if family in ("S", "A", "perm-moves", "perm-tokens") else None


def reference_labels(name: str, word: Word) -> list[object]:
    task = get_task(name)
    labels = [REFERENCE[name](word[:t + 1]) for t in range(len(word))]
    if degree(name) is not None:
        return labels
    assert all(label in task.label_names for label in labels)
    return labels


def task_labels(name: str, word: Word) -> list[object]:
    labels = list(get_task(name).label_word(word))
    n = degree(name)
    if n is not None:
        return [label if label == "invalid" else parse_cycles(label, n) for label in labels]
    return labels


def test_every_family_has_a_reference_checked_example():
    assert {f.example for f in TASKS.values()} <= set(REFERENCE)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_labels_agree_with_an_independent_definition(data):
    name = data.draw(st.sampled_from(sorted(REFERENCE)))
    task = get_task(name)
    word = data.draw(st.lists(st.sampled_from(task.alphabet), max_size=40))
    assert task_labels(name, word) == reference_labels(name, word)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_labels_agree_on_sampled_strings(name):
    task = get_task(name)
    for word in task.sample(20, 30, rng=1):
        symbols = task.dfa.decode(word)
        assert task_labels(name, symbols) == reference_labels(name, symbols)


@pytest.mark.parametrize("name", [n for n in REFERENCE if get_task(n).alphabet in (("0", "1"), ("a", "b"))])
def test_binary_tasks_agree_on_every_string_up_to_length_10(name):
    task = get_task(name)
    words = np.array(list(itertools.product(range(2), repeat=10)))
    labels = task.label_sequence(words)
    for word, row in zip(words, labels):
        symbols = task.dfa.decode(word)
        assert [task.label_names[v] for v in row] == reference_labels(name, symbols)


def test_modular_arithmetic_examples_of_deletang():
    task = get_task("modarith:5")
    for expression, value in [("1+2*3", "2"), ("1-1-1", "4"), ("0*1+4*3-2", "0")]:
        assert task.label_word(tuple(expression))[-1] == value
    assert task.label_word(("1", "+"))[-1] == "incomplete"
    assert task.label_word(("+", "1"))[-1] == "invalid"


# -- structure of every task ------------------------------------------------------------------


def moore_minimal(task) -> bool:
    """Every state reachable, and no two states with the same label after every word (Moore's
    partition refinement, started from the labels)."""
    dfa = task.dfa
    classes = task.labels
    while True:
        _, refined = np.unique(np.column_stack([classes, classes[dfa.delta]]), axis=0, return_inverse=True)
        if refined.max() == classes.max():
            break
        classes = refined.ravel()
    return len(dfa.reachable()) == dfa.n_states and len(np.unique(classes)) == dfa.n_states


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_tasks_are_well_formed_and_minimal(name):
    task = get_task(name)
    assert task.name == name and task.description and task.source
    assert task.labels.shape == (task.dfa.n_states,) and not task.labels.flags.writeable
    assert set(task.labels.tolist()) == set(range(task.n_labels))
    if task.kind == "recognition":
        assert is_minimal(task.dfa)
        assert task.label_names == ("reject", "accept")
        assert np.array_equal(task.labels, task.dfa.accepting_mask())
    else:
        assert moore_minimal(task)
        assert task.dfa.accepting == set(np.flatnonzero(task.labels == 0).tolist())


@pytest.mark.parametrize("name, order", [("S:5", 120), ("A:5", 60), ("Q8", 8), ("dihedral:4", 8), ("S:3", 6),
                                         ("A4", 12), ("Z2xZ2", 4), ("Z:7", 7), ("S:6", 720), ("dihedral:10", 20)])
def test_group_tasks_have_one_state_and_symbol_per_element(name, order):
    task = get_task(name)
    assert task.dfa.n_states == task.dfa.n_symbols == task.n_labels == order
    assert task.label_names == task.alphabet
    assert task.label_names[task.dfa.start] in ("e", "0", "1", "r0")
    word = task.sample(1, 25, rng=0)[0]
    assert task.label_sequence(word[None])[0, 0] == word[0]  # one letter's product is itself


@pytest.mark.parametrize("name, states", [("dyck:2:3", 1 + 2 + 4 + 8 + 1), ("dyck:1:4", 6), ("tomita:3", 5),
                                          ("tomita:2", 3), ("contains:aba", 4), ("ends-with:abb", 4),
                                          ("even-pairs", 5), ("modarith:5", 51)])
def test_state_counts(name, states):
    assert get_task(name).dfa.n_states == states


# -- names and errors -------------------------------------------------------------------------


def test_aliases_defaults_and_caching():
    assert get_task("A4") is get_task("A:4")
    assert get_task("cycle").name == "cycle:5" and get_task("modarith").name == "modarith:5"
    assert get_task(" mod:3 ") is get_task("mod:3")
    assert task_names()[:3] == ("parity", "mod:k", "cycle:k") and "dyck:k:h" in task_names()
    assert "A4" in task_names()
    assert [f.signature for f in task_families()] == list(task_names()[:-1])
    assert all(get_task(f.example).name == f.example for f in task_families())


def test_unknown_task_lists_every_family():
    with pytest.raises(UnknownTask) as error:
        get_task("fibonacci:3")
    message = str(error.value)
    assert "fibonacci" in message
    for signature in task_names():
        assert signature in message
    assert message.endswith(known_tasks())
    assert issubclass(UnknownTask, LsrlInputError)


@pytest.mark.parametrize("name, fragment", [
    ("mod:0", "k must be an integer >= 2"), ("S:1", "n must be an integer >= 2"), ("A:2", ">= 3"),
    ("dyck:2", "takes 2 parameter"), ("parity:3", "takes 0 parameter"), ("mod:x", "got 'x'"), ("mod:-1", "got '-1'"),
    ("mod", "takes 1"), ("tomita:8", "from 1 to 7"), ("contains:abc", "letters a and b"),
    ("contains:", "letters a and b"), ("dihedral:2", ">= 3"), ("dyck:0:2", ">= 1"), ("cycle:5:1", "takes 0 to 1"),
    ("perm-moves:4:4", "2 <= m < n"), ("s:5", "unknown task"),
])
def test_bad_parameters_are_explained(name, fragment):
    with pytest.raises(UnknownTask, match=re.escape(fragment)):
        get_task(name)


@pytest.mark.parametrize("name, message", [
    ("S:9", "task 'S:9': 362,880 states of a DFA under construction (more than --max-states 65536"),
    ("S:7", "task 'S:7' (5,040 states x 5,040 symbols): 25,401,600 transitions"),
    ("dyck:2:20", "task 'dyck:2:20': 2,097,152 states"), ("Z:4097", "--max-transitions"),
    ("modarith:400", "320,001 states"), ("dyck:9:9", "435,848,051 states"), ("mod:100000000", "--max-states"),
    ("S:100000", "more than 10^18 states"), ("mod:" + "9" * 5000, "more than 10^18 states"),
    ("A:1000", "more than 10^18 states"), ("dyck:2:" + "9" * 5000, "more than 10^18 states"),
    ("dyck:" + "9" * 5000 + ":1", "more than 10^18 states"), ("perm-tokens:3:" + "9" * 5000, "more than 10^18"),
    ("modarith:" + "9" * 5000, "more than 10^18 states"), ("Z:" + "9" * 5000, "more than 10^18 states"),
])
def test_sizes_past_a_limit_name_the_flag_before_anything_is_built(name, message):
    with pytest.raises(limits.LimitExceeded, match=re.escape(message)):
        get_task(name)


# -- samplers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [f.example for f in TASKS.values()])
def test_samplers_are_deterministic_and_in_range(name):
    task = get_task(name)
    first = task.sample(16, 21, rng=7)
    assert first.shape == (16, 21) and first.dtype == np.int64
    assert first.min() >= 0 and first.max() < task.dfa.n_symbols
    assert np.array_equal(first, task.sample(16, 21, rng=np.random.default_rng(7)))
    assert not np.array_equal(first, task.sample(16, 21, rng=8))
    assert task.label_sequence(first).shape == (16, 21)
    assert task.sample(3, 0, rng=0).shape == (3, 0)


def test_balanced_sampler_mixes_accepted_rejected_and_late_failures():
    task = get_task("dyck:2:3")
    assert isinstance(task.sampler, Balanced)
    words = task.sample(400, 40, rng=0)
    accepted = task.label_sequence(words)[:, -1] == 1
    assert 0.45 <= accepted.mean() <= 0.6
    sink = [q for q in range(task.dfa.n_states) if task.dfa.state_names[q] == "sink"][0]
    states = task.dfa.trace_batch(words)
    first_failure = np.where((states == sink).any(axis=1), (states == sink).argmax(axis=1), -1)
    assert (first_failure >= 10).sum() >= 50  # near misses fail deep inside the string
    assert states[accepted].max(initial=0) != sink


def test_balanced_sampler_is_uniform_over_accepted_strings():
    task = get_task("tomita:5")
    words = task.sample(4000, 4, rng=3)
    accepted = words[task.label_sequence(words)[:, -1] == 1]
    _, counts = np.unique(accepted, axis=0, return_counts=True)
    assert len(counts) == 8 and 1800 <= counts.sum() <= 2200  # the 8 strings with even 0s and 1s
    assert counts.min() >= 170 and counts.max() <= 330  # 250 expected each; 5 standard deviations


def test_balanced_sampler_without_accepted_strings_of_that_length_draws_live_prefixes():
    task = get_task("dyck:1:3")
    words = task.sample(200, 7, rng=0)
    final = task.dfa.trace_batch(words)[:, -1]
    live = np.array([task.dfa.state_names[q] != "sink" for q in final])
    assert live.mean() >= 0.5


def test_expression_sampler_alternates_numbers_and_operators():
    task = get_task("modarith:5")
    labels = task.label_sequence(task.sample(50, 20, rng=0))
    incomplete = task.label_names.index("incomplete")
    assert (labels[:, 1::2] == incomplete).all() and (labels[:, 0::2] < 5).all()
