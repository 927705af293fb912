"""Formatting of records into table cells, shared by the experiments."""
from __future__ import annotations

from typing import Any

from lsrl.reproduce.tables import percent


def metric_at(record: dict[str, Any], length: int, key: str = "token") -> float:
    return next(m[key] for m in record["metrics"] if m["length"] == length)


def longest(record: dict[str, Any]) -> int:
    return max(m["length"] for m in record["metrics"])


def solved(record: dict[str, Any]) -> bool:
    """Every evaluated string right at the longest length, and (when extracted) the extracted
    automaton equivalent to the task's."""
    extraction = record.get("extraction")
    return metric_at(record, longest(record), "sequence") == 1.0 and (extraction is None or extraction["equivalent"])


def verdict_text(record: dict[str, Any]) -> str:
    v = record["verdict"]
    return "—" if v is None else f"{v['status']} ({v['source']})"


def compiled_text(record: dict[str, Any]) -> str:
    c = record["compiled"]
    if c is None:
        return "—"
    if not c["ok"]:
        return f"no ({c['reason']})"
    size = c["size"]
    return f"yes ({size['layers']} layer{'s' if size['layers'] > 1 else ''}, state {size['state_size']})"


def extraction_text(record: dict[str, Any]) -> str:
    e = record.get("extraction")
    if e is None:
        return "—"
    if e["equivalent"]:
        return f"yes ({e['states']} states)"
    word = " ".join(e["counterexample"] or ()) if e["counterexample"] is not None else ""
    return f"no (counterexample: {word or 'ε'})" if e["complete"] else f"no (search open; {word or 'ε'})"


def scaled_cell(record: dict[str, Any], length: int) -> str:
    return f"{metric_at(record, length, 'scaled'):.2f}"


def mean_scaled(record: dict[str, Any], low: int, high: int) -> float | None:
    """Mean scaled accuracy over the evaluated lengths in [low, high] (the score of Deletang et al.
    2023 and Grazzi et al. 2025: accuracy averaged over the test lengths), or None if none lies there."""
    inside = [m["scaled"] for m in record["metrics"] if low <= m["length"] <= high]
    return sum(inside) / len(inside) if inside else None


def mean_scaled_cell(record: dict[str, Any], low: int, high: int) -> str:
    value = mean_scaled(record, low, high)
    return "—" if value is None else f"{value:.2f}"


def accuracy_cell(record: dict[str, Any], length: int) -> str:
    return percent(metric_at(record, length))
