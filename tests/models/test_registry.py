"""The registry of architecture classes: every name and alias is accepted by compile (programs and automata),
classify, train and reproduce where the class has that path, and refused with a message that says why where not."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from automata.classify import ARCHITECTURES as CLASSIFIER_CLASSES
from automata.tasks import get_task
from lsrl.cli import main
from lsrl.compiler.backends import backend
from lsrl.constructions.select import CONSTRUCTIONS
from lsrl.reproduce import EXPERIMENTS, UnknownExperiment, cells_of_classes, experiment
from lsrl.training.train import TrainConfig
from models import registry

TINY_PROGRAM = 'input x : symbols("a", "b")\noutput y = x[1]\n'
TINY_TRAIN = ("--steps", "2", "--batch", "4", "--d-model", "8", "--d-state", "4", "--train-length", "6",
              "--eval-lengths", "6", "--quiet")
NAMES = registry.names()

# The names of issue 12 and the class each must denote.
ISSUE_ALIASES = {"mamba": "diag-01", "mamba2": "diag-01", "gla": "diag-01", "mlstm": "diag-01", "hgrn": "diag-01",
                 "mamba-neg": "diag-neg", "lru": "rotation", "complex-diag": "rotation", "deltanet": "deltanet",
                 "deltanet-01": "deltanet-01", "gated-deltaproduct": "gated-deltaproduct", "hawk": "hawk",
                 "rglru": "hawk", "elman": "elman", "elman-tanh": "elman-tanh", "lstm": "lstm", "gru": "gru",
                 "lti": "lti", "dense-lrnn": "dense-lrnn", "diag-01": "diag-01", "diag-neg": "diag-neg",
                 "rotation": "rotation", "deltaproduct": "deltaproduct"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_names_are_unique_and_every_field_points_somewhere_real() -> None:
    assert len(NAMES) == len(set(NAMES))
    for arch in registry.ARCHITECTURES:
        assert arch.family in registry.FAMILIES
        assert arch.classifier is None or arch.classifier in CLASSIFIER_CLASSES
        assert arch.upgrade is None or registry.get(arch.upgrade).gains
        assert arch.automaton is None or arch.automaton in (*CONSTRUCTIONS, "deltaproduct")
        assert arch.gate_range is None or arch.gate_range[0] <= arch.gate_range[1]
        assert arch.paths() and set(arch.to_json()) >= {"name", "aliases", "transition", "state", "classifier",
                                                          "paths", "reference"}


@pytest.mark.parametrize("name, canonical", sorted(ISSUE_ALIASES.items()))
def test_the_issue_names_denote_their_class(name: str, canonical: str) -> None:
    assert registry.get(name).name == canonical


def test_the_gate_ranges_that_constructions_build_and_proofs_check_are_the_registrys() -> None:
    from lsrl.constructions.diagonal import diagonal
    from lsrl.constructions.householder import GATE_RANGE
    from proofs.spectral import DIAGONAL_CLASSES, HOUSEHOLDER_RANGE

    assert DIAGONAL_CLASSES == {"diag-01": (0, 1), "diag-neg": (-1, 1)}  # the diagonal classes the classifier knows
    assert HOUSEHOLDER_RANGE == registry.get("deltaproduct").gate_range == GATE_RANGE
    for task, name in (("tomita:1", "diag-01"), ("parity", "diag-neg")):
        compiled = diagonal(get_task(task).dfa, None, negative=name == "diag-neg")
        assert compiled.model.config.layers[0].gate_range == registry.get(name).gate_range == DIAGONAL_CLASSES[name]


def test_an_unknown_name_lists_the_names_and_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(registry.UnknownArchitecture, match="did you mean 'mamba'"):
        registry.get("mamab")
    code, _, err = run(capsys, "compile", "task:parity", "--arch", "mamab", "-o", "unused")
    assert code == 2 and "did you mean 'mamba'" in err and "deltanet-01" in err and "Traceback" not in err


@pytest.mark.parametrize("name", NAMES)
def test_compile_takes_every_name_for_automata(name: str, capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    code, out, err = run(capsys, "compile", "task:tomita:1", "--arch", name, "-o", str(tmp_path / "m"))
    if registry.get(name).has("automaton"):
        assert code == 0 and "certified for all lengths" in out
    else:
        assert code == 2 and "has no automaton construction here; classes with one:" in err


@pytest.mark.parametrize("name", NAMES)
def test_compile_takes_every_name_for_programs(name: str, capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    (tmp_path / "p.lsrl").write_text(TINY_PROGRAM)
    code, out, err = run(capsys, "compile", str(tmp_path / "p.lsrl"), "--arch", name, "-o", str(tmp_path / "m"))
    if registry.get(name).has("program"):
        assert code == 0 and "parameters" in out
    else:
        assert code == 2 and "has no lsrl program backend here; classes with one:" in err


def test_every_program_class_has_a_backend_named_for_it() -> None:
    for arch in registry.with_path("program"):
        assert backend(arch.name).name in arch.names


@pytest.mark.parametrize("name", NAMES)
def test_classify_takes_every_name(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "classify", "tomita:1", "--arch", name, "--json")
    klass = registry.get(name).classifier
    if klass is None:
        assert code == 2 and "the classifier has no class for" in err
    else:
        assert code == 0 and [v["architecture"] for v in json.loads(out)["verdicts"]] == [klass]


@pytest.mark.parametrize("name", NAMES)
def test_train_takes_every_name(name: str) -> None:
    arch = registry.get(name)
    assert TrainConfig("tomita:1", name).arch == arch.name


@pytest.mark.parametrize("arch", [a.name for a in registry.ARCHITECTURES])
def test_every_class_trains_two_steps_from_the_command_line(arch: str, capsys: pytest.CaptureFixture[str],
                                                            tmp_path) -> None:
    code, out, err = run(capsys, "train", "tomita:1", "--arch", arch, *TINY_TRAIN, "--out", str(tmp_path / "run"))
    assert code == 0 and "saved to" in out, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["meta"]["arch_id"] == arch


def test_train_refuses_a_gate_range_of_another_class(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "train", "parity", "--arch", "mamba", "--gate-range=-1,1", *TINY_TRAIN)
    assert code == 2 and "outside diag-01's [0.0, 1.0]: that is diag-neg" in err
    code, _, err = run(capsys, "train", "parity", "--arch", "deltanet", "--nh", "2", *TINY_TRAIN)
    assert code == 2 and "deltanet has n_h = 1" in err


@pytest.mark.parametrize("name", NAMES)
def test_reproduce_takes_every_name(name: str) -> None:
    """Each name selects its class's cells in the grids that have them; the others refuse it, naming theirs."""
    canonical = registry.get(name).name
    for experiment_name in EXPERIMENTS:
        cells = experiment(experiment_name).cells(False)
        if canonical in {cell.train.arch for cell in cells}:
            assert {cell.train.arch for cell in cells_of_classes(experiment_name, cells, (name,))} == {canonical}
        else:
            with pytest.raises(UnknownExperiment, match=f"not in the {experiment_name} grid; its classes:"):
                cells_of_classes(experiment_name, cells, (name,))


def test_a_theorem_refusal_names_the_class_that_can(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compile", "task:parity", "--arch", "mamba", "-o", "unused")
    assert code == 2 and "by a theorem" in err and "Sarrof" in err
    assert err.rstrip().endswith("needs negative eigenvalues: try mamba-neg")
    code, _, err = run(capsys, "compile", "task:mod:3", "--arch", "diag-neg", "-o", "unused")
    assert code == 2 and err.rstrip().endswith("needs complex eigenvalues: try rotation")


def test_archs_prints_every_class(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "archs", "--json")
    assert code == 0 and [a["name"] for a in json.loads(out)] == [a.name for a in registry.ARCHITECTURES]
    code, out, _ = run(capsys, "archs")
    assert code == 0 and all(a.name in out for a in registry.ARCHITECTURES)


def test_the_docs_table_is_the_registry() -> None:
    """docs/architectures.md lists every class with its aliases, classifier class and paths as registered."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architectures.md").read_text()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in doc.splitlines()
            if re.match(r"\| `[a-z0-9-]+` \|", line)]
    assert [(row[0], row[1], row[4], row[5]) for row in rows] == [
        (f"`{a.name}`", ", ".join(f"`{x}`" for x in a.aliases) or "—", f"`{a.classifier}`" if a.classifier else "—",
         ", ".join(a.paths())) for a in registry.ARCHITECTURES]
