"""Test-wide settings: one torch thread. The recurrences step through time with small matrix
products, which two competing intra-op threads slow down many times on a 2-core machine."""
import torch

torch.set_num_threads(1)

# No per-example deadline: timing is measured by bench/, not by tests, and a first example that imports
# sympy or torch's kernels on a loaded 2-core machine would otherwise fail as "flaky".
from hypothesis import settings  # noqa: E402

settings.register_profile("lsrl", deadline=None)
settings.load_profile("lsrl")
