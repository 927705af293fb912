"""What a model was made from, saved as the "meta" object of its config.json: the task a trained model
learnt, the automaton construction a compiled one came from (with the facts its certificates read), or the program."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TrainingOrigin:
    """A model trained by ``lsrl train`` on the task ``task`` as the registry class ``arch_id`` (canonical name)."""

    task: str
    arch_id: str

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "arch_id": self.arch_id}


@dataclass(frozen=True)
class ConstructionOrigin:
    """A model compiled from an automaton by the construction named ``construction``; the other fields are the
    facts of that construction that its certificates and bounds read (each left at its default where it has none)."""

    construction: str
    description: str | None = None  # Householder constructions: the state encoding, in words
    bits: int | None = None  # bit codes on a diagonal layer: the number of bits
    level_sizes: tuple[int, ...] = ()  # holonomy cascades: the states of each level
    components: tuple[str, ...] = ()  # permuting cascades: "counter3@level2", "target2@level0", ...
    moduli: tuple[int, ...] = ()  # rotations by cyclic factors: the factors' orders
    primes: tuple[int, ...] = ()  # group cascades: the prime of each level
    reset_gate: float | None = None  # cascades with reset traces: the gate lambda of a reset
    exact_values: bool = True  # False: reset traces make the reachable channel values infinitely many
    safe_length: int | None = None  # channels that drift in float: the proved safe length; None: every length

    @property
    def rotation_orders(self) -> tuple[int, ...]:
        """The orders of the rotations the model stores: its cyclic factors', else its cascade levels' primes."""
        return self.moduli or self.primes

    @property
    def counter_orders(self) -> tuple[int, ...]:
        """The distinct orders of a permuting cascade's counters ("counter3@level2" has order 3), ascending."""
        names = (c.split("@")[0] for c in self.components)
        return tuple(sorted({int(n[len("counter"):]) for n in names if n.startswith("counter")}))

    def to_json(self) -> dict[str, Any]:
        """The fields that differ from their defaults, tuples as lists (the layout lsrl has always written)."""
        return {f.name: list(v) if isinstance(v, tuple) else v for f in fields(self)
                if (v := getattr(self, f.name)) != f.default}


@dataclass(frozen=True)
class ProgramIO:
    """An input or output of a compiled program: its name, its width and, for a one-hot input, its symbols."""

    name: str
    dim: int
    alphabet: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProgramOrigin:
    """A model compiled from an lsrl program: the program's hash (``lsrl verify`` recompiles and compares it),
    the architecture asked for, the longest input it was proved for (None: any) and its inputs and outputs."""

    program_hash: str
    compiled_for: str
    max_length: int | None
    inputs: tuple[ProgramIO, ...]
    outputs: tuple[ProgramIO, ...]

    def to_json(self) -> dict[str, Any]:
        return {"program_hash": self.program_hash, "compiled_for": self.compiled_for, "max_length": self.max_length,
                "inputs": [[p.name, p.dim, list(p.alphabet) if p.alphabet else None] for p in self.inputs],
                "outputs": [[p.name, p.dim] for p in self.outputs]}


Origin = TrainingOrigin | ConstructionOrigin | ProgramOrigin
# The field whose presence tells which origin a saved "meta" object records (it has no kind tag).
ORIGIN_KEYS: dict[str, type] = {"construction": ConstructionOrigin, "program_hash": ProgramOrigin,
                                "arch_id": TrainingOrigin}


def origin_to_json(origin: Origin | None) -> dict[str, Any]:
    return {} if origin is None else origin.to_json()
