"""The programs in docs/language.md check, and compute the outputs their comments state."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsrl.lang.check import check
from lsrl.lang.interpreter import interpret
from lsrl.lang.parser import parse_text
from lsrl.lang.textio import encode_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
BLOCKS = re.findall(r"```lsrl\n(.*?)```", DOC.read_text(), re.S)


def render(rows: object) -> str:
    return " ".join("[" + ", ".join(str(v) for v in row) + "]" for row in rows)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_documented_program(block: str) -> None:
    program = check(parse_text(block, str(DOC)))
    run = re.search(r"\(run: ([^)]*)\)", block)
    claims = re.findall(r"output (\w+) .*# .*gives: (.*)$", block, re.M)
    assert bool(run) == bool(claims)
    if run:
        outputs = interpret(program, encode_text(program, run.group(1)))
        assert {name: render(outputs[name]) for name, _ in claims} == {name: want.strip() for name, want in claims}


def test_every_block_is_tested() -> None:
    assert len(BLOCKS) >= 12
