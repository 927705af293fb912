"""Median device time of a callable (CUDA events through triton.testing.do_bench) and the run's environment."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch

from bench.environment import environment


@dataclass(frozen=True)
class Measurement:
    """One timed configuration; ``rate`` is GB/s or TFLOP/s as ``rate_unit`` says, or None."""

    op: str
    impl: str
    mode: str
    shape: dict[str, Any]
    dtype: str
    ms: float | None
    rate: float | None = None
    rate_unit: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def median_ms(fn: Callable[[], Any], warmup_ms: int = 50, rep_ms: int = 300) -> float:
    """Median of repeated CUDA-event timings after a warm-up (do_bench flushes L2 between runs)."""
    from triton.testing import do_bench

    return float(do_bench(fn, warmup=warmup_ms, rep=rep_ms, return_mode="median"))


def gpu_environment() -> dict[str, Any]:
    """bench.environment's record plus what GPU results depend on: SM count, cuDNN and fla versions."""
    env = environment()
    try:
        import fla

        env["fla"] = getattr(fla, "__version__", "unknown")
    except ImportError:
        env["fla"] = None
    if torch.cuda.is_available():
        env["sms"] = torch.cuda.get_device_properties(0).multi_processor_count
        env["cudnn"] = torch.backends.cudnn.version()
    return env


def copy_bandwidth_gbs(n_bytes: int = 2 << 30) -> float:
    """Device-to-device copy rate, counting bytes read plus bytes written (the scan's roofline)."""
    src = torch.empty(n_bytes // 4, dtype=torch.float32, device="cuda").uniform_()
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    return 2 * n_bytes / ms / 1e6
