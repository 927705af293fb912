"""Terminal rendering of library results with rich (tables in a terminal, plain text in a pipe)."""
from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console
from rich.table import Table

from automata.classify import Classification, Verdict
from models import registry

STATUS_STYLE = {"constructible": "green", "impossible": "red", "open": "yellow"}


def _construction_text(verdict: Verdict) -> str:
    c = verdict.construction
    if c is None:
        return ""
    size = [f"{c.layers} layer{'s' if c.layers != 1 else ''}" if c.layers is not None else "layers: not computed",
            f"state {c.state_size}" if c.state_size is not None else ""]
    if c.n_h is not None:
        size.append(f"n_h={c.n_h}")
    return f"{c.name} ({', '.join(s for s in size if s)})"


def _short_reference(reference: str) -> str:
    """'Sarrof, Veitsman, Hahn 2024, 'The Expressive ...'' -> 'Sarrof, Veitsman, Hahn 2024'."""
    return reference.split(", '")[0]


def _basis_text(verdict: Verdict) -> str:
    references = (verdict.theorem.reference,) if verdict.theorem is not None else verdict.references
    return "; ".join(_short_reference(r) for r in references)


def _why_text(verdict: Verdict) -> str:
    t = verdict.theorem
    condition = f" Assumes {t.condition}." if t.condition else ""
    return f"{verdict.architecture}: {t.statement}.{condition} ({t.reference})"


def _members(klass: str) -> str:
    """The registry's architecture classes that a classifier class covers."""
    return ", ".join(a.name for a in registry.ARCHITECTURES if a.classifier == klass)


def print_classification(name: str, result: Classification, console: Console | None = None,
                         only: str | None = None) -> None:
    """The monoid, its groups and the verdicts (of classifier class ``only``, if given)."""
    console = console or Console()
    verdicts = [v for v in result.verdicts if only in (None, v.architecture)]
    console.print(f"[bold]{name}[/bold]: minimal DFA with {result.n_states} states over "
                  f"{len(result.alphabet)} symbols")
    console.print(f"syntactic monoid: {result.monoid_size} elements, {result.n_idempotents} idempotents, "
                  f"{result.n_d_classes} D-classes; aperiodic: {'yes' if result.aperiodic else 'no'}"
                  f"{'; the monoid is a group' if result.monoid_is_group else ''}")
    if result.groups:
        groups = Table(title="maximal subgroups (one per regular D-class)", title_justify="left")
        for column in ("order", "abelian", "solvable", "2-group", "composition factors"):
            groups.add_column(column)
        for g in result.groups:
            groups.add_row(str(g.order), _yes(g.abelian), _yes(g.solvable), _yes(g.two_group),
                           ", ".join(g.composition_factors) or "-")
        console.print(groups)
    table = Table(title="verdicts", title_justify="left", show_lines=True)
    for column in ("architecture class", "verdict", "source", "construction", "reference"):
        table.add_column(column, overflow="fold")
    for v in verdicts:
        style = STATUS_STYLE.get(v.status, "")
        table.add_row(v.architecture, f"[{style}]{v.status}[/{style}]", v.source, _construction_text(v), _basis_text(v))
    console.print(table)
    console.print("architectures per class (lsrl archs): "
                  + "; ".join(f"{v.architecture}: {_members(v.architecture)}" for v in verdicts), highlight=False)
    for v in verdicts:
        if v.theorem is not None:
            console.print(_why_text(v), highlight=False)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def print_task_families(families: Iterable, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="named tasks", title_justify="left")
    for column in ("syntax", "what", "example"):
        table.add_column(column, overflow="fold")
    for family in families:
        table.add_row(family.syntax(), family.summary, family.example)
    console.print(table)


def print_architectures(console: Console | None = None) -> None:
    """The registry of architecture classes: names, transition class, state, classifier class, paths, paper."""
    console = console or Console()
    table = Table(title="architecture classes (--arch takes a name or an alias)", title_justify="left",
                  show_lines=True, box=box.SIMPLE)
    table.add_column("name", no_wrap=True)
    table.add_column("aliases", overflow="fold")
    table.add_column("transition; state", overflow="fold", ratio=1)
    table.add_column("classifier", no_wrap=True)
    table.add_column("paths", no_wrap=True)
    for a in registry.ARCHITECTURES:
        table.add_row(a.name, "\n".join(a.aliases), f"{a.transition}; state: {a.state}", a.classifier or "-",
                      "\n".join(a.paths()))
    console.print(table)
    for a in registry.ARCHITECTURES:
        console.print(f"{a.name}: {a.reference}", highlight=False)
