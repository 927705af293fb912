"""Accuracy against evaluation length, one panel per task and one line per class (matplotlib,
imported only when a plot is drawn, with the file-only Agg backend)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def accuracy_by_length(records: Sequence[dict[str, Any]], path: Path, title: str, key: str = "token") -> Path:
    """Plot ``key`` accuracy against length for every record, grouped into one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in records))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for r in (r for r in records if r["task"] == task):
            ax.plot([m["length"] for m in r["metrics"]], [m[key] for m in r["metrics"]], marker="o", label=r["label"])
        ax.axvline(next(r["train_length"] for r in records if r["task"] == task), color="grey", linestyle=":")
        ax.set(title=task, xlabel="length", ylabel=f"{key} accuracy", ylim=(0, 1.05), xscale="log")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
