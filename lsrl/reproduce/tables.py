"""Result tables written as Markdown and LaTeX from one description."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A titled table of strings; ``name`` is the file stem of its .md and .tex files."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join(" --- " for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", r"\|") for cell in row) + " |" for row in self.rows]
        return "\n".join(lines + ([" ", self.note] if self.note else []) + [""])

    def to_latex(self) -> str:
        body = [" & ".join(_tex(cell) for cell in row) + r" \\" for row in self.rows]
        return "\n".join([r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(self.title)}}}",
                          r"\begin{tabular}{" + "l" * len(self.columns) + "}", r"\toprule",
                          " & ".join(_tex(c) for c in self.columns) + r" \\", r"\midrule", *body,
                          r"\bottomrule", r"\end{tabular}", r"\end{table}", ""])


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "≡": r"$\equiv$",
        "×": r"$\times$"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def percent(value: float) -> str:
    return f"{100 * value:.1f}"
