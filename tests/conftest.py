"""Test-wide settings: one torch thread, Triton's interpreter without a GPU. The recurrences step through time
with small matrix products, which two competing intra-op threads slow down many times on a 2-core machine."""
import os
import sys

import torch

torch.set_num_threads(1)

# Triton decides at import whether ``@triton.jit`` compiles or interprets (the helpers a kernel calls too), so
# without a GPU TRITON_INTERPRET=1 is set before triton is first imported and the choice is pinned in
# triton.knobs, whichever test file runs first; the variable itself is restored so that the kernels'
# dispatcher keeps sending other tests' CPU tensors to the PyTorch references.
if not torch.cuda.is_available() and "triton" not in sys.modules:
    _saved = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        import triton

        triton.knobs.runtime.interpret = True
    except ImportError:
        pass
    finally:
        if _saved is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = _saved

# No per-example deadline: timing is measured by bench/, not by tests, and a first example that imports
# sympy or torch's kernels on a loaded 2-core machine would otherwise fail as "flaky".
from hypothesis import settings  # noqa: E402

settings.register_profile("lsrl", deadline=None)
settings.load_profile("lsrl")
