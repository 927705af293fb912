"""``lsrl suite``: every cell of a small suite ends with an outcome whose verdict agrees with ``lsrl classify``;
a cell past its deadline is recorded as timed out; a killed run resumes, skipping the finished cells."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automata.fileformat import save_dfa
from automata.tasks import get_task
from lsrl.cli import main
from lsrl.suite import OUTCOMES, RECORDS, SuiteError, collect, finished, read_records, run_suite

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def inputs(tmp_path):
    """Two tasks, a regex file, a DFA file and an AT&T file (odd number of label 2), all quick to certify."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "langs.regex").write_text("(a|b)*a\n\nb*\n(aa)*\n")
    save_dfa(get_task("flipflop").dfa, folder / "flipflop.json")
    (folder / "odd.att").write_text("0 0 1\n0 1 2\n1 1 1\n1 0 2\n1\n")
    return ["parity", "Z2xZ2", str(folder / "langs.regex"), str(folder / "flipflop.json"), str(folder / "odd.att")]


def cli_verdict(capsys, name: str, cls: str) -> str:
    argv = ["classify", "--regex", name.removeprefix("regex:")] if name.startswith("regex:") else ["classify", name]
    assert main([*argv, "--json"]) == 0
    verdicts = json.loads(capsys.readouterr().out)["verdicts"]
    return next(v["status"] for v in verdicts if v["architecture"] == cls)


def test_small_suite_has_every_cell_and_the_classifiers_verdicts(capsys, tmp_path, inputs):
    result = run_suite(inputs, ["diag-01", "mamba-neg"], tmp_path / "out", jobs=2, timeout=60, progress=False)
    names = [a.name for a in collect(inputs)]
    assert len(names) == 7 and [(r["automaton"], r["arch"]) for r in result.records] == [
        (n, a) for n in names for a in ("diag-01", "diag-neg")]
    for record in result.records:
        status = cli_verdict(capsys, record["automaton"], record["verdict"]["class"])
        assert record["verdict"]["status"] == status
        assert record["outcome"] == {"constructible": "certified", "impossible": "refused"}[status], record
    assert {r["certificate"] for r in result.records if r["outcome"] == "certified"} <= {"exact", "interval"}
    lines = (tmp_path / "out" / RECORDS).read_text().splitlines()
    assert len(lines) == 14 and result.skipped == 0
    table = (tmp_path / "out" / "suite.md").read_text()
    assert "regex:(a\\|b)*a" in table and "| diag-neg | 7 |" in table
    document = json.loads((tmp_path / "out" / "suite.json").read_text())
    assert sum(row[o] for row in document["summary"] for o in OUTCOMES) == 14
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".lsrl-output.json", RECORDS, "suite.json", "suite.md", "suite.tex"]  # no models without --keep-models
    again = run_suite(inputs, ["diag-01", "diag-neg"], tmp_path / "out", jobs=2, timeout=60, progress=False)
    assert again.skipped == 14 and again.records == result.records
    assert (tmp_path / "out" / RECORDS).read_text().splitlines() == lines


def test_a_cell_past_its_deadline_is_recorded_and_the_suite_finishes(tmp_path):
    start = time.monotonic()
    result = run_suite(["modarith:5"], ["rotation"], tmp_path / "out", jobs=2, timeout=3, progress=False)
    assert time.monotonic() - start < 30
    # classified in about 1 s; its disk certificate takes minutes (tests/proofs/test_disk_certificate.py). The
    # cells used before certify in seconds now (dyck:2:3 about 6 s, then dyck:2:4 on diag-01 1.6 s).
    cell = result.records[0]
    assert cell["outcome"] == "timed out" and cell["timeout_s"] == 3 and 3 <= cell["wall_s"] < 8
    assert cell["reason"] == "no result within 3 s (stopped while compiling and certifying)"
    assert cell["verdict"]["status"] == "constructible" and cell["monoid"] == 518  # found before the deadline


def test_timed_out_cells_are_retried_only_under_a_longer_limit():
    record = {"outcome": "timed out", "timeout_s": 10}
    assert finished(record, 10) and finished(record, 5) and not finished(record, 20)
    assert finished({"outcome": "error"}, 1000) and not finished(None, 1)


def _started_suite(argv: list[str], records: Path, at_least: int, **popen) -> subprocess.Popen:
    """``lsrl suite`` started in a process, returned once ``records`` holds ``at_least`` lines (or after a minute)."""
    proc = subprocess.Popen(argv, cwd=ROOT, **popen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if records.exists() and len(records.read_bytes().splitlines()) >= at_least:
            break
        time.sleep(0.05)
    return proc


def test_a_killed_run_resumes_and_skips_finished_cells(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "lsrl.cli", "suite", "parity", "Z2xZ2", "flipflop", "S:5", "--arch",
            "diag-neg,deltaproduct", "--out", str(out), "--jobs", "1", "--timeout", "60", "--quiet"]
    records = out / RECORDS
    proc = _started_suite(argv, records, 2, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(records, "ab") as handle:
        handle.write(b'{"automaton": "task:S:5", "ar')  # a line cut by the kill
    done = read_records(records)
    assert 2 <= len(done) < 8
    result = run_suite(["parity", "Z2xZ2", "flipflop", "S:5"], ["diag-neg", "deltaproduct"], out, jobs=2, timeout=1,
                       progress=False)
    assert result.skipped == len(done) and len(result.records) == 8
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(lines) == 8 and len({(r["automaton"], r["arch"]) for r in lines}) == 8
    assert all(r["outcome"] in OUTCOMES for r in lines)


def test_ctrl_c_at_a_terminal_stops_the_suite_with_one_line_and_it_resumes(tmp_path):
    """A terminal's Ctrl-C signals the whole foreground process group, workers included: one line, exit 130,
    no worker traceback; the records written so far are kept and a rerun skips them."""
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "lsrl.cli", "suite", "parity", "flipflop", "modarith:5", "--arch",
            "diag-neg,deltaproduct,rotation", "--out", str(out), "--jobs", "2", "--timeout", "60", "--quiet"]
    records = out / RECORDS
    proc = _started_suite(argv, records, 6, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True)
    time.sleep(1.0)  # a worker inside modarith:5 on rotation (minutes), the other in a cell or idle
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["lsrl suite: interrupted"] and "Traceback" not in stdout + stderr, stderr
    done = read_records(records)
    assert 6 <= len(done) < 9
    result = run_suite(["parity", "flipflop", "modarith:5"], ["diag-neg", "deltaproduct", "rotation"], out, jobs=2,
                       timeout=1, progress=False)
    assert result.skipped == len(done) and len(result.records) == 9


@pytest.mark.parametrize("argv,message", [
    (["suite", "no-such-task", "--arch", "diag-01", "--out", "{dir}/o"],
     "no-such-task: not a file, a directory or a task name"),
    (["suite", "S:9", "--arch", "diag-01", "--out", "{dir}/o"], "task 'S:9': 362,880 states"),
    (["suite", "parity", "--arch", "lti", "--out", "{dir}/o"], "--arch: lti: no automaton constructions"),
    (["suite", "parity", "--arch", "nonsense", "--out", "{dir}/o"], "nonsense"),
    (["suite", "parity", "--arch", "diag-01", "--out", "{dir}/foreign"], "holds files lsrl did not write"),
    (["suite", "parity", "--arch", "diag-01", "--out", "{dir}/o", "--timeout", "0"], "--timeout"),
    (["suite", "{dir}/bad.regex", "--arch", "diag-01", "--out", "{dir}/o"], ""),
])
def test_bad_arguments_are_one_message_and_exit_2(capsys, tmp_path, argv, message):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    (tmp_path / "bad.regex").write_bytes(b"\xff\xfe")
    code = main([a.format(dir=tmp_path) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / RECORDS).exists()


def test_a_malformed_records_file_is_refused(tmp_path):
    (tmp_path / RECORDS).write_text('{"automaton": "x", "arch": "diag-01", "outcome": "error"}\nnot json\n')
    with pytest.raises(SuiteError, match=f"{RECORDS}:2: not a suite record"):
        read_records(tmp_path / RECORDS)


def test_collect_reads_directories_and_symbol_tables(tmp_path):
    (tmp_path / "a.att").write_text("0 1 x\n1\n")
    (tmp_path / "a.syms").write_text("<eps> 0\nx 1\ny 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.regex").write_text("ab\nab\n")
    (tmp_path / "notes.md").write_text("ignored")
    names = [a.name for a in collect([str(tmp_path), "library"])]
    assert names[:2] == [f"{tmp_path / 'a.att'} --symbols {tmp_path / 'a.syms'}", "regex:ab"]
    assert "task:S:5" in names and "task:A:4" in names and len(names) == len(set(names))
    assert os.path.exists(tmp_path / "a.syms")


@pytest.mark.slow
def test_kept_models_verify(tmp_path):
    from lsrl.artifacts import verify_directory

    result = run_suite(["parity", "mod:4"], ["diag-neg"], tmp_path / "out", jobs=2, keep_models=True, progress=False)
    assert [r["outcome"] for r in result.records] == ["certified", "certified"]
    for record in result.records:
        assert verify_directory(record["model"])["kind"] == record["certificate"]
