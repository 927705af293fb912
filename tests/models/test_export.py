"""lsrl export: the exported weights, read with the equations of fla 0.6.0's layers (written out below from
fla/layers/delta_net.py, gated_deltaproduct.py, hgrn.py), give the compiled model's labels; refusals; files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from lsrl.cli import main
from models import registry
from models.checkpoint import load

# Constructions whose export records no deviation: every part has an exact identity in fla's layers.
EXPORTABLE = [("parity", "deltanet"), ("tomita:1", "deltanet"), ("tomita:1", "mamba"), ("flipflop", "diag-01"),
              ("no-aa", "diag-01"), ("parity", "deltaproduct")]


def _l2(x: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-6)  # fla/modules/norm/l2norm.py:36, eps 1e-6


def _rms(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * weight  # the layers' norm_eps 1e-5


def _delta_layer(w: dict[str, torch.Tensor], kw: dict, x: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
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
             if kw.get("use_forget_gate") else torch.ones(x.shape[0], heads))
    state, out = s0[0].clone(), []
    for t in range(x.shape[0]):
        state = state * decay[t][:, None, None]
        for j in range(n_h):
            kt = k[t, j]
            state = state + torch.einsum("hk,hv->hkv", kt, beta[t, j][:, None] * (v[t, j] - torch.einsum("hkv,hk->hv", state, kt)))
        out.append(torch.einsum("hkv,hk->hv", state, q[t]) * dk ** -0.5)
    return _rms(torch.stack(out), w["o_norm.weight"]).flatten(1) @ w["o_proj.weight"].T


def _hgrn_layer(w: dict[str, torch.Tensor], kw: dict, x: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """fla's HGRNAttention: gate exp(logsigmoid(f)), input silu(i) (1 - gate), RMSNorm(h) silu(g)."""
    f = F.logsigmoid(x @ w["f_proj.weight"].T)
    i = F.silu(x @ w["i_proj.weight"].T) * (1 - f.exp())
    h, out = s0[0].clone(), []
    for t in range(x.shape[0]):
        h = f[t].exp() * h + i[t]
        out.append(h)
    gate = F.silu(x @ w["g_proj.weight"].T)
    return (_rms(torch.stack(out), w["g_norm.weight"]) * gate) @ w["o_proj.weight"].T


def fla_reference(directory: Path, symbols: list[int]) -> torch.Tensor:
    """The labels the exported stack gives under fla's layer equations, in float64."""
    document = json.loads((directory / "config.json").read_text())
    t = {k: v.double() for k, v in load_file(directory / "model.safetensors").items()}
    x = t["embedding.weight"][torch.tensor(symbols)]
    for i, layer in enumerate(document["layers"]):
        w = {k.split(".mixer.", 1)[1]: v for k, v in t.items() if k.startswith(f"layers.{i}.mixer.")}
        run = _hgrn_layer if layer["cls"] == "HGRNAttention" else _delta_layer
        x = x + run(w, layer["kwargs"], x, t[f"layers.{i}.initial_state"])
        if layer["mlp"]:
            p = f"layers.{i}.mlp."
            x = x + F.relu(x @ t[p + "up.weight"].T + t[p + "up.bias"]) @ t[p + "down.weight"].T + t[p + "down.bias"]
    return (x @ t["readout.weight"].T + t["readout.bias"]).argmax(-1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("export")
    out = {}
    for task, arch in EXPORTABLE:
        compiled, fla = root / f"{arch}-{task}", root / f"{arch}-{task}-fla"
        assert main(["compile", f"task:{task}", "--arch", arch, "-o", str(compiled)]) == 0
        assert main(["export", str(compiled), "--to", "fla", "-o", str(fla)]) == 0
        out[task, arch] = compiled, fla
    return out


@pytest.mark.parametrize("case", EXPORTABLE, ids=lambda c: f"{c[1]}-{c[0]}")
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_exported_stack_gives_the_compiled_labels(exported: dict, case: tuple[str, str], data: st.DataObject) -> None:
    compiled, fla = exported[case]
    model = load(compiled).double()
    symbols = data.draw(st.lists(st.integers(0, model.config.n_symbols - 1), min_size=1, max_size=60))
    expected = model.predict(torch.tensor([symbols]))[0]
    assert torch.equal(fla_reference(fla, symbols), expected)


def test_export_records_no_deviation_where_identities_hold(exported: dict) -> None:
    for case, (_, fla) in exported.items():
        assert all(layer["deviations"] == [] for layer in json.loads((fla / "config.json").read_text())["layers"]), case
    layer = json.loads((exported["parity", "deltanet"][1] / "config.json").read_text())["layers"][0]
    assert layer["cls"] == "DeltaNet" and layer["kwargs"]["allow_neg_eigval"] is True


def test_export_names_what_fla_cannot_hold(tmp_path: Path) -> None:
    """mod:3 on deltaproduct reflects along keys e_i - e_j; GatedDeltaProduct's SiLU on k has no identity for them."""
    compiled, out = tmp_path / "m", tmp_path / "x"
    assert main(["compile", "task:mod:3", "--arch", "deltaproduct", "-o", str(compiled)]) == 0
    assert main(["export", str(compiled), "--to", "fla", "-o", str(out)]) == 0
    layer = json.loads((out / "config.json").read_text())["layers"][0]
    assert layer["cls"] == "GatedDeltaProduct" and any("keys with negative entries" in d for d in layer["deviations"])


def test_hf_folder_has_fla_model_config(exported: dict, tmp_path: Path) -> None:
    out = tmp_path / "hf"
    assert main(["export", str(exported["tomita:1", "mamba"][0]), "--to", "hf", "-o", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "hgrn" and config["architectures"] == ["HGRNForCausalLM"]
    tensors = load_file(out / "model.safetensors")
    assert tensors["model.embeddings.weight"].shape == (config["vocab_size"], config["hidden_size"])
    assert not tensors["model.layers.0.mlp.down_proj.weight"].any()


@pytest.mark.parametrize("arch", [a.name for a in registry.ARCHITECTURES if a.fla is None and a.has("automaton")])
def test_classes_without_an_fla_layer_are_refused(arch: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    compiled = tmp_path / "m"
    assert main(["compile", "task:tomita:1" if arch != "rotation" else "task:parity", "--arch", arch, "-o", str(compiled)]) == 0
    capsys.readouterr()
    assert main(["export", str(compiled), "--to", "fla", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"no layer for {arch}" in err and "Traceback" not in err and not (tmp_path / "x").exists()


def test_fla_kernels_load_the_export_or_skip(exported: dict) -> None:
    pytest.importorskip("fla", reason="flash-linear-attention is not installed (pip install '.[fla]')")
    from lsrl.export import load_fla

    model = load_fla(exported["parity", "deltanet"][1], "fused_recurrent")
    assert len(model.mixers) == 1
