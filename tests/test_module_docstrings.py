"""Every module outside tests/ opens with a docstring of at most three lines (STYLE.md: one or two): the proofs,
derivations and usage notes live in docs/ (with a pointer) or in a script's --help, not at the top of the code."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("automata", "lsrl", "models", "kernels", "proofs", "bench", "docs")
MAX_LINES = 3


def test_module_docstrings_are_short() -> None:
    sources = [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))]
    long = {str(p.relative_to(ROOT)): len(doc.splitlines()) for p in sources
            if (doc := ast.get_docstring(ast.parse(p.read_text()))) and len(doc.splitlines()) > MAX_LINES}
    assert len(sources) > 150 and not long, long
