"""Recurrences as Triton kernels beside PyTorch references: diagonal scan, DeltaProduct, Elman/LSTM/GRU."""
from __future__ import annotations

from kernels.delta_product import gated_delta_product
from kernels.rnn import rnn_layer, rnn_recurrence
from kernels.scan import diagonal_scan

__all__ = ["diagonal_scan", "gated_delta_product", "rnn_layer", "rnn_recurrence"]
