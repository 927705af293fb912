"""Multi-layer simulations of any DFA along its holonomy cascade, one recurrent layer per level: DeltaProduct
(exact) and the diagonal classes (reset traces, counter-free DFAs). Proof: docs/constructions.md#reset-cascades
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.holonomy import HOLONOMY, Action, Holonomy
from lsrl.constructions.householder import Factor, _haar_keys, transpositions
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, Subspace, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models import registry
from models.config import LayerConfig, ModelConfig
from models.origin import ConstructionOrigin
from models.stack import MLP, RecurrentModel

REFERENCES = (HOLONOMY + "; Grazzi et al. 2025, 'Unlocking State-Tracking in Linear RNNs Through Negative "
              "Eigenvalues' (Thm: every regular language with finitely many Householder-product layers); "
              "Siems et al. 2025 (DeltaProduct); Sarrof, Veitsman, Hahn 2024 (star-free languages with "
              "non-negative diagonal gates)")
MAX_KEY = 2 ** 24
# the diagonal cascades keep the stale values of skipped levels (fewer resets: the models earlier versions built)
# up to this many configurations, and reset them beyond (configurations: the chains, about the monoid's size)
STALE_CONFIGURATIONS = 64

Config = tuple[tuple[int, int], ...]  # per level: (current value c, value before the last reset p)


@dataclass(frozen=True)
class Table:
    """The delayed cascade's reachable behaviour: level sizes, the start configuration, and for each
    reachable (configuration, letter) the next configuration, the level actions and the DFA state."""

    sizes: tuple[int, ...]
    start: Config
    steps: dict[tuple[Config, int], tuple[Config, tuple[Action, ...]]]
    state_of: dict[Config, int]


def cascade_table(dfa: DFA, delayed: bool = True) -> Table:
    """Breadth-first search over the configurations of the holonomy cascade with delay slots (a reset
    moves the old value into p; other actions leave p alone). Not ``delayed`` (the diagonal cascades, whose
    layers read the value before a reset only at the step of the reset): p is that value at a reset and -1
    otherwise, and not part of the configuration. Levels the chain skips keep stale values, unless (not
    ``delayed``) these make more than ``STALE_CONFIGURATIONS`` configurations: then the levels the chain leaves
    reset to 0 (``Holonomy.step``'s ``canonical``), and the configurations are the chains alone."""
    holonomy = Holonomy(dfa)
    if holonomy.top == 0:
        raise NotImplementedConstruction("cascade", "a one-state automaton has no cascade levels")
    if delayed:
        return _search(holonomy, True, False, None)
    return _search(holonomy, False, False, STALE_CONFIGURATIONS) or _search(holonomy, False, True, None)


def _search(holonomy: Holonomy, delayed: bool, canonical: bool, limit: int | None) -> Table | None:
    """``cascade_table``'s search; None once it finds more than ``limit`` configurations."""
    dfa = holonomy.dfa
    coords = holonomy.encode(dfa.start)
    start = tuple((c, c if delayed else -1) for c in coords)
    steps, state_of = {}, {start: dfa.start}
    queue = deque([start])
    while queue:
        config = queue.popleft()
        for a in range(dfa.n_symbols):
            new, actions = holonomy.step(tuple(c for c, _ in config), a, canonical)
            nxt = tuple((c, old if action.kind == "constant" else p if delayed else -1)
                        for c, (old, p), action in zip(new, config, actions))
            steps[config, a] = (nxt, actions)
            state = holonomy.decode(new)
            if state != dfa.delta[state_of[config], a]:
                raise AssertionError("the holonomy cascade disagrees with the DFA")
            reached = nxt if delayed else tuple((c, -1) for c in new)
            if reached not in state_of:
                if limit is not None and len(state_of) >= limit:
                    return None
                state_of[reached] = state
                queue.append(reached)
    return Table(tuple(holonomy.sizes), start, steps, state_of)


def _lookup(pairs: list[tuple[tuple, object]]) -> dict[tuple, object]:
    """A dict from key to value, AssertionError if one key meets two values (not a function)."""
    table: dict[tuple, object] = {}
    for key, value in pairs:
        if table.setdefault(key, value) != value:
            raise AssertionError(f"cascade lookup is not a function of what the layer reads: {key}")
    return table


def _is_identity(action: Action) -> bool:
    return action.image == tuple(range(len(action.image)))


# -- DeltaProduct -------------------------------------------------------------------------------


def _level_factors(action: Action, m: int, delayed: bool) -> list[Factor]:
    """Householder factors on the (c | p) one-hot of one level (docs/constructions.md#reset-cascades)."""
    width = 2 * m if delayed else m
    unit = np.eye(width)
    if _is_identity(action):
        return []
    if action.kind == "permutation":
        return [Factor(tuple(unit[i] - unit[j]), 1.0, (0.0,)) for i, j in transpositions(np.asarray(action.image))]
    target = action.image[0]
    # a reset first swaps the blocks, keeping the value before it in p, then overwrites c with e_target
    factors = [Factor(tuple(unit[i] - unit[m + i]), 1.0, (0.0,)) for i in range(m)] if delayed else []
    if m & (m - 1) == 0:
        for key in _haar_keys(m):
            padded = np.zeros(width)
            padded[:m] = key
            factors.append(Factor(tuple(padded), 1.0 / float(key @ key), (float(key[target]),)))
    else:
        factors += [Factor(tuple(unit[i]), 1.0, (float(i == target),)) for i in range(m)]
    return factors


def _z(config: Config, sizes: tuple[int, ...], level: int) -> int:
    """The integer a layer outputs for its level: c + m p (the last level, which no layer reads, keeps no p)."""
    c, p = config[level]
    return c + sizes[level] * p if level < len(sizes) - 1 else c


def _radices(sizes: tuple[int, ...], n_symbols: int) -> list[int]:
    """Weights of the letter index and of each level's integer z in the mixed-radix key."""
    weights, w = [], n_symbols
    for level, m in enumerate(sizes):
        weights.append(w)
        w *= m * m if level < len(sizes) - 1 else m
    if w > MAX_KEY:
        raise NotImplementedConstruction("deltaproduct", f"the cascade's lookup key reaches {w} >= 2^24, beyond "
                                                         f"exact float32 integers")
    return weights


def deltaproduct_cascade(dfa: DFA, labels: np.ndarray | None = None, n_h: int | None = None) -> CompiledAutomaton:
    """A stack of DeltaProduct layers (beta in [0, 2]), one per holonomy level, computing
    ``labels[state]`` after every prefix, exactly (docs/constructions.md#reset-cascades); ``n_h`` pads every layer."""
    labels, n_labels = resolve_labels(dfa, labels)
    table = cascade_table(dfa)
    sizes, k, depth = table.sizes, dfa.n_symbols, len(table.sizes)
    weights = _radices(sizes, k)
    # the actions of each level keyed by (letter, z of the levels above), after the step
    keyed = [_lookup([((a, *(_z(nxt, sizes, j) for j in range(d))), actions[d])
                      for (_, a), (nxt, actions) in table.steps.items()]) for d in range(depth)]
    states = _lookup([(tuple(_z(c, sizes, j) for j in range(depth)), q) for c, q in table.state_of.items()])
    actions = [sorted({action for action in level.values() if not _is_identity(action)}, key=lambda x: x.image)
               for level in keyed]
    factors = [[_level_factors(action, m, d < depth - 1) for action in acts]
               for d, (m, acts) in enumerate(zip(sizes, actions))]
    needs = [max([1] + [len(f) for f in level]) for level in factors]
    if n_h is not None and n_h < max(needs):
        raise NotImplementedConstruction("deltaproduct", f"n_h = {n_h} is too few: the holonomy cascade needs "
                                                         f"n_h = {max(needs)}")
    layout = Layout()
    symbols = layout.add("symbol", k)
    act = [symbols] + [layout.add(f"action{d}", max(1, len(actions[d]))) for d in range(1, depth)]
    z = [layout.add(f"z{d}", 1) for d in range(depth)]
    state = layout.add("state", dfa.n_states)
    units = [[key for key, action in keyed[d + 1].items() if not _is_identity(action)] for d in range(depth - 1)]
    units.append(list(states))
    layers = tuple(LayerConfig(d_state=(2 * m if d < depth - 1 else m), d_value=1, n_h=n_h or needs[d],
                               gate_range=registry.get("deltaproduct").gate_range, mlp_hidden=3 * len(units[d]))
                   for d, m in enumerate(sizes))
    config = ModelConfig("deltaproduct", k, n_labels, layout.width, layers, exact=True,
                         origin=ConstructionOrigin("householder-holonomy-cascade", level_sizes=tuple(sizes)))
    model = RecurrentModel(config)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        for d, block in enumerate(model.blocks):
            for param in block.parameters():
                param.zero_()
            m = sizes[d]
            rec = block.recurrence
            width = rec.d_key
            for a_index, fs in enumerate(factors[d]):
                column = ([symbols.start + a for a in _letters_with(keyed[0], actions[0][a_index], k)]
                          if d == 0 else [act[d].start + a_index])
                for j, f in enumerate(fs):
                    for col in column:
                        rec.to_k.weight[j * width:(j + 1) * width, col] = torch.tensor(f.key)
                        rec.to_v.weight[j, col] = f.value[0]
                        rec.to_beta.weight[j, col] = f.beta
            query = np.arange(m, dtype=float)  # reads z = c + m p from the one-hots of c and p
            rec.to_q.bias.copy_(torch.tensor(np.concatenate([query, m * query]) if width == 2 * m else query))
            start = table.start[d][0]
            rec.s0[start, 0] = 1.0
            if width == 2 * m:  # before any reset p is the start value, as in cascade_table
                rec.s0[m + start, 0] = 1.0
            rec.out.weight[z[d].start, 0] = 1.0
            if d < depth - 1 and units[d]:
                targets = [act[d + 1].start + actions[d + 1].index(keyed[d + 1][key]) for key in units[d]]
                codes = [key[0] + sum(weights[j] * v for j, v in enumerate(key[1:])) for key in units[d]]
                _tents(block.mlp, symbols, z[:d + 1], weights, codes, targets, with_letter=True)
            elif d == depth - 1:
                targets = [state.start + states[key] for key in units[d]]
                codes = [sum(weights[j] * v for j, v in enumerate(key)) for key in units[d]]
                _tents(block.mlp, symbols, z, weights, codes, targets, with_letter=False)
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, config.origin.construction, REFERENCES)


def _letters_with(top: dict[tuple, Action], action: Action, k: int) -> list[int]:
    """The letters whose top-level action is ``action`` (the top level reads the letter alone)."""
    return [a for a in range(k) if top.get((a,)) == action]


def _tents(mlp: MLP, symbols: Subspace, zs: list[Subspace], weights: list[int], codes: list[int],
           targets: list[int], with_letter: bool) -> None:
    """Hidden triple u: relu(K - K_u + 1), relu(K - K_u), relu(K - K_u - 1) with K the mixed-radix key;
    adds the tent (1 at K = K_u, 0 at every other integer) to coordinate ``targets[u]``."""
    for u, (code, target) in enumerate(zip(codes, targets)):
        for r, shift in enumerate((1.0, 0.0, -1.0)):
            row = 3 * u + r
            if with_letter:
                mlp.up.weight[row, symbols.slice] = torch.arange(symbols.size, dtype=torch.float32)
            for w, space in zip(weights, zs):
                mlp.up.weight[row, space.start] = float(w)
            mlp.up.bias[row] = shift - code
            mlp.down.weight[target, row] = (1.0, -2.0, 1.0)[r]


# -- diagonal (counter-free DFAs) ----------------------------------------------------------------

@dataclass(frozen=True)
class Margins:
    """The reset gate lambda = 2^-k, the weight W of exact terms and the per-unit score constants for
    scores with at most ``approx`` approximate terms (docs/constructions.md#reset-cascades, Looking the actions up)."""

    lam: float
    weight: float

    @classmethod
    def for_terms(cls, approx: int) -> Margins:
        k = max(2, int(np.ceil(np.log2(2 * approx + 1))))
        lam = 2.0 ** -k
        high = 1 / (lam * (1 - lam))  # largest value of an approximate term when an exact term mismatches
        return cls(lam, float(2 ** int(np.ceil(np.log2(approx * high + approx + 1)))))

    def gap(self, approx: int) -> float:
        """Least full-match score minus largest score with one approximate mismatch (>= 1/2)."""
        return approx - (approx - 1 + self.lam) / (1 - self.lam) if approx else 1.0


def _diagonal_keys(table: Table, depth: int) -> tuple[list[dict[tuple, Action]], dict[tuple, int]]:
    """Level d's action keyed by (letter, per level above: (value, value before the reset or -1 if it
    did not reset)); the state keyed by every level's value."""
    keyed = []
    for d in range(depth):
        pairs = []
        for (_, a), (nxt, actions) in table.steps.items():
            if any(act.kind == "permutation" and not _is_identity(act) for act in actions):
                raise NotImplementedConstruction("cascade", "a holonomy level permutes its values (the DFA is not "
                                                            "counter-free); diagonal cascades here only reset")
            above = tuple((nxt[j][0], nxt[j][1] if actions[j].kind == "constant" else -1) for j in range(d))
            pairs.append(((a, *above), actions[d]))
        keyed.append(_lookup(pairs))
    states = _lookup([(tuple(c for c, _ in config), q) for config, q in table.state_of.items()])
    return keyed, states


def diagonal_cascade(dfa: DFA, labels: np.ndarray | None, arch: str) -> CompiledAutomaton:
    """A stack of diagonal layers (gates in {lambda, 1}), one per holonomy level of a counter-free DFA,
    computing ``labels[state]`` after every prefix; decisions exact, channel values not
    (docs/constructions.md#reset-cascades)."""
    labels, n_labels = resolve_labels(dfa, labels)
    table = cascade_table(dfa, delayed=False)
    sizes, k, depth = table.sizes, dfa.n_symbols, len(table.sizes)
    keyed, states = _diagonal_keys(table, depth)
    margins = Margins.for_terms(depth)
    spec = registry.get(arch)
    family, gate_range = spec.family, spec.gate_range or (-1.0, 1.0)  # rotation: the real parts' range
    complex_channels = family == "rotation"
    resets = [sorted({action.image[0] for action in level.values() if action.kind == "constant"}) for level in keyed]
    layout = Layout()
    symbols = layout.add("symbol", k)
    act = [symbols] + [layout.add(f"reset{d}", max(1, len(resets[d]))) for d in range(1, depth)]
    h = [layout.add(f"level{d}", m) for d, m in enumerate(sizes)]
    state = layout.add("state", dfa.n_states)
    units = [[key for key, action in keyed[d + 1].items() if action.kind == "constant"] for d in range(depth - 1)]
    units.append(list(states))
    layers = tuple(LayerConfig(d_state=m * (2 if complex_channels else 1), gate_range=gate_range,
                               mlp_hidden=2 * len(units[d])) for d, m in enumerate(sizes))
    config = ModelConfig(family, k, n_labels, layout.width, layers, exact=True,
                         origin=ConstructionOrigin(f"{arch}-holonomy-cascade", level_sizes=tuple(sizes),
                                                   reset_gate=margins.lam, exact_values=False))
    model = RecurrentModel(config)
    wiring = _Wiring(symbols, tuple(act), tuple(h), tuple(keyed), tuple(tuple(r) for r in resets), margins)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        for d, block in enumerate(model.blocks):
            for param in block.parameters():
                param.zero_()
            m, rec = sizes[d], block.recurrence
            rec.to_a.bias[:m] = 1.0
            for r_index, r in enumerate(resets[d]):
                columns = ([symbols.start + a for a in range(k) if keyed[0][(a,)].kind == "constant"
                            and keyed[0][(a,)].image[0] == r] if d == 0 else [act[d].start + r_index])
                for col in columns:  # gate 1 + (lambda - 1): h = e_r + lambda h_before keeps the value before
                    rec.to_a.weight[:m, col] = margins.lam - 1.0
                    rec.to_b.weight[r, col] = 1.0
            rec.h0[table.start[d][0]] = 1.0
            rec.out.weight[h[d].slice, :m] = torch.eye(m)
            if d < depth - 1 and units[d]:
                targets = [act[d + 1].start + resets[d + 1].index(keyed[d + 1][key].image[0]) for key in units[d]]
                _clipped(block.mlp, units[d], targets, wiring, with_letter=True)
            elif d == depth - 1:
                targets = [state.start + states[key] for key in units[d]]
                plain = [(None, *((c, -1) for c in key)) for key in units[d]]
                _clipped(block.mlp, plain, targets, wiring, with_letter=False)
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, config.origin.construction, REFERENCES)


@dataclass(frozen=True)
class _Wiring:
    """What every detector MLP of a diagonal reset cascade reads: the letter's channels, each level's reset
    features (``act[0]`` is the letter) and value channels, each level's actions keyed by the levels above, the
    reset targets of each level, and the detector margins."""

    symbols: Subspace
    act: tuple[Subspace, ...]
    h: tuple[Subspace, ...]
    keyed: tuple[dict[tuple, Action], ...]
    resets: tuple[tuple[int, ...], ...]
    margins: Margins


def _clipped(mlp: MLP, keys: list[tuple], targets: list[int], wiring: _Wiring, with_letter: bool) -> None:
    """Unit u is the pair relu(s) - relu(s - 1) over the score of key u: W [letter] + per level above,
    if it reset to r: W [reset feature r] + (h_p - [p = r]) / lambda, else h_c (docs/constructions.md#reset-cascades)."""
    symbols, act, h, keyed, resets, margins = (wiring.symbols, wiring.act, wiring.h, wiring.keyed, wiring.resets,
                                               wiring.margins)
    lam, weight = margins.lam, margins.weight
    for u, (key, target) in enumerate(zip(keys, targets)):
        letter, levels = key[0], key[1:]
        row = torch.zeros(mlp.up.weight.shape[1], dtype=torch.float64)
        exact, approx, bias = 0, len(levels), 0.0
        if with_letter:
            row[symbols.start + letter] += weight
            exact += 1
        for j, (current, before) in enumerate(levels):
            if before < 0:
                row[h[j].start + current] += 1.0
                continue
            reset_to = keyed[j][key[:j + 1]].image[0]
            if j > 0:  # the top level's resets are a function of the letter, already an exact term
                row[act[j].start + resets[j].index(reset_to)] += weight
                exact += 1
            row[h[j].start + before] += 1.0 / lam  # the trace (h[before] - [before = r]) / lambda
            bias -= float(before == reset_to) / lam
        gap = margins.gap(approx)
        scale = 4.0 / gap  # s >= 2 at a full match, s <= -2 otherwise: rounding cannot unclip it
        threshold = weight * exact + approx - gap / 2
        for r, shift in enumerate((0.0, -1.0)):
            mlp.up.weight[2 * u + r] = (scale * row).to(mlp.up.weight.dtype)
            mlp.up.bias[2 * u + r] = scale * (bias - threshold) + shift
            mlp.down.weight[target, 2 * u + r] = 1.0 - 2.0 * r
