"""Nonlinear RNNs: our fused Elman/LSTM/GRU layers against cuDNN's torch.nn.RNN/LSTM/GRU at the same sizes.

Ours in each product precision (kernels.rnn.PRECISIONS) against cuDNN in float32 with and without
TF32; relative errors of the forward output against cuDNN float32 and float64 references go beside.
"""
from __future__ import annotations

from typing import Iterator

import torch

from bench.timing import Measurement, median_ms
from kernels.rnn import GATES, PRECISIONS, fused, naive_rnn, rnn_layer

BATCH, LENGTH = 16, 1024
HIDDENS = (256, 512)
MODULES = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CUDNN_TF32 = (False, True)
SWEEP_PRECISIONS = ("tf32", "bf16")
"""Precisions whose forward is also timed at every other power-of-two units per program, from the
narrowest product (16 columns) to twice the default."""
MAX_SLICE = 128 * 1024
"""Largest W_hh slice a swept forward layout may put in one program's shared memory."""


def _row(cell, hidden, impl, mode, ms, note=""):
    shape = {"B": BATCH, "T": LENGTH, "H": hidden, "input": hidden}
    flops = 2 * BATCH * LENGTH * 2 * hidden * GATES[cell] * hidden * (1 if mode == "fwd" else 3)
    rate = flops / ms / 1e9 if ms else None
    return Measurement(f"rnn_{cell}", impl, mode, shape, "float32", ms, rate, "TFLOP/s", note)


def _time(fn, mode, params):
    if mode == "fwd":
        with torch.no_grad():
            return median_ms(fn)
    grad = torch.randn_like(fn())

    def step():
        for p in params:
            p.grad = None
        fn().backward(grad)
    return median_ms(step)


def _rel_err(x, ref):
    return float((x.double() - ref.double()).norm() / ref.double().norm())


def _accuracy(cell, hidden, layer, x, weights, log) -> Iterator[Measurement]:
    """Forward relative errors, first 256 steps: ours (each precision) and cuDNN (fp32, tf32) against
    float64, and ours against cuDNN fp32."""
    short = x[:, :256].detach()
    wide = [w.detach().double() for w in weights]
    ref = naive_rnn(cell, short.double() @ wide[0].T + wide[2], wide[1], wide[3])[0]
    to_ref, to_cudnn = [], []
    with torch.no_grad():
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            peer = layer(short)[0]
        for precision in PRECISIONS:
            ours = rnn_layer(cell, short, *weights, precision=precision)[0]
            to_ref.append(f"ours {precision} {_rel_err(ours, ref):.2e}")
            to_cudnn.append(f"ours {precision} {_rel_err(ours, peer):.2e}")
        for tf32 in CUDNN_TF32:
            with torch.backends.cudnn.flags(enabled=True, allow_tf32=tf32):
                to_ref.append(f"cudnn{' tf32' if tf32 else ''} {_rel_err(layer(short)[0], ref):.2e}")
    for against, notes in (("float64 reference", to_ref), ("cuDNN fp32", to_cudnn)):
        log(f"{cell} H={hidden} rel. error vs {against} (T=256): {', '.join(notes)}")
        yield _row(cell, hidden, f"rel. error vs {against} (first 256 steps)", "fwd", None, ", ".join(notes))


def _ours(cell, hidden, x, weights, params, log) -> Iterator[Measurement]:
    for mode in ("fwd", "fwd+bwd"):
        for precision in PRECISIONS:
            impl = "ours" if precision == "ieee" else f"ours {precision}"
            try:
                ms = _time(lambda: rnn_layer(cell, x, *weights, precision=precision)[0], mode, params)
                yield _row(cell, hidden, impl, mode, ms, f"{precision} products")
                log(f"{cell} H={hidden} {impl} {mode} {ms:.3f} ms")
            except Exception as err:  # noqa: BLE001 - recorded, not fatal
                yield _row(cell, hidden, impl, mode, None, f"failed: {type(err).__name__}: {err}"[:300])
                log(f"{cell} H={hidden} {impl} {mode} failed: {err}"[:300])


def _sweep(cell, hidden, x, weights, log) -> Iterator[Measurement]:
    """Forward (projection GEMM + recurrence, no saved activations) at other units per program."""
    w_ih, w_hh, b_ih, b_hh = (w.detach() for w in weights)
    zeros = x.new_zeros(BATCH, hidden)
    gp = 1 if cell == "elman" else 4
    for precision in SWEEP_PRECISIONS:
        hp, hb, _, _ = fused.forward_layout(cell, hidden, precision, x.device)
        size = 2 if precision == "bf16" else 4
        narrowest = max(16 // gp, 1)
        for units in (narrowest << i for i in range((2 * hb // narrowest).bit_length())):
            if units == hb:
                continue
            sms = torch.cuda.get_device_properties(x.device).multi_processor_count
            if units > hp or hp * gp * units * size > MAX_SLICE or -(-hidden // units) > sms:
                continue
            programs = -(-hidden // units)
            fn = lambda: fused._run_forward(cell, x.detach() @ w_ih.T + b_ih, w_hh, b_hh, zeros, zeros,  # noqa: E731
                                            precision, False, units)
            impl = f"ours {precision}, {units} units x {programs} programs"
            try:
                ms = median_ms(fn)
                yield _row(cell, hidden, impl, "fwd", ms, f"default {hb} units")
                log(f"{cell} H={hidden} {impl} fwd {ms:.3f} ms")
            except Exception as err:  # noqa: BLE001 - recorded, not fatal
                yield _row(cell, hidden, impl, "fwd", None, f"failed: {type(err).__name__}: {err}"[:300])
                log(f"{cell} H={hidden} {impl} fwd failed: {err}"[:300])


def run(log) -> Iterator[Measurement]:
    for hidden in HIDDENS:
        for cell, module in MODULES.items():
            torch.manual_seed(0)
            layer = module(hidden, hidden, batch_first=True).cuda()
            x = torch.randn(BATCH, LENGTH, hidden, device="cuda", requires_grad=True)
            params = [x, *layer.parameters()]
            weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
            yield from _ours(cell, hidden, x, weights, params, log)
            for mode in ("fwd", "fwd+bwd"):
                for tf32 in CUDNN_TF32:
                    with torch.backends.cudnn.flags(enabled=True, allow_tf32=tf32):
                        ms = _time(lambda: layer(x)[0], mode, params)
                    impl = "cudnn" + (" tf32" if tf32 else "")
                    yield _row(cell, hidden, impl, mode, ms, "allow_tf32=" + str(tf32))
                    log(f"{cell} H={hidden} {impl} {mode} {ms:.3f} ms")
            yield from _accuracy(cell, hidden, layer, x, weights, log)
            yield from _sweep(cell, hidden, x, weights, log)
