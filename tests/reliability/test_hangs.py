"""Numbers with unbounded exponents, on every path that reads numbers from the user: each is refused
at once (a subprocess with a timeout proves that nothing hangs), with one message naming the input."""
from __future__ import annotations

import pytest

from tests.reliability.conftest import ROOT, assert_refused, lsrl_process

IFELSE = ROOT / "examples" / "ifelse.lsrl"


@pytest.mark.parametrize("argv, words", [
    (("run", IFELSE, "--arch", "lti", "--input-str", "1e999999999,1,1"), ("exponent",)),
    (("run", IFELSE, "--arch", "lti", "--input-str", "1,2,3", "--input-range", "v=0:1e999999999"),
     ("--input-range", "exponent")),
    (("run", IFELSE, "--arch", "lti", "--input-str", "1/" + "9" * 5000 + ",1,1"), ("characters",)),
    (("compile", IFELSE, "--arch", "lti", "-o", "out", "--input-range", "v=-1e-999999999:1"), ("exponent",)),
])
def test_huge_numbers_are_refused_at_once(tmp_path, argv, words):
    assert_refused(lsrl_process(*argv, cwd=tmp_path, timeout=60), *words)
    assert not (tmp_path / "out").exists()


def test_a_huge_exponent_in_a_program_file_is_refused(tmp_path):
    program = tmp_path / "p.lsrl"
    program.write_text("input x : 1\noutput y = x * 1e999999999\n")
    outcome = lsrl_process("check", program, timeout=60)
    assert outcome.code == 2 and "Traceback" not in outcome.err and "p.lsrl:2" in outcome.err
