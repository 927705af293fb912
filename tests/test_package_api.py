"""Each package names its public API in its ``__init__``: a one-line docstring and an ``__all__`` whose names resolve."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ("lsrl", "automata", "models", "kernels", "proofs")
# The units of the import graph (tests/test_import_graph.py): the top-level packages and lsrl's sub-packages.
PACKAGES = (*TOP_LEVEL, *sorted(f"lsrl.{p.parent.name}" for p in (ROOT / "lsrl").glob("*/__init__.py")))
# Importing these must not load torch: `lsrl verify` of an exact certificate runs without it, and every
# module of a package runs the package's __init__ first.
LIGHT = tuple(p for p in PACKAGES if p != "kernels")


def _init(package: str) -> ast.Module:
    path = ROOT.joinpath(*package.split("."), "__init__.py")
    return ast.parse(path.read_text(), str(path))


def test_the_packages_are_found():
    assert {"lsrl.lang", "lsrl.compiler", "lsrl.constructions", "lsrl.training", "lsrl.reproduce",
            "lsrl.cli"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_docstring_is_one_line(package: str):
    docstring = ast.get_docstring(_init(package))
    assert docstring, f"{package}/__init__.py has no docstring"
    assert "\n" not in docstring.strip(), f"{package}/__init__.py: docstring of {len(docstring.splitlines())} lines"


@pytest.mark.parametrize("package", PACKAGES)
def test_all_names_resolve(package: str):
    """Every name of ``__all__`` is an object of the package, also once a submodule of that name is imported: such a
    submodule (``check`` in ``lsrl.lang``) replaces a lazily exported name, so that name cannot be exported."""
    module = importlib.import_module(package)
    names = module.__all__
    assert names and len(set(names)) == len(names), f"{package}.__all__ is empty or repeats a name"
    for name in names:
        assert not name.startswith("_"), f"{package}.__all__ lists the private name {name}"
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            importlib.import_module(f"{package}.{name}")
        value = getattr(module, name)
        assert not isinstance(value, ModuleType), f"{package}.{name} is a module, not an API name"


def test_a_missing_name_is_an_attribute_error():
    for package in PACKAGES:
        assert not hasattr(importlib.import_module(package), "no_such_name"), package


def test_importing_the_light_packages_does_not_load_torch():
    code = (f"import sys; import {', '.join(LIGHT)}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
