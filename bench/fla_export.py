"""How far fla's own kernels keep exported compiled models exact: per (task, class, dtype, mode), the first position
where the label fla's layers give differs from the automaton's, on a random string of up to --length symbols."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automata.errors import LsrlInputError  # noqa: E402
from automata.tasks import get_task  # noqa: E402
from bench.environment import environment  # noqa: E402
from lsrl import fla_equations  # noqa: E402
from lsrl.export import export, hf_cache, load_fla  # noqa: E402
from models.checkpoint import read_config  # noqa: E402

MODES = ("chunk", "fused_recurrent")
DTYPES = ("float32", "bfloat16")
PREFIX = 2000  # --equations: a prefix checked first, so that exports wrong early cost little


def automaton_labels(source: str, symbols: np.ndarray) -> np.ndarray:
    """The task's label after every prefix of ``symbols``."""
    task = get_task(source.removeprefix("task:"))
    delta, state = task.dfa.delta, task.dfa.start
    states = np.empty(len(symbols), dtype=np.int64)
    for t, s in enumerate(symbols.tolist()):
        state = delta[state, s]
        states[t] = state
    return np.asarray(task.labels)[states]


def first_disagreement(model: torch.nn.Module, symbols: np.ndarray, labels: np.ndarray) -> int | None:
    """The first position (0-based) where the model's argmax differs from ``labels``, None if none does."""
    x = torch.as_tensor(symbols, device="cuda")[None]
    model(x[:, :256])  # fla's autotuning keys omit the length: tune on a short prefix, not on 10^6 steps
    predicted = model(x).argmax(-1)[0].cpu().numpy()
    wrong = np.flatnonzero(predicted != labels)
    return int(wrong[0]) if wrong.size else None


class HfLogits(torch.nn.Module):
    """fla's transformers model from an ``--to hf`` folder, its logits cut to the labels; the export's initial states
    (initial_state.safetensors) enter through fla's cache, as the export's deviation note says."""

    def __init__(self, folder: Path, mode: str, labels: int):
        import fla  # noqa: F401 - registers fla's model classes with transformers
        from transformers import AutoModelForCausalLM

        super().__init__()
        self.model = AutoModelForCausalLM.from_pretrained(folder, use_kernels=False, attn_mode=mode)
        self.folder, self.labels = folder, labels

    @torch.no_grad()
    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        cache = hf_cache(self.folder, symbols.shape[0], symbols.device)
        return self.model(symbols, past_key_values=cache, use_cache=True).logits[..., : self.labels]


def _row(build: Any, symbols: np.ndarray, labels: np.ndarray, dtype: str, **fields: Any) -> dict[str, Any]:
    row = {**fields, "dtype": dtype, "length": len(symbols)}
    start = time.perf_counter()
    try:
        model = build().to("cuda", getattr(torch, dtype)).eval()
        row["first_disagreement"] = first_disagreement(model, symbols, labels)
    except Exception as err:  # noqa: BLE001 - a kernel that refuses a dtype is a result, recorded
        row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    row["seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(row), flush=True)
    return row


def _exported(directory: Path, scratch: Path, length: int, seed: int
              ) -> tuple[Path, dict[str, Any], np.ndarray, np.ndarray, dict[str, Any]]:
    """The fla export of ``directory``, its stack config, a random string of ``length`` symbols, the
    automaton's labels on it, and the fields every row of this model shares."""
    document = read_config(directory)
    out = export(directory, "fla", scratch / directory.name)
    stack = json.loads((out / "config.json").read_text())
    symbols = np.random.default_rng(seed).integers(stack["n_symbols"], size=length)
    labels = automaton_labels(document["source"], symbols)
    common = {"task": document["source"], "class": document["arch"], "construction": document.get("construction"),
              "layer": stack["layers"][0]["cls"], "layers": len(stack["layers"]),
              "deviations": sorted({d for layer in stack["layers"] for d in layer["deviations"]})}
    return out, stack, symbols, labels, common


def measure(directory: Path, scratch: Path, length: int, seed: int) -> list[dict[str, Any]]:
    out, stack, symbols, labels, common = _exported(directory, scratch, length, seed)
    try:
        hf = export(directory, "hf", scratch / f"{directory.name}-hf")
    except LsrlInputError:
        hf = None
    rows = []
    for dtype in DTYPES:
        for mode in MODES:
            rows.append(_row(lambda: load_fla(out, mode), symbols, labels, dtype, **common, target="fla", mode=mode))
            if hf is not None:
                rows.append(_row(lambda: HfLogits(hf, mode, stack["n_labels"]), symbols, labels, dtype, **common,
                                 target="hf", mode=mode))
    return rows


def measure_equations(directory: Path, scratch: Path, length: int, seed: int) -> list[dict[str, Any]]:
    out, _, symbols, labels, common = _exported(directory, scratch, length, seed)
    rows = []
    for dtype in ("float32", "float64"):
        start = time.perf_counter()
        for n in (min(PREFIX, length), length):  # outputs are causal: a disagreement in a prefix is the first one
            predicted = fla_equations.labels(out, symbols[:n].tolist(), getattr(torch, dtype)).numpy()
            wrong = np.flatnonzero(predicted != labels[:n])
            if wrong.size:
                break
        rows.append({**common, "target": "equations", "dtype": dtype, "length": length,
                     "first_disagreement": int(wrong[0]) if wrong.size else None,
                     "seconds": round(time.perf_counter() - start, 2)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
  python3 bench/fla_export.py MODELS_DIR [--length 1000000] [--out bench/results/fla_export.json]
  python3 bench/fla_export.py MODELS_DIR --equations --length 100000 --out bench/results/fla_equations.json

MODELS_DIR holds compiled model directories (lsrl compile); each is exported to fla (lsrl.export) in a scratch
folder and run with fla's chunk and fused_recurrent layers in float32 and bfloat16 (CUDA), and, where
--to hf applies, as fla's transformers model (its initial states passed through fla's cache). --equations
reads the exports with fla's layer equations written out in PyTorch (lsrl.fla_equations) on the CPU, one
thread, in float32 and float64: what the identities of the export keep, without fla's kernels. Writes JSON
after every model, so a run cut short keeps what it measured.
""")
    parser.add_argument("models", type=Path)
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/fla_export.json"))
    parser.add_argument("--equations", action="store_true", help="fla's layer equations on the CPU, not its kernels")
    args = parser.parse_args()
    if args.equations:
        torch.set_num_threads(1)
        versions = {"fla_equations": "fla 0.6.0 layers as written out in lsrl.fla_equations"}
    else:
        import fla
        versions = {"fla": fla.__version__}
    results: dict[str, Any] = {"environment": {**environment(), **versions}, "length": args.length,
                               "seed": args.seed, "rows": []}
    run = measure_equations if args.equations else measure
    with tempfile.TemporaryDirectory() as scratch:
        for directory in sorted(p for p in args.models.iterdir() if (p / "config.json").is_file()):
            results["rows"].extend(run(directory, Path(scratch), args.length, args.seed))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
