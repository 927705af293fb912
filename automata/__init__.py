"""Finite automata and their algebra: DFAs, regexes, minimisation, transition monoids, the classifier, the task library."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use: every package imports automata.errors, which
# must not load the regex grammar, numpy or the task library with it. A function named like its module
# (classify.classify, minimize.minimize) is not here: once the module is imported, the package attribute is the module.
__all__, __getattr__ = lazy_exports(__name__, {
    "dfa": ("DFA",),
    "nfa": ("NFA", "determinize"),
    "regex": ("parse_regex", "regex_to_dfa", "regex_to_nfa", "render_regex"),
    "minimize": ("equivalence_classes", "is_minimal"),
    "equivalence": ("equivalent", "find_counterexample", "first_label_difference"),
    "product": ("complement", "difference", "intersection", "symmetric_difference", "union"),
    "monoid": ("MonoidTooLarge", "transition_monoid"),
    "green": ("green_structure",),
    "classify": ("ARCHITECTURES", "Classification", "Verdict", "classify_labelling"),
    "finite_groups": ("FiniteGroup", "alternating_group", "cyclic_group", "dihedral_group", "klein_four_group",
                      "quaternion_group", "symmetric_group"),
    "tasks": ("ALIASES", "LIBRARY", "TASKS", "Task", "get_task", "known_tasks", "parse_task_name", "task_families",
              "task_names"),
    "generate": ("default_alphabet", "random_dfa"),
    "fileformat": ("dfa_from_json", "dfa_to_json", "load_dfa", "save_dfa", "write_atomic"),
    "att_format": ("load_att", "save_att"),
    "bounded_input": ("InputLimitError", "load_json", "parse_rational", "read_text"),
    "limits": ("LimitExceeded",),
    "errors": ("AutomatonError", "FileFormatError", "InvalidOption", "LsrlInputError", "MissingTransition",
               "RegexSyntaxError", "UnknownArchitecture", "UnknownSymbol", "UnknownTask"),
})
