"""Export a compiled model to flash-linear-attention 0.6.0, as its layer stack (``to="fla"``) or a transformers folder
of fla's model class (``to="hf"``), through floating-point identities (docs/architectures.md, with fla's file:line)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from automata.errors import LsrlInputError
from lsrl.fla_equations import last_substep, substeps
from models import registry
from models.checkpoint import load, read_config
from models.output_directory import write_directory
from models.stack import MLP, RecurrentModel

FLA_VERSION = "0.6.0"
TARGETS = ("fla", "hf")
SATURATE = 128.0  # sigmoid(+-128) and exp(logsigmoid(+-128)) round to exactly 1 and 0 in float32 and bfloat16
SILU_IDENTITY = 32.0  # silu(x) == x in float32 and bfloat16 for x >= 32 (sigmoid(32) rounds to 1)
TINY = 2.0 ** -26  # |x| <= TINY: sigmoid(x) rounds to 1/2 in float32 (and bfloat16), so silu(x) = x / 2 exactly
R_L2 = 1e-6 ** -0.5  # fla's l2norm (eps 1e-6) of a vector whose squares sum below half an ulp of the eps
R_RMS = 1e-5 ** -0.5  # fla's RMSNorm (eps 1e-5) of outputs whose mean square is below half an ulp of the eps
MIN_HEAD_DIM = 16  # fla's chunk kernels tile head dimensions by 16: narrower heads are padded with zeros
CALIBRATION = (64, 64)  # random strings (count, length) on which the exported layers' value sets are read
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class ExportRefused(LsrlInputError):
    """A model that cannot be exported to the target: the message says why."""


@dataclass(frozen=True)
class FlaLayer:
    """One recurrence as an fla layer: ``cls`` in ``fla.layers``, its constructor ``kwargs``, its state dict,
    the initial recurrent state in fla's layout and what differs from the compiled recurrence."""

    cls: str
    kwargs: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    initial_state: torch.Tensor
    deviations: tuple[str, ...]
    substeps: int = 1  # > 1: each token runs as this many steps of the layer (lsrl.fla_equations.substeps)


@dataclass(frozen=True)
class FlaStack:
    """The exported model: embedding (with the constant channel last), one fla layer and optional ReLU MLP per
    block, and the linear readout, all over a stream of width ``d_model`` (the compiled width + 1)."""

    arch: str
    embedding: torch.Tensor
    layers: tuple[FlaLayer, ...]
    mlps: tuple[dict[str, torch.Tensor] | None, ...]
    readout: dict[str, torch.Tensor]

    @property
    def d_model(self) -> int:
        return self.embedding.shape[1]


def _augment(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``[W | b]``: the linear map with its bias read from the constant channel."""
    return torch.cat([weight, bias[:, None]], dim=1)


def _padded(d: int) -> int:
    return max(MIN_HEAD_DIM, d)


def _pad_heads(weight: torch.Tensor, groups: int, width: int, to: int) -> torch.Tensor:
    """Rows ordered (group, width) padded with zero rows to (group, ``to``)."""
    rows = weight.reshape(groups, width, *weight.shape[1:])
    out = rows.new_zeros(groups, to, *weight.shape[1:])
    out[:, :width] = rows
    return out.reshape(groups * to, *weight.shape[1:])


def _values(t: torch.Tensor) -> list[float]:
    return sorted({round(float(v), 9) for v in t.flatten()})


def _scale_for_silu(v: torch.Tensor) -> float:
    """A power of two that lifts the smallest positive entry of ``v`` to SILU_IDENTITY or above."""
    positive = v[v > 0]
    smallest = float(positive.min()) if positive.numel() else 1.0
    return 2.0 ** max(0, math.ceil(math.log2(SILU_IDENTITY / smallest)))


def _tiny_scale(t: torch.Tensor, bound: float = TINY) -> float:
    """The largest power of two that brings every |entry| of ``t`` to ``bound`` or below."""
    largest = float(t.abs().max()) if t.numel() else 0.0
    return 2.0 ** math.floor(math.log2(bound / largest)) if largest > 0 else bound


def _logit(t: float) -> float:
    """The logit whose sigmoid is ``t`` in float32 and bfloat16: +-SATURATE at 1 and 0."""
    return -SATURATE if t <= 0 else SATURATE if t >= 1 else math.log(t / (1 - t))


def _fitted_logits(augmented: torch.Tensor, pre: torch.Tensor, target: torch.Tensor, deviations: list[str],
                   what: str) -> torch.Tensor:
    """Rows ``alpha_r (augmented_r . x) + beta_r`` whose sigmoid is ``target`` (B, T, rows) wherever the compiled
    row's pre-activation is ``pre``: one line per row through the points (pre, logit(target)), exact where they
    are collinear (at most two distinct pre-activations, or ends saturated along a line), else least squares and a
    deviation. Gates in {0, 1} come out as +-SATURATE; others (1/8) as their logit, exact up to its rounding."""
    rows = []
    for r in range(augmented.shape[0]):
        points = sorted({(float(p), float(t)) for p, t in zip(pre[..., r].flatten(), target[..., r].flatten())})
        xs = torch.tensor([p for p, _ in points], dtype=torch.float64)
        ys = torch.tensor([_logit(t) for _, t in points], dtype=torch.float64)
        if len(points) < 2:
            alpha, beta = 0.0, float(ys.sum())
        else:
            design = torch.stack([xs, torch.ones_like(xs)], 1)
            alpha, beta = (float(c) for c in torch.linalg.lstsq(design, ys[:, None]).solution[:, 0])
            if (alpha * xs + beta - ys).abs().max() > 1e-6 * SATURATE:
                deviations.append(f"{what} row {r}: {len(points)} (pre-activation, value) pairs "
                                  f"{[(round(p, 4), round(t, 4)) for p, t in points[:4]]} lie on no sigmoid line")
        row = alpha * augmented[r].double()
        row[-1] += beta
        rows.append(row)
    return torch.stack(rows)


def _key_norms(k: torch.Tensor, beta: torch.Tensor, deviations: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """|k|^2 per (position, factor, head), and per (factor, head) the one |k|^2 of the keys that write (beta != 0):
    fla's normalised key needs beta scaled by it; several are recorded as a deviation."""
    norm2 = (k.double() ** 2).sum(-1)
    n_h, heads = norm2.shape[2:]
    kappa = torch.ones(n_h * heads, dtype=torch.float64)
    for j in range(n_h):
        for h in range(heads):
            norms = _values(norm2[:, :, j, h][beta[:, :, j, h] != 0])
            if len(norms) > 1:
                deviations.append(f"factor {j} head {h}: key norms^2 take {len(norms)} values {norms[:4]}: "
                                  "fla's normalised keys need one beta scale")
            kappa[j * heads + h] = norms[-1] if norms else 1.0
    return norm2, kappa


def _delta(rec: Any, x: torch.Tensor) -> FlaLayer:
    """A deltaproduct recurrence as fla's DeltaNet (one ungated factor) or GatedDeltaProduct, small-signal: values,
    queries and states scaled to where SiLU halves, the l2norm of q and the output RMSNorm multiply by constants."""
    deviations: list[str] = []
    q, k, v, beta, log_alpha = rec.factors(x)
    heads, n_h, dk, dv = rec.heads, rec.n_h, rec.d_key, rec.d_value
    DK, DV = _padded(dk), _padded(dv)
    delta_net = rec.to_alpha is None  # DeltaNet over n_h sub-steps per token; with a decay GatedDeltaProduct
    key_norm2, kappa = _key_norms(k, beta, deviations)
    if bool((k < 0).any()) and not delta_net:
        deviations.append("keys with negative entries: GatedDeltaProduct's SiLU on k maps them to about 0")
    writes = (beta != 0) & (v != 0).any(-1)  # (B, T, n_h, H): a nonzero value written
    if (writes & (key_norm2 != kappa.view(n_h, heads))).any():
        deviations.append("values written with keys of several norms: fla's normalised key needs v / |k|")
    s0 = rec.initial_state(1).detach().double()
    lam = _tiny_scale(torch.cat([v.flatten() / float(kappa.min()) ** 0.5, s0.flatten()]))  # silu(lam v) = lam v / 2
    rho = _tiny_scale(q, TINY / 4)  # queries: inside the l2norm's eps (and SiLU's halving, GatedDeltaProduct)
    # keys: lifted so that the l2norm's eps rounds away (and SiLU is the identity on positive entries)
    key_scale = _scale_for_silu(k.flatten().abs())
    w = rec.to_q.weight.detach(), rec.to_k.weight.detach(), rec.to_v.weight.detach(), rec.to_beta.weight.detach()
    b = rec.to_q.bias.detach(), rec.to_k.bias.detach(), rec.to_v.bias.detach(), rec.to_beta.bias.detach()
    q_proj = _pad_heads(_augment(w[0], b[0]), heads, dk, DK) * rho
    k_proj = _pad_heads(_augment(w[1], b[1]), n_h * heads, dk, DK) * key_scale
    # S += beta k (v - S^T k) = beta |k|^2 khat (v / |k| - S^T khat): each (factor, head)'s values divided by |k|
    v_rows = _augment(w[2], b[2]).double().view(n_h * heads, dv, -1) / kappa.sqrt()[:, None, None]
    v_proj = _pad_heads(v_rows.flatten(0, 1), n_h * heads, dv, DV) * lam
    # fla's beta is 2 sigmoid(z) with allow_neg_eigval, else sigmoid(z); its target is beta |k|^2
    neg = rec.hi > 1
    b_proj = _fitted_logits(_augment(w[3], b[3]), rec.to_beta(x).double(),
                            (beta.double() * key_norm2).flatten(2) / (2 if neg else 1), deviations, "beta |k|^2")
    # o_fla = (lam / 2) (rho or rho / 2) R_L2 DK^-1/2 S^T q, then times R_RMS: o_proj undoes both
    gain = lam / 2 * (rho if delta_net else rho / 2) * R_L2 * DK ** -0.5 * R_RMS
    o_proj = torch.zeros(rec.out.weight.shape[0] + 1, heads, DV, dtype=torch.float64)
    o_proj[:-1, :, :dv] = rec.out.weight.detach().double().reshape(-1, heads, dv) / gain
    state = torch.zeros(1, heads, DK, DV, dtype=torch.float64)
    state[:, :, :dk, :dv] = s0 * lam / 2
    tensors = {"q_proj.weight": q_proj, "k_proj.weight": k_proj, "v_proj.weight": v_proj, "b_proj.weight": b_proj,
               "o_proj.weight": o_proj.reshape(o_proj.shape[0], -1), "o_norm.weight": torch.ones(DV)}
    d_model = x.shape[-1] + 1
    if rec.to_alpha is None:
        tensors = _as_substeps(tensors, n_h)
        hidden = n_h * d_model
        kwargs = {"hidden_size": hidden, "expand_k": heads * DK / hidden, "expand_v": heads * DV / hidden,
                  "num_heads": heads, "use_beta": True, "use_gate": False, "use_short_conv": False,
                  "allow_neg_eigval": neg, "qk_activation": "identity", "qk_norm": "l2"}
        return FlaLayer("DeltaNet", kwargs, _float(tensors), state.float(), tuple(deviations), n_h)
    kwargs = {"hidden_size": d_model, "head_dim": DK, "expand_v": DV / DK, "num_heads": heads,
              "use_output_gate": False, "use_short_conv": False, "use_forget_gate": rec.to_alpha is not None,
              "allow_neg_eigval": neg, "num_householder": n_h}
    if rec.to_alpha is not None:
        # decay = exp(-exp(A_log) softplus(a)) = sigmoid(-a) with A_log = 0, dt_bias = 0
        tensors["a_proj.weight"] = -_fitted_logits(_augment(rec.to_alpha.weight.detach(), rec.to_alpha.bias.detach()),
                                                   rec.to_alpha(x).double(), log_alpha.exp(), deviations, "decay")
        tensors["A_log"] = torch.zeros(heads)
        tensors["dt_bias"] = torch.zeros(heads)
    return FlaLayer("GatedDeltaProduct", kwargs, _float(tensors), state.float(), tuple(deviations))


def _tied(a: torch.Tensor, b: torch.Tensor, deviations: list[str]) -> torch.Tensor:
    """Per channel, the one value of 1 - a_t wherever the input b_t is nonzero, which HGRN's input
    silu(i) (1 - gate) multiplies by and the input map divides by; several values, or 0, are recorded."""
    out = torch.ones(a.shape[-1], dtype=torch.float64)
    for c in range(a.shape[-1]):
        held = _values(1 - a[..., c][b[..., c] != 0])
        if len(held) > 1 or 0.0 in held:
            deviations.append(f"channel {c}: inputs arrive with 1 - gate in {held[:4]}: HGRN ties its input to 1 - gate")
        out[c] = held[-1] if held and held[-1] > 0 else 1.0
    return out


def _as_substeps(tensors: dict[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    """A layer of n factors per token as a DeltaNet layer over n sub-steps (``lsrl.fla_equations.substeps``):
    sub-step j carries the stream in block j, which factor j's key, value and beta rows read (rows ordered by
    factor, concatenated along the input); the query reads only the last block; the output goes to the first."""
    def per_factor(rows: torch.Tensor) -> torch.Tensor:
        return torch.cat(rows.chunk(n, dim=0), dim=1)

    q, o = tensors["q_proj.weight"], tensors["o_proj.weight"]
    return {**tensors, "q_proj.weight": torch.cat([q.new_zeros(q.shape[0], (n - 1) * q.shape[1]), q], 1),
            **{name: per_factor(tensors[name]) for name in ("k_proj.weight", "v_proj.weight", "b_proj.weight")},
            "o_proj.weight": torch.cat([o, o.new_zeros((n - 1) * o.shape[0], o.shape[1])])}


def _hgrn(rec: Any, x: torch.Tensor) -> FlaLayer:
    """A diagonal [0, 1] recurrence as fla's HGRNAttention (gate exp(logsigmoid(f)), input silu(i) (1 - gate),
    output RMSNorm(h) silu(g) over all channels), small-signal: silu(i) = i / 2, the RMSNorm a constant factor."""
    deviations: list[str] = []
    a, b = rec.gates(x).double(), rec.inputs(x).double()
    n = rec.d_state
    d_model = x.shape[-1] + 1
    width = n
    while int(d_model * (width / d_model)) != width:  # fla's input_dim = int(hidden_size * expand_ratio)
        width += 1
    h0 = rec.h0.detach().double()
    lam = _tiny_scale(torch.cat([b.flatten(), h0]))
    f = _fitted_logits(_augment(rec.to_a.weight.detach(), rec.to_a.bias.detach()), rec.to_a(x).double(), a,
                       deviations, "gate")
    i = _augment(rec.to_b.weight.detach(), rec.to_b.bias.detach()).double() * lam / _tied(a, b, deviations)[:, None]
    g = torch.zeros(width, d_model)
    g[:, -1] = SILU_IDENTITY  # silu(32) = 32: a constant output gate
    o_proj = torch.zeros(d_model, width, dtype=torch.float64)
    o_proj[:-1, :n] = rec.out.weight.detach().double() / (lam / 2 * R_RMS * SILU_IDENTITY)
    pad = torch.zeros(width - n, d_model, dtype=torch.float64)
    tensors = {"i_proj.weight": torch.cat([i, pad]), "f_proj.weight": torch.cat([f, pad]), "g_proj.weight": g,
               "g_norm.weight": torch.ones(width), "o_proj.weight": o_proj}
    state = torch.zeros(1, width, dtype=torch.float64)
    state[0, :n] = h0 * lam / 2
    kwargs = {"hidden_size": d_model, "expand_ratio": width / d_model, "use_short_conv": False}
    return FlaLayer("HGRNAttention", kwargs, _float(tensors), state.float(), tuple(deviations))


def _float(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: t.float().contiguous() for name, t in tensors.items()}


def _calibration_inputs(model: RecurrentModel) -> torch.Tensor:
    count, length = CALIBRATION
    return torch.randint(model.config.n_symbols, (count, length), generator=torch.Generator().manual_seed(0))


def _layer_for(arch: registry.Architecture, model: RecurrentModel) -> str:
    """The fla layer that holds the class's recurrence, or ``ExportRefused`` naming why none does."""
    family = model.config.arch
    if arch.fla is None:
        holders = ", ".join(f"{a.name} ({a.fla})" for a in registry.ARCHITECTURES if a.fla)
        raise ExportRefused(f"flash-linear-attention {FLA_VERSION} has no layer for {arch.name} ({arch.transition}); "
                            f"classes it has one for: {holders}")
    if not model.config.exact:
        raise ExportRefused("export takes compiled models (lsrl compile): a trained model's sigmoid gates and block "
                            "parts have no mapping here")
    if model.config.d_input:
        raise ExportRefused(f"the model reads real vectors (d_input = {model.config.d_input}, a compiled lsrl program), "
                            "not symbols; export takes models compiled from automata, whose tokens fla embeds")
    if family not in ("deltaproduct", "diag"):
        raise ExportRefused(f"the model's module family {family!r} has no {arch.fla} counterpart (export takes "
                            "deltaproduct and diagonal stacks)")
    return arch.fla


def to_fla(model: RecurrentModel, arch: registry.Architecture) -> FlaStack:
    """The fla layer stack equal to ``model`` (an exact compiled model of class ``arch``) where fla's layers allow."""
    _layer_for(arch, model)
    model = model.double().eval()
    with torch.no_grad():
        streams = model.streams(_calibration_inputs(model))
        convert = _delta if model.config.arch == "deltaproduct" else _hgrn
        layers = tuple(convert(block.recurrence, stream) for block, stream in zip(model.blocks, streams))
        # every out bias moves into the embedding: block i's stream then carries tail[i] more, which its input
        # maps subtract, and its MLP (reading after the block's own bias) tail[i + 1]
        tail = torch.stack([block.recurrence.out.bias.detach() for block in model.blocks]).flip(0).cumsum(0).flip(0)
        later = [*tail[1:], torch.zeros_like(tail[0])]
        embedding = torch.cat([model.embedding.weight.detach() + tail[0], torch.ones(model.config.n_symbols, 1)], 1)
        layers = tuple(_compensate(layer, shift) for layer, shift in zip(layers, tail))
        mlps = tuple(None if block.mlp is None else _mlp(block.mlp, extra) for block, extra in zip(model.blocks, later))
    readout = {"weight": model.readout.weight.detach().float(), "bias": model.readout.bias.detach().float()}
    readout["weight"] = torch.cat([readout["weight"], torch.zeros(readout["weight"].shape[0], 1)], 1)
    return FlaStack(arch.name, embedding.float(), layers, mlps, readout)


_INPUT_MAPS = ("q_proj.weight", "k_proj.weight", "v_proj.weight", "b_proj.weight", "a_proj.weight", "i_proj.weight",
               "f_proj.weight")


def _compensate(layer: FlaLayer, extra: torch.Tensor) -> FlaLayer:
    """The layer reading a stream that carries ``extra`` (d_model - 1) more than the compiled one: each input map's
    constant-channel column subtracts what ``extra`` adds."""
    tensors = dict(layer.tensors)
    for name in _INPUT_MAPS:
        if name in tensors:
            w = tensors[name].double().unflatten(1, (-1, extra.numel() + 1))  # (rows, sub-step block, stream)
            w[:, :, -1] -= w[:, :, :-1] @ extra.double()
            tensors[name] = w.flatten(1).float()
    return FlaLayer(layer.cls, layer.kwargs, tensors, layer.initial_state, layer.deviations, layer.substeps)


def _mlp(mlp: MLP, extra: torch.Tensor) -> dict[str, torch.Tensor]:
    """The block's MLP (kept as it is, fla's stack has none of its own) reading a stream that carries ``extra``
    more; the constant channel is not read."""
    up_w = mlp.up.weight.detach().double()
    return {"up.weight": torch.cat([up_w, torch.zeros(up_w.shape[0], 1, dtype=torch.float64)], 1).float(),
            "up.bias": (mlp.up.bias.detach().double() - up_w @ extra.double()).float(),
            "down.weight": torch.cat([mlp.down.weight.detach(), torch.zeros(1, mlp.down.weight.shape[1])]).float(),
            "down.bias": torch.cat([mlp.down.bias.detach(), torch.zeros(1)]).float()}


def _stack_document(stack: FlaStack, source: dict[str, Any]) -> dict[str, Any]:
    return {"format": "lsrl-fla-stack", "fla_version": FLA_VERSION, "arch": stack.arch, "source": source,
            "d_model": stack.d_model, "n_symbols": stack.embedding.shape[0], "n_labels": stack.readout["weight"].shape[0],
            "layers": [{"cls": layer.cls, "kwargs": layer.kwargs, "substeps": layer.substeps, "mlp": mlp is not None,
                        "deviations": list(layer.deviations)} for layer, mlp in zip(stack.layers, stack.mlps)],
            "saturate": SATURATE, "calibration": {"strings": CALIBRATION[0], "length": CALIBRATION[1], "seed": 0}}


def _stack_tensors(stack: FlaStack) -> dict[str, torch.Tensor]:
    tensors = {"embedding.weight": stack.embedding, **{f"readout.{k}": v for k, v in stack.readout.items()}}
    for i, (layer, mlp) in enumerate(zip(stack.layers, stack.mlps)):
        tensors.update({f"layers.{i}.mixer.{k}": v for k, v in layer.tensors.items()})
        tensors[f"layers.{i}.initial_state"] = layer.initial_state
        tensors.update({f"layers.{i}.mlp.{k}": v for k, v in (mlp or {}).items()})
    return {k: v.contiguous() for k, v in tensors.items()}


_HF_MODEL_TYPES = {"DeltaNet": ("delta_net", "DeltaNetForCausalLM"),
                   "GatedDeltaProduct": ("gated_deltaproduct", "GatedDeltaProductForCausalLM"),
                   "HGRNAttention": ("hgrn", "HGRNForCausalLM")}
_HF_MLP_WIDTH = 16  # fla's blocks always have a SwiGLU MLP; the export zeroes it (down(silu(0) * 0) = 0)


def _hf_document(stack: FlaStack) -> dict[str, Any]:
    """transformers' config.json of fla's causal LM holding the stack: vocabulary max(symbols, labels), so that
    lm_head's first n_labels logits are the readout's."""
    if any(mlp is not None for mlp in stack.mlps):
        raise ExportRefused("--to hf: fla's models put a SwiGLU MLP in every block and a compiled ReLU MLP has no "
                            "exact SwiGLU form; export this model --to fla (fla's layers with lsrl's MLPs)")
    if any(layer.substeps > 1 for layer in stack.layers):
        raise ExportRefused("--to hf: fla's models run one step per token, and this model's DeltaNet layers run n_h "
                            "sub-steps per token (export it --to fla)")
    first = stack.layers[0]
    model_type, model_class = _HF_MODEL_TYPES[first.cls]
    kwargs = {k: v for k, v in first.kwargs.items() if k != "use_output_gate"}
    if first.cls == "GatedDeltaProduct":
        kwargs["use_output_gate"] = False
    if first.cls == "HGRNAttention":
        kwargs["use_lower_bound"] = False
    if any(layer.kwargs != first.kwargs for layer in stack.layers):
        raise ExportRefused("--to hf: fla's config gives every layer the same shape; this model's layers differ")
    vocab = max(stack.embedding.shape[0], stack.readout["weight"].shape[0])
    return {"model_type": model_type, "architectures": [model_class], **kwargs, "attn_mode": "chunk",
            "num_hidden_layers": len(stack.layers), "vocab_size": vocab, "intermediate_size": _HF_MLP_WIDTH,
            "hidden_act": "swish", "fuse_norm": False, "fuse_swiglu": False, "fuse_cross_entropy": False,
            "tie_word_embeddings": False, "norm_eps": 1e-6, "bos_token_id": None, "eos_token_id": None,
            "pad_token_id": None}


def _hf_tensors(stack: FlaStack, vocab: int) -> dict[str, torch.Tensor]:
    """fla's causal LM weights: the stack's, unit pre-norms, zero MLPs; lm_head's rows past the labels read
    -SATURATE from the constant channel, so the argmax is always a label."""
    d = stack.d_model
    embedding = torch.zeros(vocab, d)
    embedding[: stack.embedding.shape[0]] = stack.embedding
    head = torch.zeros(vocab, d)
    labels = stack.readout["weight"].shape[0]
    head[:labels] = stack.readout["weight"]
    head[:labels, -1] += stack.readout["bias"]
    head[labels:, -1] = -SATURATE
    tensors = {"model.embeddings.weight": embedding, "model.norm.weight": torch.ones(d), "lm_head.weight": head}
    for i, layer in enumerate(stack.layers):
        prefix = f"model.layers.{i}"
        tensors.update({f"{prefix}.attn.{k}": v for k, v in layer.tensors.items()})
        tensors.update({f"{prefix}.attn_norm.weight": torch.ones(d), f"{prefix}.mlp_norm.weight": torch.ones(d),
                        f"{prefix}.mlp.gate_proj.weight": torch.zeros(_HF_MLP_WIDTH, d),
                        f"{prefix}.mlp.up_proj.weight": torch.zeros(_HF_MLP_WIDTH, d),
                        f"{prefix}.mlp.down_proj.weight": torch.zeros(d, _HF_MLP_WIDTH)})
    return {k: v.contiguous() for k, v in tensors.items()}


HF_DEVIATIONS = ("fla's blocks RMS-normalise the stream before each layer (attn_norm) and the last stream (norm): "
                 "exact scalings only where the stream's RMS is the same at every position",
                 "fla's models start from a zero state: initial states are in initial_state.safetensors, to pass "
                 "through a cache (lsrl.export.hf_cache)")


def export(directory: str | Path, to: str, out: str | Path) -> Path:
    """Write the compiled model in ``directory`` to ``out`` as fla's layer stack (``to="fla"``) or as a folder of
    fla's transformers model (``to="hf"``); ``ExportRefused`` where fla has no layer for the class."""
    from safetensors.torch import save_file

    if to not in TARGETS:
        raise ExportRefused(f"unknown export target {to!r}; targets: {', '.join(TARGETS)}")
    document = read_config(directory)
    arch = registry.get(str(document.get("arch", document["model"]["arch"])))
    stack = to_fla(load(directory), arch)
    source = {"directory": str(directory), "source": document.get("source"), "construction": document.get("construction")}
    if to == "fla":
        config, tensors = _stack_document(stack, source), _stack_tensors(stack)
        files = {}
    else:
        config = _hf_document(stack)
        tensors = _hf_tensors(stack, config["vocab_size"])
        config["lsrl_export"] = {**_stack_document(stack, source), "hf_deviations": list(HF_DEVIATIONS)}
        files = {"initial_state.safetensors": {f"layers.{i}": layer.initial_state for i, layer in enumerate(stack.layers)}}

    def write(tmp: Path) -> None:
        save_file(tensors, tmp / WEIGHTS)
        for name, extra in files.items():
            save_file(extra, tmp / name)
        (tmp / CONFIG).write_text(json.dumps(config, indent=1) + "\n")

    return write_directory(out, write)


class _InitialStates:
    """fla's cache protocol as its layers read it (``fla/layers/utils.py:319-330``: ``len``, ``[layer_idx]``,
    ``update``) holding only each layer's initial recurrent state, expanded to the batch."""

    def __init__(self, states: list[torch.Tensor], batch: int):
        self.states = [{"recurrent_state": s.expand(batch, *s.shape[1:]).contiguous(), "conv_state": None}
                       for s in states]

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.states[index]

    def update(self, **kwargs: Any) -> None:
        return None


class FlaModel(torch.nn.Module):
    """An exported stack run with fla's own layers (``mode``: "chunk" or "fused_recurrent", which fla's layers use
    for sequences longer than 64): symbols (B, T) -> logits (B, T, n_labels)."""

    def __init__(self, document: dict[str, Any], tensors: dict[str, torch.Tensor], mode: str):
        import fla.layers

        super().__init__()
        self.embedding = torch.nn.Embedding.from_pretrained(tensors["embedding.weight"])
        self.mixers = torch.nn.ModuleList(getattr(fla.layers, layer["cls"])(mode=mode, layer_idx=i, **layer["kwargs"])
                                          for i, layer in enumerate(document["layers"]))
        self.mlps = torch.nn.ModuleList(MLP(document["d_model"], tensors[f"layers.{i}.mlp.up.weight"].shape[0])
                                        if layer["mlp"] else torch.nn.Identity()
                                        for i, layer in enumerate(document["layers"]))
        self.readout = torch.nn.Linear(document["d_model"], document["n_labels"])
        for i, (mixer, mlp) in enumerate(zip(self.mixers, self.mlps)):
            mixer.load_state_dict({k.split(".mixer.", 1)[1]: v for k, v in tensors.items()
                                   if k.startswith(f"layers.{i}.mixer.")})
            if isinstance(mlp, MLP):
                mlp.load_state_dict({k.split(".mlp.", 1)[1]: v for k, v in tensors.items()
                                     if k.startswith(f"layers.{i}.mlp.")})
        self.readout.load_state_dict({"weight": tensors["readout.weight"], "bias": tensors["readout.bias"]})
        self.states = [tensors[f"layers.{i}.initial_state"] for i in range(len(document["layers"]))]
        self.substeps = [layer.get("substeps", 1) for layer in document["layers"]]

    @torch.no_grad()
    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        x = self.embedding(symbols).to(self.readout.weight.dtype)
        cache = _InitialStates([s.to(x.device) for s in self.states], symbols.shape[0])
        for mixer, mlp, n in zip(self.mixers, self.mlps, self.substeps):
            x = x + (mixer(x, past_key_values=cache)[0] if n == 1 else
                     last_substep(mixer(substeps(x, n), past_key_values=cache)[0], n, x.shape[-1]))
            x = x + mlp(x) if isinstance(mlp, MLP) else x
        return self.readout(x)


def hf_cache(folder: str | Path, batch: int, device: torch.device | str):
    """fla's cache holding the initial states of an ``--to hf`` export (initial_state.safetensors), expanded to
    ``batch``: pass it as ``past_key_values`` with ``use_cache=True``, since fla's models otherwise start from zero."""
    from fla.models.cache_utils import Cache
    from safetensors.torch import load_file

    states = load_file(Path(folder) / "initial_state.safetensors")
    cache = Cache()
    for i in range(len(states)):
        state = states[f"layers.{i}"].to(device)
        cache.update(recurrent_state=state.expand(batch, *state.shape[1:]).contiguous(), layer_idx=i, offset=0)
    return cache


def load_fla(directory: str | Path, mode: str = "chunk") -> FlaModel:
    """The stack ``export(..., to="fla")`` wrote to ``directory``, built from fla's layers (fla must be installed)."""
    from safetensors.torch import load_file

    from automata.bounded_input import load_json

    document = load_json(Path(directory) / CONFIG, "fla export config")
    if not isinstance(document, dict) or document.get("format") != "lsrl-fla-stack":
        raise ExportRefused(f"{directory}: not an lsrl fla export (config.json has no format 'lsrl-fla-stack')")
    return FlaModel(document, load_file(Path(directory) / WEIGHTS), mode)
