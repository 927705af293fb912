"""Training from a saved model directory (``lsrl train TASK --arch A --init DIR``): the compiled or trained model in
DIR, checked to be of class A and to read the task's symbols, is the run's initial model."""
from __future__ import annotations

from pathlib import Path

from automata.errors import LsrlInputError
from automata.tasks import Task
from models import registry
from models.checkpoint import load, read_config
from models.config import ModelConfig
from models.stack import RecurrentModel


class InitMismatch(LsrlInputError):
    """An --init directory whose model is not of the run's class or does not fit the run's task."""


def saved_class(directory: str | Path) -> registry.Architecture:
    """The class a model directory records: a training run's ``arch`` or a compilation's."""
    document = read_config(directory)
    run = document.get("run")
    name = run.get("train", {}).get("arch") if isinstance(run, dict) else document.get("arch")
    if not isinstance(name, str):
        raise InitMismatch(f"{directory}: config.json records no architecture class ('arch')")
    try:
        return registry.get(name)
    except registry.UnknownArchitecture as err:
        raise InitMismatch(f"{directory}: {err}") from None


def check_family(config: ModelConfig, arch: registry.Architecture, directory: str | Path) -> None:
    """``config`` builds modules of ``arch``'s class: its family (or a subclass of it, as Mamba's selective input is
    of the diagonal recurrence), the class's fixed layer settings, and gate ranges inside the class's."""
    family = registry.recurrence_class(config.arch)
    if not issubclass(family, registry.recurrence_class(arch.family)):
        raise InitMismatch(f"{directory}: its modules are {config.arch!r}, not {arch.name}'s {arch.family!r}")
    fixed = dict(arch.layer) | ({"n_h": arch.n_h} if arch.n_h is not None else {})
    for i, layer in enumerate(config.layers):
        wrong = [name for name, value in fixed.items() if getattr(layer, name) != value]
        lo, hi = arch.gate_range or layer.gate_range
        if wrong or not lo <= layer.gate_range[0] <= layer.gate_range[1] <= hi:
            what = f"{wrong[0]} = {getattr(layer, wrong[0])!r}" if wrong else f"gate range {list(layer.gate_range)}"
            raise InitMismatch(f"{directory}: layer {i} has {what}, outside class {arch.name}")


def initial_model(directory: str | Path, arch_name: str, task: Task) -> RecurrentModel:
    """The model saved in ``directory`` if it is of class ``arch_name`` and reads ``task``'s symbols into at least
    its labels; training continues in its own parametrisation (a compiled model keeps its exact, piecewise-linear
    gates, so training starts from the compiled function)."""
    arch = registry.get(arch_name)
    saved = saved_class(directory)
    if saved.name != arch.name:
        raise InitMismatch(f"{directory} holds a {saved.name} model, not {arch.name}: "
                           f"train it with --arch {saved.name}")
    model = load(directory)
    config = model.config
    check_family(config, arch, directory)
    if config.d_input:
        raise InitMismatch(f"{directory}: the model reads real vectors of width {config.d_input} (a compiled program), "
                           f"not the symbols of {task.name}")
    if config.n_symbols != task.dfa.n_symbols or config.n_labels < task.n_labels:
        raise InitMismatch(f"{directory}: the model reads {config.n_symbols} symbols into {config.n_labels} labels; "
                           f"{task.name} has {task.dfa.n_symbols} symbols and {task.n_labels} labels")
    return model
