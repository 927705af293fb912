"""Nonlinear RNNs: our fused Elman/LSTM/GRU layers in each product precision (kernels.rnn.PRECISIONS) against cuDNN's
torch.nn.RNN/LSTM/GRU in float32 with and without TF32, at the same sizes, with the forward's relative errors against
cuDNN float32 and float64 references."""
from __future__ import annotations

from typing import Iterator

import torch

from bench.timing import Measurement, median_ms
from kernels.rnn import GATES, PRECISIONS, fused, naive_rnn, rnn_layer

BATCH, LENGTH = 16, 1024
HIDDENS = (256, 512)
MODULES = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CUDNN_TF32 = (False, True)


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


def _tuning(cell, hidden, log) -> Iterator[Measurement]:
    """The layouts the kernels timed on first use for this cell and size (fused.TUNED): one row per pass
    and precision, the chosen units per program and every candidate's time of one launch."""
    for (kind, key_cell, key_hidden, precision, rows, _), times in sorted(fused.TUNED.items()):
        if (key_cell, key_hidden) != (cell, hidden):
            continue
        best = min(times, key=lambda u: times[u])
        tried = ", ".join(f"{u} units x {-(-hidden // u)} programs {ms:.3f} ms" for u, ms in sorted(times.items()))
        log(f"{cell} H={hidden} {kind} {precision} rows={rows}: tuned {best} units ({tried})")
        yield _row(cell, hidden, f"ours {precision} layout ({kind}, {rows} rows)", "fwd" if kind == "fwd" else "bwd",
                   None, f"chosen {best} units; one launch: {tried}")


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
            yield from _tuning(cell, hidden, log)
