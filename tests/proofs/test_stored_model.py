"""The torch-free reader of saved models (``proofs.stored_model``): the values it decodes are the stored floats, a
weights file the safetensors library refuses is refused, and ``lsrl verify`` of an exact certificate runs without torch."""
from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models import checkpoint
from models.config import LayerConfig, ModelConfig
from models.stack import RecurrentModel
from proofs.stored_model import StoredModel, load_stored

ROOT = Path(__file__).resolve().parents[2]
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_the_decoded_values_are_the_stored_floats(tmp_path: Path, dtype: str) -> None:
    config = ModelConfig("deltaproduct", 3, 2, 4, (LayerConfig(d_state=2, mlp_hidden=3, gate_range=(0.0, 2.0),
                                                                n_h=2, gated=True),), exact=True, dtype=dtype)
    torch.manual_seed(0)
    model = RecurrentModel(config).to(getattr(torch, dtype))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p, dtype=torch.float64) * 1e3)
    checkpoint.save(model, tmp_path / "m")
    stored = load_stored(tmp_path / "m")
    assert isinstance(stored, StoredModel) and stored.config == config
    state = model.state_dict()
    assert stored.arrays.keys() == state.keys()
    for name, t in state.items():
        assert (stored.arrays[name] == t.double().numpy()).all(), name


def _safetensors(tmp_path: Path, entries: dict[str, list[int]], data_bytes: int) -> Path:
    header = json.dumps({name: {"dtype": "F32", "shape": [1], "data_offsets": offsets}
                         for name, offsets in entries.items()}).encode()
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(data_bytes))
    return path


@pytest.mark.parametrize("entries, data_bytes, message", [
    ({"a": [0, 4], "b": [0, 4]}, 4, "overlaps"),
    ({"a": [0, 4], "b": [8, 12]}, 12, "leaves a gap"),
    ({"a": [0, 4], "b": [4, 8]}, 12, "4 bytes after the last tensor"),
    ({"a": [0, 8], "b": [8, 12]}, 12, "8 bytes of data for float32 [1]"),
])
def test_a_weights_file_the_safetensors_library_refuses_is_refused(tmp_path, entries, data_bytes, message) -> None:
    path = _safetensors(tmp_path, entries, data_bytes)
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(message)):
        checkpoint.check_header(path, {"a": ((1,), "float32"), "b": ((1,), "float32")})


def test_verify_of_an_exact_certificate_does_not_import_torch(tmp_path: Path) -> None:
    from lsrl.cli import main

    assert main(["compile", "task:parity", "--arch", "deltaproduct", "-o", str(tmp_path / "p")]) == 0
    script = ("import sys; from lsrl.artifacts import verify_directory; s = verify_directory(sys.argv[1]); "
              "assert s['kind'] == 'exact', s; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "p")], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert run.stdout.strip() == "[]"
