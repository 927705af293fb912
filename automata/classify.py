"""The expressivity classifier: for each architecture class, whether it can recognise a regular language and on what
grounds (a theorem, a derived construction, or open); pipeline and rules in docs/classifier.md."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from automata.dfa import DFA
from automata.errors import UnknownArchitecture
from automata.finite_groups import FiniteGroup
from automata.green import GreenStructure, MaximalSubgroup, green_structure
from automata.minimize import equivalence_classes, minimize
from automata.monoid import TransitionMonoid, transition_monoid

Status = Literal["constructible", "impossible", "open"]
Source = Literal["theorem", "derived", "conjecture/open"]

ARCHITECTURES: dict[str, str] = {
    "diag-01": "diagonal input-dependent transitions with entries in [0,1] (Mamba, GLA, mLSTM)",
    "diag-neg": "diagonal input-dependent transitions with entries in [-1,1]",
    "diag-complex": "diagonal input-dependent complex transitions of modulus at most 1 (rotations)",
    "deltaproduct": "products of n_h generalized Householder matrices I - beta k k^T, beta in [0,2] "
                    "(DeltaNet is n_h = 1)",
    "dense-lrnn": "dense input-dependent linear RNN",
    "nonlinear-rnn": "nonlinear RNN (Elman with threshold/ReLU units, LSTM, GRU)",
}

SARROF = ("Sarrof, Veitsman, Hahn 2024, 'The Expressive Capacity of State Space Models: A Formal "
          "Language Perspective' (NeurIPS 2024, arXiv:2405.17394)")
GRAZZI = ("Grazzi, Siems, Zela, Franke, Hutter, Pontil 2025, 'Unlocking State-Tracking in Linear RNNs "
          "Through Negative Eigenvalues' (ICLR 2025, arXiv:2411.12537)")
SIEMS = ("Siems, Carstensen, Zela, Hutter, Pontil, Grazzi 2025, 'DeltaProduct: Improving State-Tracking "
         "in Linear RNNs via Householder Products' (arXiv:2502.10297)")
MERRILL = ("Merrill, Petty, Sabharwal 2024, 'The Illusion of State in State-Space Models' "
           "(ICML 2024, arXiv:2404.08819)")
BARRINGTON = ("Barrington 1989, 'Bounded-width polynomial-size branching programs recognize exactly "
              "those languages in NC^1' (JCSS 38); Barrington, Thérien 1988, 'Finite monoids and the "
              "fine structure of NC^1' (JACM 35)")
SCHUTZENBERGER = "Schützenberger 1965, 'On finite monoids having only trivial subgroups' (Inf. Control 8)"
KROHN_RHODES = "Krohn, Rhodes 1965, 'Algebraic theory of machines I' (Trans. AMS 116)"
MINSKY = "Minsky 1967, 'Computation: Finite and Infinite Machines', Ch. 3 (McCulloch-Pitts nets)"
PETROV = "Petrov, Torr, Bibi 2024, 'Universal In-Context Approximation By Prompting Fully Recurrent Models' (LSRL)"

FINITE_PRECISION = "finite precision: every value lies in a fixed finite set, whatever the input length"
FIXED_DEPTH = "a fixed number of layers, independent of the input length"
STACKING = "position-wise MLPs between layers and an arbitrary per-position readout"
SOLVED = "solved = the output equals membership of every prefix, for inputs of every length"
TC0_NC1 = "L-uniform TC^0 != NC^1"


@dataclass(frozen=True)
class Theorem:
    """A published result an impossibility rests on; ``condition`` names an unproved complexity
    assumption the impossibility depends on (None when it is unconditional)."""

    statement: str
    hypotheses: tuple[str, ...]
    reference: str
    condition: str | None = None


@dataclass(frozen=True)
class Construction:
    """How a model of the class recognises the language. ``layers`` and ``state_size`` are None
    where the construction exists but its size is not computed here (a Krohn-Rhodes cascade);
    ``state_size`` counts real (or complex, for diag-complex) state entries per layer."""

    name: str
    layers: int | None
    state_size: int | None
    description: str
    n_h: int | None = None


@dataclass(frozen=True)
class Verdict:
    """The classification of the language for one architecture class."""

    architecture: str
    status: Status
    source: Source
    hypotheses: tuple[str, ...]
    references: tuple[str, ...]
    note: str
    construction: Construction | None = None
    theorem: Theorem | None = None


@dataclass(frozen=True)
class GroupSummary:
    """One maximal subgroup per regular D-class of the syntactic monoid (the others in the
    D-class are isomorphic to it)."""

    order: int
    abelian: bool
    solvable: bool
    two_group: bool
    exponent: int
    composition_factors: tuple[str, ...]
    degree: int
    idempotent_word: tuple[str, ...]
    d_class_size: int


@dataclass(frozen=True)
class Classification:
    """The algebra of a regular language and the verdict for each architecture class."""

    alphabet: tuple[str, ...]
    n_states: int
    monoid_size: int
    n_idempotents: int
    n_d_classes: int
    aperiodic: bool
    monoid_is_group: bool
    groups: tuple[GroupSummary, ...]
    verdicts: tuple[Verdict, ...]

    def verdict(self, architecture: str) -> Verdict:
        for v in self.verdicts:
            if v.architecture == architecture:
                return v
        raise UnknownArchitecture(f"unknown classifier class {architecture!r}; known: {', '.join(ARCHITECTURES)}")

    @property
    def all_groups_solvable(self) -> bool:
        return all(g.solvable for g in self.groups)

    @property
    def all_groups_two_groups(self) -> bool:
        return all(g.two_group for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (lists, strings, numbers, booleans and None only)."""
        return _jsonable({
            "alphabet": self.alphabet, "n_states": self.n_states, "monoid_size": self.monoid_size,
            "n_idempotents": self.n_idempotents, "n_d_classes": self.n_d_classes,
            "aperiodic": self.aperiodic, "monoid_is_group": self.monoid_is_group,
            "groups": [g.__dict__ for g in self.groups],
            "verdicts": [{**v.__dict__, "construction": v.construction and v.construction.__dict__,
                          "theorem": v.theorem and v.theorem.__dict__} for v in self.verdicts],
        })


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- facts the rules read -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    dfa: DFA
    monoid: TransitionMonoid
    green: GreenStructure
    subgroups: tuple[MaximalSubgroup, ...]
    summaries: tuple[GroupSummary, ...]
    unary_counter: UnaryCounter | None
    labelled: bool = False

    @property
    def aperiodic(self) -> bool:
        return self.green.is_aperiodic

    @property
    def whole_group(self) -> FiniteGroup | None:
        """The monoid itself as a group (acting on the minimal DFA's states), if it is one."""
        unit = self.subgroups[0]
        return unit.group if unit.idempotent == 0 and unit.order == self.monoid.size else None

    def describe_groups(self) -> str:
        shown = [f"order {g.order} ({', '.join(g.composition_factors) or 'trivial'})"
                 for g in self.summaries if g.order > 1]
        return "non-trivial maximal subgroups: " + ("; ".join(shown) if shown else "none")


@dataclass(frozen=True)
class UnaryCounter:
    """On the letter ``symbol``, the words a^n with label ``value`` (for a plain DFA 1 = accepted, 0 =
    rejected), or the others when ``complement``, are exactly those with ``modulus`` dividing n."""

    symbol: str
    modulus: int
    value: int
    complement: bool

    def language(self, labelled: bool) -> str:
        """The language this counter restricts, in words."""
        if not labelled:
            return "the language" if (self.value == 1) != self.complement else "the complement of the language"
        return ("the complement of " if self.complement else "") + f"the language of label {self.value}"


def _counting_modulus(pattern: list[bool], cycle: int) -> int | None:
    """m, not a power of two, with pattern[n] == (m | n) for every n, if there is one; the pattern
    (eventually periodic with period ``cycle``) is given up to its tail plus two periods."""
    positives = [n for n in range(1, len(pattern)) if pattern[n]]
    if not pattern[0] or not positives:
        return None
    m = positives[0]
    if m & (m - 1) and cycle % m == 0 and all(pattern[n] == (n % m == 0) for n in range(len(pattern))):
        return m
    return None


def unary_counting_witness(dfa: DFA, labels: np.ndarray | None = None) -> UnaryCounter | None:
    """A letter a and a modulus m, not a power of two, such that on a* the language of one label value
    (acceptance by default), or its complement, is (a^m)*, if there is one: a model computing the labels
    recognises that language (negating its readout for the complement), so impossibility results for
    counting modulo m apply as stated."""
    labels = dfa.accepting_mask().astype(np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    for a, symbol in enumerate(dfa.alphabet):
        position: dict[int, int] = {}
        orbit: list[int] = []
        q = dfa.start
        while q not in position:
            position[q] = len(orbit)
            orbit.append(q)
            q = int(dfa.delta[q, a])
        tail, cycle = position[q], len(orbit) - position[q]
        # Labels of a^n for n < tail + 2 * cycle decide the whole (eventually periodic) pattern.
        seen = labels[[orbit[n if n < tail else tail + (n - tail) % cycle] for n in range(tail + 2 * cycle)]]
        for value in sorted(set(seen.tolist()), reverse=True):
            for complement in (False, True):
                m = _counting_modulus(((seen == value) != complement).tolist(), cycle)
                if m is not None:
                    return UnaryCounter(symbol, m, value, complement)
    return None


def _summary(subgroup: MaximalSubgroup, monoid: TransitionMonoid) -> GroupSummary:
    group = subgroup.group
    return GroupSummary(group.order, group.is_abelian, group.is_solvable, group.is_p_group(2),
                        group.exponent, group.composition_factors(), group.degree,
                        monoid.word(subgroup.idempotent), subgroup.d_class_size)


def _abelian_rank(group: FiniteGroup) -> int:
    """The least number of generators of an abelian group: its largest p-rank, where the p-rank r
    satisfies p^r = #{x : x^p = 1}."""
    import sympy  # here, not at the top: loading it costs every command that imports the classifier

    rank = 0
    for p in sympy.factorint(group.order):
        count, r = int(np.count_nonzero(np.isin(group.element_orders, (1, p)))), 0
        while count > 1:
            count //= p
            r += 1
        rank = max(rank, r)
    return rank


def _transpositions(permutations: np.ndarray) -> np.ndarray:
    """For each row (a permutation), the least number of transpositions whose product it is:
    degree - #cycles. Cycles are counted by pointer doubling: after j rounds each point holds the
    least point among its first 2^j images, so the cycle minima are the points holding themselves."""
    permutations = np.asarray(permutations, dtype=np.int64).reshape(-1, np.shape(permutations)[-1])
    points = np.arange(permutations.shape[1])
    low, step = np.broadcast_to(points, permutations.shape).copy(), permutations.copy()
    for _ in range(max(1, int(np.ceil(np.log2(max(permutations.shape[1], 2)))))):
        low = np.minimum(low, np.take_along_axis(low, step, axis=1))
        step = np.take_along_axis(step, step, axis=1)
    return permutations.shape[1] - (low == points).sum(axis=1)


# -- the rules, one function per architecture class -----------------------------------------------


def _flip_flop_cascade() -> Construction:
    return Construction("flip-flop cascade", None, None,
                        "a cascade of two-state reset (flip-flop) layers following a Krohn-Rhodes "
                        "decomposition of the aperiodic syntactic monoid; depth not computed here")


def _star_free_verdict(architecture: str, hypotheses: tuple[str, ...], note: str) -> Verdict:
    return Verdict(architecture, "constructible", "theorem", hypotheses, (SARROF, SCHUTZENBERGER),
                   "the language is star-free (aperiodic syntactic monoid, Schützenberger 1965); "
                   "finite-precision SSMs with non-negative diagonal gates recognise every star-free "
                   "language (Sarrof et al. 2024)" + note, _flip_flop_cascade())


def _non_solvable_theorem(hypotheses: tuple[str, ...]) -> Theorem:
    return Theorem("a subgroup of the syntactic monoid is not solvable, so the language is NC^1-complete "
                   "under AC^0 reductions (Barrington 1989; Barrington, Thérien 1988); log-precision "
                   "diagonal SSMs of fixed depth compute only functions in L-uniform TC^0 (Merrill et al. "
                   "2024); so no such model recognises it unless the condition fails",
                   hypotheses + ("log precision (finite precision is a special case)",),
                   f"{MERRILL}; {BARRINGTON}", condition=TC0_NC1)


def _diag_01(facts: _Facts) -> Verdict:
    hypotheses = (FINITE_PRECISION, FIXED_DEPTH, STACKING, SOLVED, ARCHITECTURES["diag-01"])
    if facts.aperiodic:
        return _star_free_verdict("diag-01", hypotheses, "")
    theorem = Theorem("a regular language is recognised by a finite-precision SSM with non-negative "
                      "input-dependent diagonal gates, of any fixed depth, only if it is star-free; this "
                      "language is not (its syntactic monoid has a non-trivial group)",
                      hypotheses, SARROF)
    return Verdict("diag-01", "impossible", "theorem", hypotheses, (SARROF, SCHUTZENBERGER, GRAZZI),
                   facts.describe_groups() + "; Grazzi et al. 2025 prove the parity case for any "
                   "transition matrices with non-negative real eigenvalues", theorem=theorem)


def _diag_neg(facts: _Facts) -> Verdict:
    hypotheses = (FINITE_PRECISION, FIXED_DEPTH, STACKING, SOLVED, ARCHITECTURES["diag-neg"])
    if facts.aperiodic:
        return _star_free_verdict("diag-neg", hypotheses, "; [0,1] is contained in [-1,1]")
    group = facts.whole_group
    if group is not None and group.is_abelian and group.exponent <= 2:
        k = _abelian_rank(group)
        construction = Construction("sign-flip diagonal layer", 1, k,
                                    f"the syntactic monoid is (Z_2)^{k}: one channel per factor, gate -1 on "
                                    f"the letters that flip it and +1 otherwise, exact in any float format")
        return Verdict("diag-neg", "constructible", "derived", hypotheses, (GRAZZI, SARROF),
                       "parity-like language: a -1 gate counts modulo 2 (as for parity in the cited "
                       "papers)", construction)
    if facts.unary_counter is not None:
        counter = facts.unary_counter
        symbol, m, language = counter.symbol, counter.modulus, counter.language(facts.labelled)
        reduction = ("" if language == "the language" else
                     "; a model of the class for the language gives one for that language (a readout of "
                     "the same states, negated for a complement)")
        theorem = Theorem(f"restricted to {symbol!r}*, {language} is ({symbol}^{m})*{reduction}; a finite-precision "
                          f"LRNN of finitely many layers whose transition matrices are all triangular with "
                          f"real eigenvalues (diagonal in [-1,1] included) cannot recognise (1^m)* for m not "
                          f"a power of two",
                          hypotheses + ("transition matrices triangular with real eigenvalues",), GRAZZI)
        return Verdict("diag-neg", "impossible", "theorem", hypotheses, (GRAZZI,),
                       f"counting modulo {m} is embedded in {language}", theorem=theorem)
    if facts.summaries and all(g.two_group for g in facts.summaries):
        construction = Construction("Z_2 / flip-flop cascade", None, None,
                                    "every subgroup is a 2-group, so by Krohn-Rhodes the monoid divides a "
                                    "cascade of flip-flops and Z_2 counters, each a diagonal layer with gates "
                                    "in {-1, 0, 1}; depth not computed here")
        return Verdict("diag-neg", "constructible", "derived", hypotheses, (KROHN_RHODES, GRAZZI, SARROF),
                       facts.describe_groups(), construction)
    if not all(g.solvable for g in facts.summaries):
        return Verdict("diag-neg", "impossible", "theorem", hypotheses, (MERRILL, BARRINGTON),
                       facts.describe_groups() + "; conditional on " + TC0_NC1,
                       theorem=_non_solvable_theorem(hypotheses))
    return Verdict("diag-neg", "open", "conjecture/open", hypotheses, (GRAZZI,),
                   facts.describe_groups() + "; a subgroup has an element of odd prime order. Grazzi et al. "
                   "2025 prove impossibility only for counting modulo m ((1^m)*, m not a power of two) and "
                   "neither this language nor its complement restricts to that on one letter; "
                   "we conjecture it is impossible "
                   "too (real triangular transitions give periods that are powers of two), but that is "
                   "not proved here")


def _diag_complex(facts: _Facts) -> Verdict:
    hypotheses = (FINITE_PRECISION, FIXED_DEPTH, STACKING, SOLVED, ARCHITECTURES["diag-complex"])
    if facts.aperiodic:
        return _star_free_verdict("diag-complex", hypotheses, "; real gates in [0,1] are a special case")
    if not all(g.solvable for g in facts.summaries):
        return Verdict("diag-complex", "impossible", "theorem", hypotheses, (MERRILL, BARRINGTON),
                       facts.describe_groups() + "; conditional on " + TC0_NC1,
                       theorem=_non_solvable_theorem(hypotheses))
    exact = "exact in floating point only for rotations of order 1, 2 or 4; otherwise the certificate " \
            "must bound the drift and give the safe length"
    group = facts.whole_group
    if group is not None and group.is_abelian:
        k = _abelian_rank(group)
        construction = Construction("rotation layer", 1, k,
                                    f"the syntactic monoid is an abelian group with {k} cyclic factor(s): one "
                                    f"complex channel per factor, each letter a rotation by a multiple of "
                                    f"2*pi/order; {exact}")
        return Verdict("diag-complex", "constructible", "derived", hypotheses, (MERRILL, GRAZZI),
                       facts.describe_groups(), construction)
    construction = Construction("rotation / flip-flop cascade", None, None,
                                "every subgroup is solvable, so by Krohn-Rhodes the monoid divides a cascade "
                                "of flip-flops and Z_p counters, each a diagonal layer (rotations by 2*pi/p, "
                                f"resets); depth not computed here; {exact}")
    return Verdict("diag-complex", "constructible", "derived", hypotheses, (KROHN_RHODES, MERRILL),
                   facts.describe_groups(), construction)


def _group_householder_layer(facts: _Facts, group: FiniteGroup) -> tuple[Construction, int, int]:
    """The cheapest one-layer DeltaProduct found for a group language: its letters as permutation
    matrices in a faithful action (each a product of degree - #cycles reflections across
    e_i - e_j). Candidates: the DFA's own action, with a one-hot state vector, and faithful
    actions on cosets of large core-free subgroups, whose state is the whole permutation matrix."""
    letters = facts.monoid.right[0]
    letter_perms = facts.monoid.transformations[letters].astype(np.int64)
    n = facts.monoid.n_states
    best = (max(1, int(_transpositions(letter_perms).max(initial=0))), n, n, "the minimal DFA's states")
    letter_indices = group.index(letter_perms)
    for mask in group.large_core_free_subgroups():
        degree = group.order // int(mask.sum())
        perms = group.coset_action(mask, letter_indices)
        candidate = (max(1, int(_transpositions(perms).max(initial=0))), degree * degree, degree,
                     f"the cosets of a core-free subgroup of order {int(mask.sum())}")
        best = min(best, candidate, key=lambda c: (c[0], c[1]))
    n_h, state_size, degree, points = best
    construction = Construction("Householder permutation layer", 1, state_size,
                                f"each letter is a permutation of {degree} points ({points}), written as a product "
                                f"of at most {n_h} reflections I - (e_i - e_j)(e_i - e_j)^T (beta = 1 on the "
                                f"unnormalised key, i.e. beta = 2 on the unit key); integer arithmetic, exact",
                                n_h=n_h)
    return construction, n_h, degree


def _deltaproduct(facts: _Facts) -> Verdict:
    hypotheses = (FINITE_PRECISION, FIXED_DEPTH, STACKING, SOLVED, ARCHITECTURES["deltaproduct"])
    group = facts.whole_group
    if group is not None:
        construction, n_h, degree = _group_householder_layer(facts, group)
        published = n_h == max(1, degree - 1)
        note = (f"the syntactic monoid is a group of order {group.order} acting faithfully on {degree} points; "
                f"Siems et al. 2025 solve S_{degree} in one layer with n_h = {degree - 1}")
        if not published:
            note += f"; every letter here needs at most {n_h} transpositions, so n_h = {n_h} suffices (our refinement)"
        return Verdict("deltaproduct", "constructible", "theorem" if published else "derived", hypotheses,
                       (SIEMS, GRAZZI), note, construction)
    construction = Construction("Householder cascade", None, None,
                                "finitely many layers, each with products of generalized Householder matrices "
                                "(beta in [0,2]), following a Krohn-Rhodes cascade; depth and n_h not computed here")
    return Verdict("deltaproduct", "constructible", "theorem", hypotheses, (GRAZZI, SIEMS),
                   "every regular language is recognised with finitely many layers whose transition matrices "
                   "are products of generalized Householder matrices with eigenvalues in [-1,1] (Grazzi et al. "
                   "2025); the number of layers is not bounded by that result", construction)


def _dense_lrnn(facts: _Facts) -> Verdict:
    n = facts.dfa.n_states
    hypotheses = (FINITE_PRECISION, SOLVED, ARCHITECTURES["dense-lrnn"])
    construction = Construction("one-hot DFA simulation", 1, n,
                                f"state = one-hot vector of the {n} minimal-DFA states, transition matrix of "
                                f"each letter = its 0/1 transition matrix; integer arithmetic, exact")
    return Verdict("dense-lrnn", "constructible", "derived", hypotheses, (MERRILL,),
                   "folklore: input-dependent dense transitions represent the transition monoid directly "
                   "(Merrill et al. 2024 propose such transitions for state tracking)", construction)


def _nonlinear_rnn(facts: _Facts) -> Verdict:
    n, k = facts.dfa.n_states, facts.dfa.n_symbols
    hypotheses = (SOLVED, ARCHITECTURES["nonlinear-rnn"],
                  "threshold/ReLU units, or LSTM/GRU gates driven into saturation (exact only where the "
                  "float format saturates the sigmoid)")
    construction = Construction("one-hot (state, symbol) units", 1, n * k,
                                f"one unit per (state, symbol) pair ({n} x {k}), active when that transition "
                                f"was just taken; threshold logic, exact")
    return Verdict("nonlinear-rnn", "constructible", "theorem", hypotheses, (MINSKY, PETROV),
                   "every finite automaton is simulated by a recurrent network of threshold units",
                   construction)


RULES = dict(zip(ARCHITECTURES, (_diag_01, _diag_neg, _diag_complex, _deltaproduct, _dense_lrnn, _nonlinear_rnn),
                 strict=True))  # in the order of ARCHITECTURES, the one list of the classifier's classes


def _classification(minimal: DFA, labels: np.ndarray | None, max_elements: int | None,
                    only: tuple[str, ...] | None) -> Classification:
    """The verdicts (for the classes in ``only``, all when None) read from the transition monoid of
    ``minimal`` and the unary counters of its labels (of its acceptance when ``labels`` is None)."""
    monoid = transition_monoid(minimal, max_elements)
    green = green_structure(monoid)
    subgroups = green.maximal_subgroups()
    facts = _Facts(minimal, monoid, green, subgroups, tuple(_summary(s, monoid) for s in subgroups),
                   unary_counting_witness(minimal, labels), labels is not None)
    return Classification(
        alphabet=minimal.alphabet, n_states=minimal.n_states, monoid_size=monoid.size,
        n_idempotents=int(monoid.idempotents.sum()), n_d_classes=int(green.d_class.max()) + 1,
        aperiodic=facts.aperiodic, monoid_is_group=facts.whole_group is not None, groups=facts.summaries,
        verdicts=tuple(rule(facts) for name, rule in RULES.items() if only is None or name in only))


def classify(dfa: DFA, max_elements: int | None = None, only: tuple[str, ...] | None = None) -> Classification:
    """Classify the language of ``dfa`` (minimised first) for every class, or for those in ``only``.
    Raises ``MonoidTooLarge`` when the syntactic monoid has more than ``max_elements`` elements (default: the
    limit ``automata.limits`` sets, ``--max-elements``). Every
    fact read is shared by the language and its complement (the syntactic monoid; unary counters of
    both), and so is every verdict."""
    return _classification(minimize(dfa), None, max_elements, only)


def classify_labelling(dfa: DFA, labels: np.ndarray, max_elements: int | None = None,
                       only: tuple[str, ...] | None = None) -> Classification:
    """Classify the labelling ``q -> labels[q]`` of a DFA that is minimal as a labelled automaton (every
    state reachable, no two states with the same labels after every suffix; ``ValueError`` otherwise).
    Its transition monoid is the labelling's syntactic monoid: each label value's syntactic monoid is a
    quotient of it, and it embeds in their product. Being aperiodic, or having only solvable subgroups or
    only 2-groups, is kept by both, and the unary counters of every label value and complement are read,
    so each verdict's status is the worst of the label values' languages' (impossible, then open, then
    constructible)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(dfa.reachable()) != dfa.n_states or len(np.unique(equivalence_classes(dfa, labels))) != dfa.n_states:
        raise ValueError("classify_labelling needs a DFA minimal as a labelled automaton")
    return _classification(dfa, labels, max_elements, only)
