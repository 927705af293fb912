"""Turn bench/results/kernels_*.json into bench/results/SUMMARY.md and the results section of docs/kernels.md.

    python bench/kernels_summary.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "kernels.md"
BEGIN, END = "<!-- results:begin (bench/kernels_summary.py) -->", "<!-- results:end -->"


def _load() -> list[dict]:
    records = []
    for path in sorted(RESULTS.glob("kernels_*.json")):
        records.append(json.loads(path.read_text()) | {"file": path.name})
    return records


def _shape(shape: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in shape.items())


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _table(rows: list[dict], reference: dict[tuple, float], key) -> list[str]:
    """One markdown row per measurement; ratio = time of ours / time of this row's implementation (> 1: ours slower)."""
    lines = ["| op | impl | mode | shape | dtype | ms | rate | ours / this (time) | note |",
             "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        ours = reference.get(key(r))
        ratio = f"{ours / r['ms']:.2f}" if ours and r["ms"] and not r["impl"].startswith("ours") else ""
        rate = f"{r['rate']:.0f} {r['rate_unit']}" if r["rate"] and r["rate_unit"] == "GB/s" else (
            f"{r['rate']:.2f} {r['rate_unit']}" if r["rate"] else "")
        extra = f" tile {r['extra']['tile']}" if r.get("extra", {}).get("tile") else ""
        lines.append(f"| {r['op']} | {r['impl']}{extra} | {r['mode']} | {_shape(r['shape'])} | {r['dtype']} | "
                     f"{_fmt(r['ms'])} | {rate} | {ratio} | {r['note']} |")
    return lines


def _key(r: dict) -> tuple:
    return (r["op"], r["mode"], r["dtype"], json.dumps(r["shape"], sort_keys=True))


def _headline(records: list[dict]) -> list[str]:
    """The targets, each as measured in one run."""
    rows = [r for rec in records for r in rec["results"]]
    find = lambda **kw: [r for r in rows if all(r.get(k) == v for k, v in kw.items())]  # noqa: E731
    lines = ["| target | measured | ratio | met |", "| --- | --- | ---: | --- |"]
    copy = find(op="copy")
    scan_rows = find(op="diagonal_scan", mode="fwd", dtype="float32")
    scan_rows = [r for r in scan_rows if r["shape"].get("T") == 16384 and r["impl"].startswith("ours") and r["ms"]]
    if copy and scan_rows:
        best = min(scan_rows, key=lambda r: r["ms"])
        share = best["rate"] / copy[0]["rate"]
        lines.append(f"| scan fwd B=8 T=16384 D=2048 fp32 >= 80% of copy bandwidth ({copy[0]['rate']:.0f} GB/s) | "
                     f"{best['ms']:.3f} ms, {best['rate']:.0f} GB/s ({best['impl']} {best['extra'].get('tile', '')}) | "
                     f"{share:.2f} | {'yes' if share >= 0.8 else 'no'} |")
    for mode, need, n in (("fwd", 1.0, 1), ("fwd", 1.0, 2), ("fwd", 1.0, 3), ("fwd+bwd", 0.9, 2)):
        for gated in (True, False):
            fla = [r for r in find(op="delta_product", impl="fla chunk_gated_delta_product", mode=mode)
                   if r["shape"]["n_h"] == n and r["shape"]["gated"] == gated]
            ours_rows = [r for r in rows if r["op"] == "delta_product" and r["mode"] == mode
                         and (r["impl"] == "ours" or r["impl"].startswith("ours, "))
                         and r["dtype"] == "bfloat16" and r["shape"]["n_h"] == n and r["shape"]["gated"] == gated
                         and r["ms"]]
            peer = [r for r in find(op="delta_product", mode=mode, dtype="float32")
                    if r["impl"].startswith("ours float32") and r["shape"]["n_h"] == n
                    and r["shape"]["gated"] == gated and r["ms"]]
            for ours in ours_rows:
                ratio = fla[0]["ms"] / ours["ms"] if fla and fla[0]["ms"] else None
                lines.append(f"| DeltaProduct {mode} n_h={n} gated={gated}: fla time / ours >= {need} | "
                             f"{ours['impl']} {ours['ms']:.2f} ms, fla {_fmt(fla[0]['ms'] if fla else None, 2)} ms | "
                             f"{_fmt(ratio, 2)} | {'—' if ratio is None else ('yes' if ratio >= need else 'no')} |")
                if ratio is None and peer:
                    own = peer[0]["ms"] / ours["ms"]
                    lines.append(f"| DeltaProduct {mode} n_h={n} gated={gated}, fla's backward not run "
                                 f"({fla[0]['note'].removeprefix('not run: ') if fla else 'no fla'}): ours float32 "
                                 f"time / ours >= {need} | {ours['impl']} {ours['ms']:.2f} ms, ours float32 "
                                 f"{peer[0]['ms']:.2f} ms | {own:.2f} | {'yes' if own >= need else 'no'} |")
    for cell in ("lstm", "gru", "elman"):
        for hidden in (256, 512):
            for mode in ("fwd", "fwd+bwd"):
                lines += _rnn_target(find, cell, hidden, mode)
    return lines


def _rnn_target(find, cell: str, hidden: int, mode: str) -> list[str]:
    """cuDNN (the faster of fp32 and tf32) time / ours in the faster of our tf32 and bf16 modes; ieee beside."""
    def best(impls):
        rows = [r for impl in impls for r in find(op=f"rnn_{cell}", impl=impl, mode=mode)
                if r["shape"]["H"] == hidden and r["ms"]]
        return min(rows, key=lambda r: r["ms"]) if rows else None
    fast, exact, peer = best(("ours tf32", "ours bf16")), best(("ours",)), best(("cudnn", "cudnn tf32"))
    if not (fast and peer):
        return []
    ratio = peer["ms"] / fast["ms"]
    exact_note = f"; ieee {exact['ms']:.2f} ms, ratio {peer['ms'] / exact['ms']:.2f}" if exact else ""
    return [f"| {cell} {mode} B=16 T=1024 H={hidden}: cuDNN time / ours (tf32 or bf16) >= 1 | "
            f"{fast['impl']} {fast['ms']:.2f} ms, {peer['impl']} {peer['ms']:.2f} ms{exact_note} | {ratio:.2f} | "
            f"{'yes' if ratio >= 1 else 'no'} |"]


def render(records: list[dict]) -> str:
    """The whole summary as markdown."""
    out = ["# Kernel benchmark summary", "",
           "Generated by `python bench/kernels_summary.py` from `bench/results/kernels_*.json`; do not edit.",
           "Times are medians of `triton.testing.do_bench` (CUDA events, warm-up, L2 flushed between runs).",
           "The ratio column is ours / this row's time for the same op, mode, dtype and shape: below 1 means "
           "ours is faster, above 1 slower.", "", "## Targets", ""]
    out += _headline(records)
    for rec in records:
        env = rec["environment"]
        out += ["", f"## {rec['suite']} (`{rec['file']}`)", "",
                f"{env.get('device')}, torch {env.get('torch')}, triton {env.get('triton')}, fla {env.get('fla')}, "
                f"cuDNN {env.get('cudnn')}; suite ran {rec['seconds']} s.", ""]
        rows = rec["results"]
        reference = {_key(r): r["ms"] for r in rows if r["impl"] == "ours" and r["ms"]}
        out += _table(rows, reference, _key)
    out += _compiled_long()
    return "\n".join(out) + "\n"


def _compiled_long() -> list[str]:
    """The target "compiled automaton models run on the GPU kernels at T = 1,000,000 and stay exact",
    from ``bench/compiled_long.py``'s JSON."""
    path = RESULTS / "compiled_long.json"
    if not path.exists():
        return []
    rec = json.loads(path.read_text())
    env = rec["environment"]
    out = ["", "## Compiled automaton models on long strings (`compiled_long.json`)", "",
           f"{env.get('device')}, torch {env.get('torch')}, triton {env.get('triton')}; float32, random strings; "
           "every position compared with the DFA.", "",
           "| task | class | construction | layers | state | length | positions | wrong | seconds |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rec["results"]:
        if "error" in r:
            out.append(f"| {r['task']} | {r['arch']} | error: {r['error']} | | | | | | |")
            continue
        size = r["size"]
        out.append(f"| {r['task']} | {r['arch']} | {r['construction']} | {size['layers']} | {size['state_size']} | "
                   f"{r['length']:,} | {r['positions']:,} | {r['wrong_positions']} | {r['seconds']:.2f} |")
    return out


def main() -> None:
    records = _load()
    if not records:
        sys.exit("no bench/results/kernels_*.json; run bench/kernels.py on a GPU first")
    text = render(records)
    (RESULTS / "SUMMARY.md").write_text(text)
    doc = DOC.read_text()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        section = text.split("\n", 2)[2].replace("\n## ", "\n### ")
        DOC.write_text(f"{head}{BEGIN}\n{section}\n{END}{tail}")


if __name__ == "__main__":
    main()
