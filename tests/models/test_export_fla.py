"""fla's own kernels on exported compiled models (CUDA): the stack and the transformers folder give the automaton's
labels where the export records no deviation; bench/fla_export.py measures the first disagreement up to 10^6."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from automata.tasks import get_task
from lsrl.cli import main

pytestmark = pytest.mark.gpu
fla = pytest.importorskip("fla", reason="flash-linear-attention is not installed (pip install '.[fla]')")
if not torch.cuda.is_available():
    pytest.skip("fla's kernels need a CUDA device", allow_module_level=True)

LENGTH = 4096
# (task, class, dtype, mode) that fla runs: its chunked delta rule refuses float32 (fla/ops/delta_rule/chunk.py)
CASES = [("parity", "deltanet", "float32", "fused_recurrent"), ("parity", "deltanet", "bfloat16", "chunk"),
         ("tomita:1", "mamba", "float32", "fused_recurrent"), ("tomita:1", "mamba", "float32", "chunk"),
         ("flipflop", "diag-01", "bfloat16", "chunk"), ("mod:3", "deltaproduct", "float32", "fused_recurrent")]


def _labels(task: str, symbols: np.ndarray) -> np.ndarray:
    t = get_task(task)
    state, states = t.dfa.start, []
    for s in symbols.tolist():
        state = t.dfa.delta[state, s]
        states.append(state)
    return np.asarray(t.labels)[states]


def _exported(tmp_path: Path, task: str, arch: str, to: str) -> Path:
    compiled, out = tmp_path / "compiled", tmp_path / to
    assert main(["compile", f"task:{task}", "--arch", arch, "-o", str(compiled)]) == 0
    assert main(["export", str(compiled), "--to", to, "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("case", CASES, ids="-".join)
def test_fla_stack_keeps_the_labels(tmp_path: Path, case: tuple[str, str, str, str]) -> None:
    from lsrl.export import load_fla

    task, arch, dtype, mode = case
    model = load_fla(_exported(tmp_path, task, arch, "fla"), mode).to("cuda", getattr(torch, dtype))
    symbols = np.random.default_rng(0).integers(len(get_task(task).dfa.alphabet), size=LENGTH)
    predicted = model(torch.as_tensor(symbols, device="cuda")[None]).argmax(-1)[0].cpu().numpy()
    assert np.array_equal(predicted, _labels(task, symbols))


@pytest.mark.parametrize("task, arch", [("tomita:1", "mamba"), ("parity", "deltanet")])
def test_transformers_loads_the_hf_folder(tmp_path: Path, task: str, arch: str) -> None:
    """fla's transformers model from the folder, its initial states passed through fla's cache, gives the labels."""
    from transformers import AutoModelForCausalLM

    from lsrl.export import hf_cache

    folder = _exported(tmp_path, task, arch, "hf")
    model = AutoModelForCausalLM.from_pretrained(folder, use_kernels=False, attn_mode="fused_recurrent").to("cuda").eval()
    symbols = np.random.default_rng(0).integers(2, size=LENGTH)
    with torch.no_grad():
        logits = model(torch.as_tensor(symbols, device="cuda")[None], past_key_values=hf_cache(folder, 1, "cuda"),
                       use_cache=True).logits
    assert np.array_equal(logits[0, :, :2].argmax(-1).cpu().numpy(), _labels(task, symbols))
