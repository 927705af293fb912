"""fla 0.6.0's layer equations (DeltaNet, GatedDeltaProduct, HGRN) written out step by step in PyTorch, without fla:
the reference an ``lsrl export`` stack is read with on the CPU, in any dtype (bench/fla_export.py --equations)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def _l2(x: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-6)  # fla/modules/norm/l2norm.py:36, eps 1e-6


def _rms(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * weight  # the layers' norm_eps 1e-5


def _delta_layer(w: dict[str, torch.Tensor], kw: dict[str, Any], x: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """fla's DeltaNet (use_short_conv off, qk_activation identity, qk_norm l2) and GatedDeltaProduct (SiLU on
    q, k, v; forget gate -exp(A_log) softplus(a + dt_bias)); beta = sigmoid(b) (times 2 with allow_neg_eigval)."""
    gdp = "num_householder" in kw
    heads, n_h = kw["num_heads"], kw.get("num_householder", 1)
    dk, dv = w["q_proj.weight"].shape[0] // heads, w["v_proj.weight"].shape[0] // (heads * n_h)
    q, k, v = x @ w["q_proj.weight"].T, x @ w["k_proj.weight"].T, F.silu(x @ w["v_proj.weight"].T)
    if gdp:
        q, k = F.silu(q), F.silu(k)
    q, k = _l2(q.view(-1, heads, dk)), _l2(k.view(-1, n_h, heads, dk))
    v = v.view(-1, n_h, heads, dv)
    beta = torch.sigmoid(x @ w["b_proj.weight"].T).view(-1, n_h, heads) * (2 if kw["allow_neg_eigval"] else 1)
    decay = (torch.exp(-w["A_log"].exp() * F.softplus(x @ w["a_proj.weight"].T + w["dt_bias"]))
             if kw.get("use_forget_gate") else x.new_ones(x.shape[0], heads))
    state, out = s0[0].clone(), []
    for t in range(x.shape[0]):
        state = state * decay[t][:, None, None]
        for j in range(n_h):
            kt = k[t, j]
            error = v[t, j] - torch.einsum("hkv,hk->hv", state, kt)
            state = state + torch.einsum("hk,hv->hkv", kt, beta[t, j][:, None] * error)
        out.append(torch.einsum("hkv,hk->hv", state, q[t]) * dk ** -0.5)
    return _rms(torch.stack(out), w["o_norm.weight"]).flatten(1) @ w["o_proj.weight"].T


def _hgrn_layer(w: dict[str, torch.Tensor], kw: dict[str, Any], x: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """fla's HGRNAttention: gate exp(logsigmoid(f)), input silu(i) (1 - gate), RMSNorm(h) silu(g)."""
    f = F.logsigmoid(x @ w["f_proj.weight"].T)
    i = F.silu(x @ w["i_proj.weight"].T) * (1 - f.exp())
    h, out = s0[0].clone(), []
    for t in range(x.shape[0]):
        h = f[t].exp() * h + i[t]
        out.append(h)
    gate = F.silu(x @ w["g_proj.weight"].T)
    return (_rms(torch.stack(out), w["g_norm.weight"]) * gate) @ w["o_proj.weight"].T


def substeps(x: torch.Tensor, n: int) -> torch.Tensor:
    """(..., T, d) -> (..., T n, n d): each token as n sub-steps, sub-step j carrying x in block j and zeros elsewhere
    (a DeltaProduct layer of n factors per token is a DeltaNet layer over these: ``lsrl.export``)."""
    out = x.new_zeros(*x.shape[:-1], n, n, x.shape[-1])
    for j in range(n):
        out[..., j, j, :] = x
    return out.flatten(-2).flatten(-3, -2)


def last_substep(o: torch.Tensor, n: int, d: int) -> torch.Tensor:
    """(..., T n, D) -> (..., T, d): each token's output, the first d channels of its last sub-step."""
    return o.unflatten(-2, (-1, n))[..., -1, :d]


def mixer(run: Any, w: dict[str, torch.Tensor], layer: dict[str, Any], x: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """A layer's output on the stream x (T, d), its tokens run as ``layer["substeps"]`` sub-steps each."""
    n = layer.get("substeps", 1)
    if n == 1:
        return run(w, layer["kwargs"], x, s0)
    return last_substep(run(w, layer["kwargs"], substeps(x, n), s0), n, x.shape[-1])


def labels(directory: str | Path, symbols: list[int], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The labels the stack exported to ``directory`` gives on ``symbols`` under fla's layer equations in ``dtype``."""
    document = json.loads((Path(directory) / "config.json").read_text())
    t = {k: v.to(dtype) for k, v in load_file(Path(directory) / "model.safetensors").items()}
    x = t["embedding.weight"][torch.tensor(symbols)]
    for i, layer in enumerate(document["layers"]):
        w = {k.split(".mixer.", 1)[1]: v for k, v in t.items() if k.startswith(f"layers.{i}.mixer.")}
        run = _hgrn_layer if layer["cls"] == "HGRNAttention" else _delta_layer
        x = x + mixer(run, w, layer, x, t[f"layers.{i}.initial_state"])
        if layer["mlp"]:
            p = f"layers.{i}.mlp."
            x = x + F.relu(x @ t[p + "up.weight"].T + t[p + "up.bias"]) @ t[p + "down.weight"].T + t[p + "down.bias"]
    return (x @ t["readout.weight"].T + t["readout.bias"]).argmax(-1)
