"""Numbers with unbounded exponents, on every path that reads numbers from the user: each is refused
at once, with one message naming the input. In-process calls run under a 30 s alarm (it interrupts
Python code, not one long C-level integer power); one subprocess case has a hard timeout."""
from __future__ import annotations

import signal

import pytest

from tests.reliability.conftest import ROOT, assert_refused, lsrl_process


@pytest.fixture
def deadline():
    """Fail instead of hanging: SIGALRM after 30 s interrupts the call under test."""
    def expire(signum, frame):
        raise TimeoutError("the command did not finish within 30 s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)

IFELSE = ROOT / "examples" / "ifelse.lsrl"


@pytest.mark.parametrize("argv, words", [
    (("run", IFELSE, "--arch", "lti", "--input-str", "1e999999999,1,1"), ("exponent",)),
    (("run", IFELSE, "--arch", "lti", "--input-str", "1,2,3", "--input-range", "v=0:1e999999999"),
     ("--input-range", "exponent")),
    (("run", IFELSE, "--arch", "lti", "--input-str", "1/" + "9" * 5000 + ",1,1"), ("characters",)),
    (("compile", IFELSE, "--arch", "lti", "-o", "out", "--input-range", "v=-1e-999999999:1"), ("exponent",)),
])
def test_huge_numbers_are_refused_at_once(lsrl, deadline, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    assert_refused(lsrl(*argv), *words)
    assert not (tmp_path / "out").exists()


def test_a_huge_exponent_in_a_program_file_is_refused(tmp_path):
    program = tmp_path / "p.lsrl"
    program.write_text("input x : 1\noutput y = x * 1e999999999\n")
    outcome = lsrl_process("check", program, timeout=60)
    assert outcome.code == 2 and "Traceback" not in outcome.err and "p.lsrl:2" in outcome.err


def test_a_hard_timeout_bounds_the_input_str_case(tmp_path):
    outcome = lsrl_process("run", IFELSE, "--arch", "lti", "--input-str", "1e999999999,1,1", cwd=tmp_path, timeout=120)
    assert_refused(outcome, "exponent")
