"""Test-wide settings: one torch thread. The recurrences step through time with small matrix
products, which two competing intra-op threads slow down many times on a 2-core machine."""
import torch

torch.set_num_threads(1)
