"""Every command of the README's command-line block runs as documented: in a scratch directory with the
files it names (lang.json, lang.att, langs/), each exits as its comment says (0, or 2 where "refused").
Training, reproduction and the suite over the library take minutes: they are marked slow."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lsrl.cli import main

ROOT = Path(__file__).resolve().parents[1]
SLOW = ("lsrl train", "lsrl reproduce", "lsrl suite")


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Command line\s+```bash\n(.*?)```", text, re.S)
    assert block is not None, "the README has no command-line block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip().startswith("lsrl ")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A directory with the README's example inputs; commands run in it in order (verify reads compile's output)."""
    from automata.att_format import save_att
    from automata.fileformat import save_dfa
    from automata.tasks import get_task

    root = tmp_path_factory.mktemp("readme")
    (root / "examples").symlink_to(ROOT / "examples")
    dfa = get_task("tomita:3").dfa
    save_dfa(dfa, root / "lang.json")
    save_att(dfa, root / "lang.att", root / "lang.syms")
    (root / "langs").mkdir()
    save_dfa(get_task("parity").dfa, root / "langs" / "parity.json")
    return root


@pytest.mark.parametrize("command", [pytest.param(c, marks=pytest.mark.slow) if c.startswith(SLOW) else c
                                     for c in _commands()])
def test_readme_command(scratch, monkeypatch, capsys, command):
    monkeypatch.chdir(scratch)
    line, _, comment = command.partition("#")
    expected = 2 if "refused" in comment else 0
    assert main(shlex.split(line)[1:]) == expected, capsys.readouterr()
