"""``lsrl train``, ``reproduce`` and ``extract`` flags as untrusted input: every value outside its domain
exits 2 naming the field before anything is trained or written, a run that diverges fails instead of
saving non-finite weights, and fuzzed flag values give a config or an ``LsrlInputError``."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.errors import LsrlInputError
from lsrl.cli import build_parser
from lsrl.cli.training import train_config
from lsrl.training.curriculum import Curriculum
from lsrl.training.train import TrainConfig, TrainingDiverged, resolve_device, train
from tests.reliability.conftest import assert_refused

TRAIN = ["train", "parity", "--arch", "diag-neg", "--quiet"]
CUDA_COUNT = torch.cuda.device_count() if torch.cuda.is_available() else 0

TRAIN_ATTACKS = {
    "--steps -5": ["steps = -5", "from 1 to"],
    "--steps 0": ["steps = 0", "from 1 to"],
    "--batch 0": ["batch = 0", "from 1 to 65536"],
    "--batch -3": ["batch = -3"],
    "--batch 100000000": ["batch = 100000000", "from 1 to 65536"],
    "--d-model 0": ["d_model = 0", "from 1 to 16384"],
    "--d-model 1000000": ["d_model = 1000000"],
    "--d-state 0": ["d_state = 0"],
    "--layers 0": ["layers = 0", "from 1 to 256"],
    "--nh 0": ["n_h = 0", "from 1 to 64"],
    "--seed -1": ["seed = -1"],
    "--lr inf": ["lr = inf", "finite number > 0"],
    "--lr nan": ["lr = nan", "finite number > 0"],
    "--lr -0.1": ["lr = -0.1"],
    "--lr 0": ["lr = 0.0"],
    "--train-length 0": ["curriculum max_length = 0", "from 1 to"],
    "--train-length 1000000000": ["curriculum max_length = 1000000000"],
    "--eval-lengths 0": ["eval_lengths = 0", "from 1 to"],
    "--eval-lengths 40,-1": ["eval_lengths = -1"],
    "--eval-lengths 1.5": ["--eval-lengths '1.5'", "comma-separated integers"],
    "--eval-lengths nan": ["--eval-lengths 'nan'"],
    "--eval-lengths 40,,256": ["--eval-lengths '40,,256'"],
    "--gate-range 2,1": ["gate_range = (2.0, 1.0)", "LO <= HI"],
    "--gate-range nan,1": ["gate_range = (nan, 1.0)"],
    "--gate-range 0,inf": ["gate_range = (0.0, inf)"],
    "--gate-range 1": ["--gate-range '1'", "LO,HI"],
    "--gate-range a,b": ["--gate-range 'a,b'", "comma-separated numbers"],
    f"--device cuda:{CUDA_COUNT}": [f"device 'cuda:{CUDA_COUNT}'"],
    "--device foo": ["device 'foo'", "not a device name"],
    "--device meta": ["device 'meta'", "cpu or cuda"],
    "--arch no-such-class": ["no-such-class"],
    "--eval-lengths 1000000": ["eval strings x eval length x d_model x layers = 256 x 1000000 x 32 x 1",
                               "more than the 4294967296"],
    "--batch 65536 --train-length 100000": ["batch x train length x d_model x layers = 65536 x 100000"],
}


@pytest.mark.parametrize("flags", TRAIN_ATTACKS)
def test_bad_train_flag_is_refused_before_training(lsrl, tmp_path, flags):
    out = tmp_path / "run"
    assert_refused(lsrl(*TRAIN, "--out", out, *flags.split()), "lsrl train: error: ", *TRAIN_ATTACKS[flags])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(CUDA_COUNT > 0, reason="the machine has a CUDA device")
def test_cuda_on_a_machine_without_one(lsrl, tmp_path):
    assert_refused(lsrl(*TRAIN, "--out", tmp_path / "run", "--device", "cuda"),
                   "device 'cuda': no CUDA device is available")


TINY = dict(task="parity", arch="diag-neg", steps=5, batch=4, d_model=4, d_state=2, eval_lengths=(8,), eval_n=4,
            curriculum=Curriculum(8))


def test_divergent_loss_fails_instead_of_saving_nan(lsrl, tmp_path):
    """--lr 1e30 is finite but the loss becomes NaN: the run stops there and nothing is written."""
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+ of 5: the loss is nan"):
        train(TrainConfig(**{**TINY, "lr": 1e30}))
    done = lsrl(*TRAIN, "--out", tmp_path / "run", "--lr", "1e30", "--steps", "5", "--batch", "4", "--d-model", "4",
                "--d-state", "2", "--train-length", "8", "--eval-lengths", "8")
    assert_refused(done, "training diverged", "nothing was saved")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_weights_after_the_last_step_fail(monkeypatch):
    """A NaN gradient in the last step leaves the loss finite (it is computed first) but the weights NaN."""
    def poison(parameters, clip):
        for p in parameters:
            p.grad.fill_(math.nan)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", poison)
    with pytest.raises(TrainingDiverged, match="weights after step 1 are not finite"):
        train(TrainConfig(**{**TINY, "steps": 1}))


def test_learning_rate_beyond_float32_is_refused():
    """lr 1e300 is finite as a Python float, but AdamW's step size overflows float32 inside torch."""
    with pytest.raises(LsrlInputError, match="lr = 1e[+]?300: .* at most 1e[+]?30"):
        TrainConfig(**{**TINY, "lr": 1e300})


@pytest.mark.parametrize("curriculum", [3, {"max_length": 8, "oops": 1}, {"max_length": "8"}])
def test_curriculum_of_a_record_is_checked(curriculum):
    with pytest.raises(LsrlInputError, match="curriculum"):
        TrainConfig(**{**TINY, "curriculum": curriculum})


def test_tiny_run_still_trains():
    result = train(TrainConfig(**TINY))
    assert len(result.metrics) == 1 and all(math.isfinite(v) for v in result.losses)


REPRODUCE_ATTACKS = {
    "--seeds 0": ["--seeds 0"],
    "--seeds -1": ["--seeds -1"],
    "--steps 0": ["--steps 0", "not a valid training budget"],
    "--batch -1": ["--batch -1"],
    "--warmup -1": ["--warmup -1"],
    "--steps 99999999999": ["steps = 99999999999"],
    "--batch 100000000": ["batch = 100000000"],
    "--tasks nosuch": ["--tasks: nosuch not in the chomsky-regular grid"],
    "--device foo": ["device 'foo'"],
    f"--device cuda:{CUDA_COUNT}": [f"device 'cuda:{CUDA_COUNT}'"],
}


@pytest.mark.parametrize("flags", REPRODUCE_ATTACKS)
def test_bad_reproduce_flag_is_refused_before_the_output(lsrl, tmp_path, flags):
    done = lsrl("reproduce", "chomsky-regular", "--quick", "--quiet", "--no-plots", "--out", tmp_path / "out",
                *flags.split())
    assert_refused(done, "lsrl reproduce: error: ", *REPRODUCE_ATTACKS[flags])
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from lsrl.cli import main

    out = tmp_path_factory.mktemp("extract") / "parity"
    assert main(["compile", "task:parity", "--arch", "diag-neg", "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("tolerance", ["nan", "inf", "0", "-1", "1e-3,0", "a", "", "1e-3,,1e-2", "1e999"])
def test_bad_extract_tolerance_is_refused(lsrl, compiled, tolerance):
    assert_refused(lsrl("extract", compiled, "--task", "parity", "--tolerance", tolerance), f"--tolerance {tolerance!r}")


def test_extract_with_a_good_tolerance(lsrl, compiled):
    done = lsrl("extract", compiled, "--task", "parity", "--tolerance", "1e-3,1e-2")
    assert done.code == 0 and "equivalent to parity" in done.out


# -- fuzzing ------------------------------------------------------------------------------------

NUMBER_TEXT = st.one_of(st.integers(-10, 10**6).map(str), st.floats().map(str),
                        st.sampled_from(["nan", "inf", "-inf", "1e999", "", ",", "0x10", "1_000", "٣"]),
                        st.text(alphabet="0123456789.,-+einfa ", max_size=8))


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "--layers": st.integers(-3, 300), "--nh": st.integers(-3, 70), "--seed": st.integers(-2, 2**33),
    "--steps": st.integers(-5, 2 * 10**9), "--batch": st.integers(-5, 10**5), "--d-model": st.integers(-3, 20000),
    "--d-state": st.integers(-3, 20000), "--train-length": st.integers(-3, 2**21),
    "--lr": st.floats() | st.integers(-3, 3), "--gate-range": NUMBER_TEXT, "--eval-lengths": NUMBER_TEXT,
    "--arch": st.sampled_from(["diag-neg", "diag-01", "deltaproduct", "rotation", "lstm", "nope", ""])}))
def test_fuzz_train_flags(flags):
    """Any flag values argparse accepts give a TrainConfig or an LsrlInputError, never another exception."""
    argv = [*TRAIN[:2], *(["--arch", "diag-neg"] if "--arch" not in flags else [])]
    for flag, value in flags.items():
        argv.append(f"{flag}={value}")
    args = build_parser().parse_args(argv)
    try:
        config = train_config(args)
    except LsrlInputError:
        return
    assert config.steps >= 1 and config.batch >= 1 and math.isfinite(config.lr) and config.lr > 0
    assert all(length >= 1 for length in config.eval_lengths)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=10), st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:-1", "cuda:99", "mps", "meta",
                                                         "cpu:0", "xla", "CUDA", " cpu"])))
def test_fuzz_device_names(name):
    try:
        device = resolve_device(name)
    except LsrlInputError:
        return
    assert device.type in ("cpu", "cuda")
