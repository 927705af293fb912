"""Device name and library versions recorded with every benchmark result."""
from __future__ import annotations

import platform
import sys
from typing import Any


def environment() -> dict[str, Any]:
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(),
                            "processor": platform.processor() or platform.machine()}
    try:
        import numpy
        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    try:
        import torch
        info["torch"] = torch.__version__
        info["device"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    except ImportError:
        info["device"] = "cpu"
    try:
        import triton
        info["triton"] = triton.__version__
    except ImportError:
        pass
    return info
