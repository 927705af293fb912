"""lsrl export: the exported weights, read with fla 0.6.0's layer equations (lsrl.fla_equations) in float64 and
float32, give the compiled model's labels; refusals; the files of --to fla and --to hf."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from lsrl import fla_equations
from lsrl.cli import main
from models import registry
from models.checkpoint import load

# Constructions whose export records no deviation: every part has an exact identity in fla's layers.
EXPORTABLE = [("parity", "deltanet"), ("tomita:1", "deltanet"), ("tomita:1", "mamba"), ("flipflop", "diag-01"),
              ("no-aa", "diag-01"), ("parity", "deltaproduct"), ("mod:3", "deltaproduct")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("export")
    out = {}
    for task, arch in EXPORTABLE:
        compiled, fla = root / f"{arch}-{task}", root / f"{arch}-{task}-fla"
        assert main(["compile", f"task:{task}", "--arch", arch, "-o", str(compiled)]) == 0
        assert main(["export", str(compiled), "--to", "fla", "-o", str(fla)]) == 0
        out[task, arch] = compiled, fla
    return out


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("case", EXPORTABLE, ids=lambda c: f"{c[1]}-{c[0]}")
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_exported_stack_gives_the_compiled_labels(exported: dict, case: tuple[str, str], dtype: torch.dtype,
                                                  data: st.DataObject) -> None:
    """In float32 this also checks the identities the export rests on (SiLU halving small values, the norms' eps
    absorbing small sums) in the arithmetic they are claimed for."""
    compiled, fla = exported[case]
    model = load(compiled).double()
    symbols = data.draw(st.lists(st.integers(0, model.config.n_symbols - 1), min_size=1, max_size=60))
    expected = model.predict(torch.tensor([symbols]))[0]
    assert torch.equal(fla_equations.labels(fla, symbols, dtype), expected)


def test_export_records_no_deviation_where_identities_hold(exported: dict) -> None:
    for case, (_, fla) in exported.items():
        assert all(layer["deviations"] == [] for layer in json.loads((fla / "config.json").read_text())["layers"]), case
    layer = json.loads((exported["parity", "deltanet"][1] / "config.json").read_text())["layers"][0]
    assert layer["cls"] == "DeltaNet" and layer["kwargs"]["allow_neg_eigval"] is True


def test_export_names_what_fla_cannot_hold(tmp_path: Path) -> None:
    """One beta with keys of two norms: fla's beta |k|^2 would have to differ for one pre-activation."""
    from models.checkpoint import save
    from models.config import LayerConfig, ModelConfig
    from models.stack import RecurrentModel

    model = RecurrentModel(ModelConfig("deltaproduct", 2, 2, 2, (LayerConfig(d_state=2, d_value=1, gate_range=(0.0, 2.0)),),
                                       exact=True))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embedding.weight.copy_(torch.eye(2))
        rec = model.blocks[0].recurrence
        rec.to_k.weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 1.0]]))  # keys (1, 0) and (1, 1)
        rec.to_beta.bias.fill_(1.0)
    save(model, tmp_path / "m", {"arch": "deltanet"})
    assert main(["export", str(tmp_path / "m"), "--to", "fla", "-o", str(tmp_path / "x")]) == 0
    deviations = json.loads((tmp_path / "x" / "config.json").read_text())["layers"][0]["deviations"]
    assert any("key norms^2 take 2 values" in d for d in deviations)
    assert any("lie on no sigmoid line" in d for d in deviations)


def test_deltaproduct_runs_as_deltanet_substeps(exported: dict) -> None:
    layer = json.loads((exported["mod:3", "deltaproduct"][1] / "config.json").read_text())["layers"][0]
    assert layer["cls"] == "DeltaNet" and layer["substeps"] >= 2


def test_hf_folder_has_fla_model_config(exported: dict, tmp_path: Path) -> None:
    out = tmp_path / "hf"
    assert main(["export", str(exported["tomita:1", "mamba"][0]), "--to", "hf", "-o", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "hgrn" and config["architectures"] == ["HGRNForCausalLM"]
    tensors = load_file(out / "model.safetensors")
    assert tensors["model.embeddings.weight"].shape == (config["vocab_size"], config["hidden_size"])
    assert not tensors["model.layers.0.mlp.down_proj.weight"].any()


@pytest.mark.parametrize("arch", [a.name for a in registry.ARCHITECTURES if a.fla is None and a.has("automaton")])
def test_classes_without_an_fla_layer_are_refused(arch: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    compiled = tmp_path / "m"
    task = "task:tomita:1" if arch != "rotation" else "task:parity"
    assert main(["compile", task, "--arch", arch, "-o", str(compiled)]) == 0
    capsys.readouterr()
    assert main(["export", str(compiled), "--to", "fla", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"no layer for {arch}" in err and "Traceback" not in err and not (tmp_path / "x").exists()


def test_fla_and_transformers_load_the_exports_or_skip(exported: dict, tmp_path: Path) -> None:
    """fla's layers take the exported state dicts (strict), and transformers loads the --to hf folder into fla's
    model class with every tensor as written; running them needs CUDA (tests/models/test_export_fla.py)."""
    pytest.importorskip("fla", reason="flash-linear-attention is not installed (pip install '.[fla]')")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install '.[fla]')")
    from lsrl.export import load_fla

    assert len(load_fla(exported["mod:3", "deltaproduct"][1], "chunk").mixers) == 1
    folder = tmp_path / "hf"
    assert main(["export", str(exported["tomita:1", "mamba"][0]), "--to", "hf", "-o", str(folder)]) == 0
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, use_kernels=False)
    written = load_file(folder / "model.safetensors")
    assert type(model).__name__ == "HGRNForCausalLM"
    assert all(torch.equal(model.state_dict()[name].float(), tensor) for name, tensor in written.items())


def test_trained_models_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from models.checkpoint import save
    from models.config import LayerConfig, ModelConfig
    from models.stack import RecurrentModel

    save(RecurrentModel(ModelConfig("diag", 2, 2, 8, (LayerConfig(d_state=4),))), tmp_path / "m", {"arch": "diag-01"})
    assert main(["export", str(tmp_path / "m"), "--to", "fla", "-o", str(tmp_path / "x")]) == 2
    assert "takes compiled models" in capsys.readouterr().err


def test_program_models_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert main(["compile", str(examples / "parity.lsrl"), "--arch", "deltaproduct", "-o", str(tmp_path / "m")]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "m"), "--to", "fla", "-o", str(tmp_path / "x")]) == 2
    assert "reads real vectors" in capsys.readouterr().err
