"""Package attributes loaded on first use (PEP 562), so that a package names its public API in one place without
importing what that API pulls in (torch, the regex grammar, the task library) when only a light part is used."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> tuple[list[str], Callable[[str], object]]:
    """``__all__`` and ``__getattr__`` for ``package`` from {submodule: names it defines}; a name is imported from
    its submodule on first access. A function named like its own module cannot be listed: once that module is
    imported, Python sets the package attribute to the module."""
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{where[name]}"), name)

    return sorted(where), __getattr__
