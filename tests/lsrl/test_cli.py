"""The command line: verdict output, JSON, and bad input -> one message, exit code 2, no traceback."""
import json
import subprocess
import sys

import pytest

from automata.classify import ARCHITECTURES
from lsrl.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_json_reports_the_group_and_verdicts(capsys):
    code, out, _ = run(capsys, "classify", "S:5", "--json")
    data = json.loads(out)
    assert code == 0 and data["monoid_size"] == 120 and not data["aperiodic"]
    assert data["groups"][0]["order"] == 120 and not data["groups"][0]["solvable"]
    verdicts = {v["architecture"]: v for v in data["verdicts"]}
    assert verdicts["diag-01"]["status"] == "impossible"
    assert verdicts["deltaproduct"]["construction"]["n_h"] == 4


def test_classify_table_names_every_class(capsys):
    code, out, _ = run(capsys, "classify", "--regex", "(ab)*")
    assert code == 0 and "aperiodic: yes" in out
    for klass in ARCHITECTURES:
        assert klass in out


def test_classify_dfa_file(capsys, tmp_path):
    from automata.fileformat import save_dfa
    from automata.tasks import get_task

    save_dfa(get_task("mod:3").dfa, tmp_path / "mod3.json")
    code, out, _ = run(capsys, "classify", str(tmp_path / "mod3.json"), "--json")
    assert code == 0 and json.loads(out)["groups"][0]["composition_factors"] == ["Z_3"]


def test_trace_prints_each_state(capsys):
    code, out, _ = run(capsys, "trace", "parity", "--word", "1101")
    assert code == 0 and out.splitlines()[:4] == ["1\todd\treject", "1\teven\taccept", "0\teven\taccept", "1\todd\treject"]


@pytest.mark.parametrize("argv,message", [
    (["classify", "nope"], "unknown task 'nope'; the known tasks are"),
    (["classify", "mod:0"], "mod:0"),
    (["classify", "--regex", "a(b"], "column 2"),
    (["trace", "parity", "--word", "1121"], "unknown symbol '2' at position 2"),
    (["classify"], "give exactly one of"),
    (["classify", "parity", "--regex", "a"], "give exactly one of"),
])
def test_bad_input_is_one_message_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_bad_dfa_files(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "lsrl-dfa",\n  "version": 1,')
    code, _, err = run(capsys, "classify", str(bad))
    assert code == 2 and f"{bad}:2:16: malformed JSON" in err
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"format": "lsrl-dfa", "version": 1, "alphabet": ["a", "b"], "states": ["p", "q"],
                                   "start": "p", "accepting": ["q"],
                                   "transitions": {"p": {"a": "q", "b": "p"}, "q": {"a": "q"}}}))
    code, _, err = run(capsys, "classify", str(partial))
    assert code == 2 and "missing transition" in err and "state 'q', symbol 'b'" in err
    code, out, _ = run(capsys, "classify", str(partial), "--complete-with-sink", "--json")
    assert code == 0 and json.loads(out)["n_states"] == 3


def test_console_script_exit_code_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "lsrl.cli", "classify", "--regex", "[z-a]"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "^" in proc.stderr
