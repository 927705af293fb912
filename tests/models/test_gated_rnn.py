from __future__ import annotations

import pytest
import torch
from torch import nn

from models.config import LayerConfig
from models.gated_rnn import GRURecurrence, LSTMRecurrence


@pytest.mark.parametrize("ours, theirs", [(LSTMRecurrence, nn.LSTM), (GRURecurrence, nn.GRU)])
def test_matches_torch_with_the_same_weights(ours, theirs):
    torch.manual_seed(0)
    rec = ours(5, LayerConfig(d_state=7)).double()
    ref = theirs(5, 7, batch_first=True).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(rec, name))
        rec.h0.normal_()
    x = torch.randn(3, 13, 5, dtype=torch.float64)
    h0 = rec.h0.expand(1, 3, 7).contiguous()
    expected = ref(x, (h0, torch.zeros_like(h0)) if theirs is nn.LSTM else h0)[0]
    torch.testing.assert_close(rec.states(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [LSTMRecurrence, GRURecurrence])
def test_gradients_reach_every_parameter(cls):
    rec = cls(4, LayerConfig(d_state=3))
    with torch.no_grad():
        rec.h0.normal_()
    rec(torch.randn(2, 5, 4)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rec.parameters())


def test_saturated_lstm_gates_are_exact_in_float32():
    rec = LSTMRecurrence(1, LayerConfig(d_state=1))
    with torch.no_grad():
        for p in rec.parameters():
            p.zero_()
        rec.bias_ih.copy_(torch.tensor([-1000.0, 1000.0, 0.0, 1000.0]))  # i = 0, f = 1, o = 1
        rec.c0.fill_(40.0)
    assert torch.equal(rec.states(torch.zeros(2, 100, 1)), torch.ones(2, 100, 1))


def _elman_tanh(d_model: int, hidden: int):
    from models.elman import ElmanRecurrence

    return ElmanRecurrence(d_model, LayerConfig(d_state=hidden, nonlinearity="tanh"))


@pytest.mark.parametrize("make", [lambda: LSTMRecurrence(3, LayerConfig(d_state=5)),
                                  lambda: GRURecurrence(3, LayerConfig(d_state=5)), lambda: _elman_tanh(3, 5)],
                         ids=["lstm", "gru", "elman-tanh"])
def test_fused_kernel_path_matches_the_pytorch_loop(make, monkeypatch):
    """With TRITON_INTERPRET=1 the layers run ``kernels.rnn``'s fused Triton kernel (as on CUDA); its
    states and every parameter's gradient (initial states included) agree with the PyTorch loop."""
    pytest.importorskip("triton", reason="triton is not installed: the fused kernel path needs it")
    from models.gated_rnn import fused_kernel_applies

    torch.manual_seed(1)
    rec = make()
    with torch.no_grad():
        rec.h0.normal_()
        if hasattr(rec, "c0"):
            rec.c0.normal_()
    x = torch.randn(2, 7, 3)
    results = []
    for interpret in ("0", "1"):
        monkeypatch.setenv("TRITON_INTERPRET", interpret)
        assert fused_kernel_applies(x, rec.d_state) == (interpret == "1")
        rec.zero_grad()
        states = rec.states(x)
        states.square().sum().backward()
        results.append((states.detach(), {n: p.grad.clone() for n, p in rec.named_parameters() if p.grad is not None}))
    (loop, loop_grads), (fused, fused_grads) = results
    torch.testing.assert_close(fused, loop, rtol=1e-5, atol=1e-6)
    names = {n for n, _ in rec.named_parameters() if not n.startswith("out.")}
    assert names <= set(fused_grads) and names <= set(loop_grads)
    for name in names:
        torch.testing.assert_close(fused_grads[name], loop_grads[name], rtol=1e-4, atol=1e-5)


def test_compiled_lstm_is_exact_on_the_fused_kernel(monkeypatch):
    """A compiled LSTM automaton (saturated gates) on the fused kernel path labels every position of
    random strings as its DFA does."""
    import numpy as np

    from automata.tasks import get_task
    from lsrl.constructions.select import compile_automaton

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    task = get_task("mod:3")
    compiled = compile_automaton(task.dfa, "lstm", task.labels)
    symbols = np.random.default_rng(0).integers(0, compiled.dfa.n_symbols, size=(3, 60))
    predicted = compiled.model.float().predict(torch.as_tensor(symbols)).numpy()
    assert (predicted == compiled.labels[compiled.dfa.trace_batch(symbols)]).all()


@pytest.mark.gpu
@pytest.mark.parametrize("make", [lambda: LSTMRecurrence(3, LayerConfig(d_state=64)),
                                  lambda: GRURecurrence(3, LayerConfig(d_state=64)), lambda: _elman_tanh(3, 64)],
                         ids=["lstm", "gru", "elman-tanh"])
def test_layers_on_cuda_run_the_fused_kernel_and_match_the_cpu_loop(make):
    """On a CUDA device the layers take the fused kernel; states and gradients agree with the CPU loop."""
    from models.gated_rnn import fused_kernel_applies

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    torch.manual_seed(2)
    rec = make()
    x = torch.randn(4, 300, 3)
    rec.zero_grad()
    cpu = rec.states(x)
    cpu.square().sum().backward()
    cpu_grads = {n: p.grad.clone() for n, p in rec.named_parameters() if p.grad is not None}
    gpu_rec = rec.cuda()
    gpu_rec.zero_grad()
    xg = x.cuda()
    assert fused_kernel_applies(xg, gpu_rec.d_state)
    gpu = gpu_rec.states(xg)
    gpu.square().sum().backward()
    torch.testing.assert_close(gpu.cpu(), cpu.detach(), rtol=1e-4, atol=1e-5)
    gpu_params = dict(gpu_rec.named_parameters())
    for name, grad in cpu_grads.items():
        torch.testing.assert_close(gpu_params[name].grad.cpu(), grad, rtol=1e-3, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("arch, task", [("lstm", "mod:3"), ("gru", "A:5"), ("lstm", "S:5")])
def test_compiled_gated_rnns_are_exact_on_cuda(arch, task):
    """Compiled gated-RNN automata on the GPU's fused kernel label every position as the DFA does."""
    import numpy as np

    from automata.tasks import get_task
    from lsrl.constructions.select import compile_automaton

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    t = get_task(task)
    compiled = compile_automaton(t.dfa, arch, t.labels)
    symbols = np.random.default_rng(0).integers(0, compiled.dfa.n_symbols, size=(8, 2000))
    predicted = compiled.model.float().cuda().predict(torch.as_tensor(symbols).cuda()).cpu().numpy()
    assert (predicted == compiled.labels[compiled.dfa.trace_batch(symbols)]).all()
