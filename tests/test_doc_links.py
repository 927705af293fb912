"""Every relative link of the README and docs/ names a file that exists (and a heading, after '#'), and every
'docs/NAME.md#anchor' pointer in the code names a heading of that file."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PACKAGES = ("automata", "lsrl", "models", "kernels", "proofs")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
POINTER = re.compile(r"docs/([\w./-]+\.md)(?:#([\w-]+))?")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose(page: Path) -> str:
    """The page without code blocks and inline code (``f[x](y)`` there is not a link)."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", page.read_text(), flags=re.S))


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        base = slug(heading)
        out.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return out


def _target_problem(page: Path, target: str) -> str | None:
    path, _, anchor = target.partition("#")
    file = (page.parent / path).resolve() if path else page
    if not file.exists():
        return f"{path} does not exist"
    if anchor and file.suffix == ".md" and anchor not in anchors(file):
        return f"{file.relative_to(ROOT)} has no heading #{anchor}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    links = [t for t in LINK.findall(prose(page)) if not re.match(r"[a-z]+:", t)]
    problems = [f"{t}: {p}" for t in links if (p := _target_problem(page, t))]
    assert not problems, problems


def test_code_pointers_to_docs_resolve() -> None:
    problems, pointers = [], 0
    for package in PACKAGES:
        for source in sorted((ROOT / package).rglob("*.py")):
            for name, anchor in POINTER.findall(source.read_text()):
                pointers += 1
                problem = _target_problem(ROOT / "docs" / "index", f"{name}#{anchor}" if anchor else name)
                if problem:
                    problems.append(f"{source.relative_to(ROOT)}: docs/{name}#{anchor}: {problem}")
    assert not problems, problems
    assert pointers >= 20  # the construction modules alone point to their proofs


def test_construction_modules_point_to_their_proofs() -> None:
    """Each module with a section in docs/constructions.md has a short docstring pointing to it, not the proof."""
    table = re.findall(r"^\| \[[^\]]+\]\(#([\w-]+)\) \| `(\w+)\.py`", (ROOT / "docs" / "constructions.md").read_text(), re.M)
    assert len(table) >= 10
    for anchor, module in table:
        doc = ast.get_docstring(ast.parse((ROOT / "lsrl" / "constructions" / f"{module}.py").read_text())) or ""
        assert len(doc.splitlines()) <= 3 and f"docs/constructions.md#{anchor}" in doc, module


def test_slug_follows_github() -> None:
    assert slug("Choosing a construction") == "choosing-a-construction"
    assert slug("CLI (`lsrl/cli/programs.py`, registered with `add_subcommands`)") == \
        "cli-lsrlcliprogramspy-registered-with-add_subcommands"
