"""Interval certificates for holonomy cascades with reset traces: they certify in float32, round-trip through
JSON and verify; a corrupted weight fails naming the box, symbol, layer and coordinate; the rounding model
bounds torch's float32 arithmetic; and float32 runs of the model on random strings stay inside the boxes
of the nodes they pass through (the soundness the certificate claims, checked on the real model)."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.tasks import get_task
from lsrl.constructions.select import compile_automaton
from proofs.certificate_kinds import certify, verify
from proofs.document import CertificateError
from proofs.interval import ROUNDINGS, Intervals, Weight, affine, sum_of_products
from proofs.interval_certificate import IntervalCertificate, IntervalCertificateError, _grow, explore
from proofs.interval_model import IntervalModel
from proofs.rational import to_rational

CHEAP = [("no-aa", "diag-01"), ("tomita:2", "rotation"), ("flipflop", "rotation"), ("ab-star", "diag-neg")]


def _compiled(task: str, arch: str):
    t = get_task(task)
    return compile_automaton(t.dfa, arch, t.labels)


def _certificate(task: str, arch: str):
    compiled = _compiled(task, arch)
    cert = certify(compiled.model, compiled.dfa, compiled.labels)
    assert isinstance(cert, IntervalCertificate)
    return compiled, cert


@pytest.mark.parametrize("task, arch", CHEAP)
def test_reset_trace_cascade_certifies_in_float32_and_verifies(task, arch):
    compiled, cert = _certificate(task, arch)
    document = json.loads(json.dumps(cert.to_json(compiled.dfa, compiled.labels)))
    assert document["kind"] == "interval" and document["float_safety"]["rounding"] in ("float32", "bfloat16")
    summary = verify(compiled.model, document)
    assert summary["configurations"] == len(cert.boxes) >= compiled.dfa.n_states
    assert "float32" in summary["sound_in"] and Fraction(summary["margin"]) > 0


def test_bfloat16_is_listed_only_with_bfloat16_weights():
    compiled, cert = _certificate("no-aa", "diag-01")
    assert "bfloat16" not in cert.float_dtypes
    assert cert.not_float["bfloat16"] == "the weights are not bfloat16 numbers"


def test_corrupted_reset_gate_fails_naming_the_box_and_coordinate():
    compiled, cert = _certificate("no-aa", "diag-01")
    document = cert.to_json(compiled.dfa, compiled.labels)
    rec = compiled.model.blocks[0].recurrence
    with torch.no_grad():
        rec.to_a.weight[rec.to_a.weight != 0] = -0.5  # reset gate 1/8 -> 1/2: the traces outgrow the boxes
    with pytest.raises(CertificateError, match=r"\(b\) box \d+ \(DFA state '[^']+'\) reading '[ab]': the step leaves "
                                               r"box \d+: layer 0, coordinate \d"):
        verify(compiled.model, document)


def test_corrupted_readout_fails_the_margin():
    compiled, cert = _certificate("no-aa", "diag-01")
    document = cert.to_json(compiled.dfa, compiled.labels)
    with torch.no_grad():
        compiled.model.readout.bias[0] += 2.0
    with pytest.raises(CertificateError, match=r"\(c\) box \d+ .* does not pick label 1"):
        verify(compiled.model, document)


FLOAT32 = st.builds(lambda m, e: m * 2.0 ** e, st.integers(-2 ** 24, 2 ** 24), st.integers(-40, 0))  # on the grid


def _inside(box: Intervals, values) -> np.ndarray:
    lo, hi = box.fractions()
    return np.asarray([a <= Fraction(float(v)) <= b for a, b, v in zip(lo, hi, values)], dtype=bool)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.lists(FLOAT32, min_size=n, max_size=n),
                                                      st.lists(FLOAT32, min_size=n, max_size=n), FLOAT32)))
def test_affine_bound_contains_torch_float32_linear(case):
    """torch's float32 Linear (whatever order its kernel sums in) lies inside ``affine``'s float32 bound."""
    w, x, b = case
    weight, bias = torch.tensor([w], dtype=torch.float32), torch.tensor([b], dtype=torch.float32)
    got = torch.nn.functional.linear(torch.tensor([x], dtype=torch.float32), weight, bias)
    bound = affine(Weight.of(to_rational(weight)), Intervals.point(to_rational(torch.tensor(x)).tolist()),
                   Weight.of(to_rational(bias.reshape(1, 1))), ROUNDINGS["float32"]).value()
    assert _inside(bound, got[0].tolist()).all()


SPARSE = st.one_of(st.just(0.0), FLOAT32)  # weights with zero columns (affine skips them)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda c: st.tuples(
    st.lists(st.lists(SPARSE, min_size=c, max_size=c), min_size=1, max_size=5),
    st.lists(st.tuples(FLOAT32, FLOAT32), min_size=c, max_size=c))))
def test_affine_exact_bounds_are_the_box_extremes(case):
    """Over a box, exact ``affine`` gives each row's least and greatest value, rounded out onto the grid."""
    rows, ends = case
    lo, hi = [min(a, b) for a, b in ends], [max(a, b) for a, b in ends]
    weight = Weight.of(to_rational(torch.tensor(rows, dtype=torch.float64)))
    got = affine(weight, Intervals.from_fractions(lo, hi), None, ROUNDINGS["exact"]).value()
    want_lo = [sum(min(Fraction(w) * Fraction(a), Fraction(w) * Fraction(b)) for w, a, b in zip(row, lo, hi))
               for row in rows]
    want_hi = [sum(max(Fraction(w) * Fraction(a), Fraction(w) * Fraction(b)) for w, a, b in zip(row, lo, hi))
               for row in rows]
    assert got == Intervals.from_fractions(want_lo, want_hi)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(FLOAT32, FLOAT32, FLOAT32), min_size=1, max_size=6), st.integers(0, 3), st.booleans())
def test_a_growing_box_contains_both_boxes_and_jumps_only_where_growth_halves(ends, shrink, remember):
    """``_grow``: the new box holds the old one and the reached one; an endpoint whose growth is at most half
    its previous growth moves by its growth once more (the tail of a contracting series), no other does; the
    growth it returns is the endpoint's own, or (``remember``) its previous one where it did not grow."""
    lo = [min(e) for e in ends]
    old = Intervals.from_fractions(lo, [sorted(e)[1] for e in ends])
    reached = Intervals.from_fractions([v - abs(v) / 2 for v in lo], [max(e) for e in ends])
    first, growth = _grow((old,), (reached,), None, remember)
    assert first[0] == old.hull(reached)
    previous = Intervals(growth.lo * 2 ** shrink + 1, growth.hi * 2 ** shrink + 1)
    grown, last = _grow((old,), (reached,), previous, remember)
    jump = [g if 0 < g and 2 * g <= p else 0 for g, p in zip(growth.lo.tolist(), previous.lo.tolist())], \
        [g if 0 < g and 2 * g <= p else 0 for g, p in zip(growth.hi.tolist(), previous.hi.tolist())]
    assert grown[0] == old.hull(reached).widen(np.asarray(jump[0], dtype=object), np.asarray(jump[1], dtype=object))
    for got, own, before in ((last.lo, growth.lo, previous.lo), (last.hi, growth.hi, previous.hi)):
        assert got.tolist() == [g or (p if remember else 0) for g, p in zip(own.tolist(), before.tolist())]


@settings(max_examples=60, deadline=None)
@given(st.lists(FLOAT32, min_size=3, max_size=3))
def test_sum_of_products_contains_float32_gate_times_state_plus_input(values):
    a, h, b = (torch.tensor(v, dtype=torch.float32) for v in values)
    got = (a * h + b).item()
    pieces = [Intervals.point([Fraction(v.item())]) for v in (a, h, b)]
    bound = sum_of_products([(pieces[0], pieces[1]), (Intervals.point([1]), pieces[2])], ROUNDINGS["float32"]).value()
    assert _inside(bound, [got]).all()


def _layer_states(model, symbols: torch.Tensor) -> list[np.ndarray]:
    """Every layer's recurrent state after every position of the float32 model, (B, T, d_state) each."""
    states = []
    with torch.no_grad():
        x = model.embedding(symbols)
        for block in model.blocks:
            states.append(block.recurrence.states(x).numpy())
            x = block(x)
    return states


CERTIFIED = {pair: None for pair in [("tomita:4", "diag-neg"), ("no-aa", "rotation"), ("ends-with:ab", "diag-01")]}


def _cached(task: str, arch: str):
    if CERTIFIED[task, arch] is None:
        CERTIFIED[task, arch] = _certificate(task, arch)
    return CERTIFIED[task, arch]


def _assert_inside_boxes(compiled, cert: IntervalCertificate, word: list[int]) -> None:
    states = _layer_states(compiled.model, torch.tensor([word]))
    trace = compiled.dfa.trace_batch(np.asarray([word]))[0]
    node = 0
    for t, a in enumerate(word):
        node = cert.successors[node][a]
        assert cert.states[node] == trace[t]
        for layer, box in enumerate(cert.boxes[node]):
            inside = _inside(box, states[layer][0, t].tolist())
            assert inside.all(), f"position {t}, node {node}, layer {layer}, coordinates {np.flatnonzero(~inside)}"


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(list(CERTIFIED)), st.lists(st.integers(0, 1), min_size=1, max_size=300))
def test_float32_runs_stay_inside_the_certified_boxes(pair, word):
    """At every position the float32 state lies in the box of the node the successor table reaches."""
    _assert_inside_boxes(*_cached(*pair), word)


@pytest.mark.parametrize("pair", list(CERTIFIED))
def test_long_float32_runs_stay_inside_the_certified_boxes(pair):
    compiled, cert = _cached(*pair)
    for seed in range(2):
        _assert_inside_boxes(compiled, cert, np.random.default_rng(seed).integers(0, 2, size=4000).tolist())


def test_lsrl_compile_writes_an_interval_certificate_and_verify_names_a_corruption(tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    from lsrl.cli import main

    out = tmp_path / "noaa"
    assert main(["compile", "task:no-aa", "--arch", "diag-01", "-o", str(out)]) == 0
    assert "interval certificate" in capsys.readouterr().out
    document = json.loads((out / "certificate.json").read_text())
    assert document["kind"] == "interval" and "float32" in document["float_safety"]["sound_in"]
    assert main(["verify", str(out)]) == 0
    assert "sound in float32" in capsys.readouterr().out
    path = next(out.glob("*.safetensors"))
    tensors = load_file(path)
    weight = tensors["blocks.1.recurrence.to_a.weight"]
    weight[weight != 0] = -0.5
    save_file(tensors, path)
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lsrl verify: error: (b) box" in err and "layer 1, coordinate" in err and "Traceback" not in err


@pytest.mark.parametrize("rounding", ["exact", "float32"])
def test_exploration_stops_at_the_first_readout_that_misses_its_label(rounding):
    # boxes only grow and the step is monotone: a negative margin during exploration is a failed check (c)
    task = get_task("contains:aba")
    compiled = compile_automaton(task.dfa, "diag-01", task.labels)
    model = IntervalModel(compiled.model)
    explore(model, compiled.dfa, compiled.labels, ROUNDINGS[rounding], 1000)
    with pytest.raises(IntervalCertificateError, match="readout does not pick label") as failed:
        explore(model, compiled.dfa, 1 - compiled.labels, ROUNDINGS[rounding], 1000)
    assert failed.value.check == "c"
