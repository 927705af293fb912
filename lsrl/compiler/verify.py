"""``lsrl verify`` of a compiled program: the recorded source recompiled with the recorded options, and the
parsers of those options (``NAME=VALUE`` params, ``NAME=LO:HI[:STEP]`` input ranges) that ``lsrl compile`` shares."""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from automata.bounded_input import InputLimitError, parse_rational
from automata.errors import InvalidOption, LsrlInputError
from lsrl.build import other_build
from lsrl.compiler.ranges import Interval, Lattice

if TYPE_CHECKING:
    from lsrl.lang.graph import CheckedProgram


def parse_input_range(text: str) -> tuple[str, Interval]:
    """``NAME=LO:HI`` (real values) or ``NAME=LO:HI:STEP`` (values in LO + STEP * Z)."""
    name, _, spec = text.partition("=")
    parts = spec.split(":")
    try:
        values = [parse_rational(p, f"--input-range {text!r}") for p in parts]
    except InputLimitError:
        raise
    except LsrlInputError:
        values = []
    if not name or len(values) not in (2, 3) or values[0] > values[1] or (len(values) == 3 and values[2] <= 0):
        raise InvalidOption(f"--input-range {text!r}: write NAME=LO:HI or NAME=LO:HI:STEP with LO <= HI, STEP > 0")
    lattice = Lattice.of(values[2], values[0]) if len(values) == 3 else None
    return name, Interval.make(values[0], values[1], lattice)


def parse_param(text: str) -> tuple[str, Fraction]:
    """``NAME=VALUE``: a value for the program's ``param NAME``."""
    name, _, value = text.partition("=")
    if not name.isidentifier() or not value:
        raise InvalidOption(f"--param {text!r}: write NAME=VALUE, e.g. --param T=8")
    return name, parse_rational(value, f"--param {text!r}")


def compile_options(options: dict) -> tuple[dict[str, Fraction], dict[str, Interval]]:
    """The params and input ranges of a config.json's ``compile_options``, parsed as ``lsrl compile`` parsed them."""
    params = dict(parse_param(f"{k}={v}") for k, v in options["params"].items())
    return params, dict(parse_input_range(text) for text in options["input_ranges"])


class ProgramClaimError(LsrlInputError):
    """A compiled program directory whose weights or stated claims differ from a recompilation of its source."""


def verify_program(directory: str, config: dict, model: object) -> dict:
    """``lsrl verify`` of a compiled program: recompile the recorded source with the recorded options, and require
    the same program hash, the same weights (bit for bit) and the same claims (exactness, error bounds, bounded
    length), so that every claim is re-derived from the source by the range and float analyses; a difference from a
    directory that another lsrl build wrote says so (``lsrl.build``)."""
    from lsrl.lang.check import check_file

    options = config.get("compile_options")
    if not isinstance(options, dict):
        raise ProgramClaimError(f"{directory}: config.json records no compile_options (compiled by an older lsrl): "
                                "recompile it to verify it")
    try:
        params, ranges = compile_options(options)
        source, arch = options["source_path"], config["arch"]
        how = {"arch": arch, "input_ranges": ranges, "max_length": options["max_length"], "dtype": options["dtype"],
               "approximate": options["approximate"]}
    except (KeyError, TypeError, AttributeError) as err:
        raise ProgramClaimError(f"{directory}: malformed compile_options in config.json ({err})") from None
    try:
        claims = _recompiled_claims(directory, config, model, check_file(source, params), how)
    except ProgramClaimError as err:
        hint = other_build(config)
        if hint is None:
            raise
        raise ProgramClaimError(f"{err}; {hint}") from None
    return {"kind": "program", "source": source, "arch": arch, "dtype": how["dtype"], **claims}


def _recompiled_claims(directory: str, config: dict, model: object, program: CheckedProgram, how: dict) -> dict:
    """The claims of ``program`` recompiled as ``how`` says (``compile_program``'s arguments from config.json);
    ``ProgramClaimError`` for the first hash, port, weight or claim that differs from the directory's."""
    import torch

    from lsrl.compiler.pipeline import compile_program, program_hash

    if program_hash(program) != config.get("program_hash"):
        raise ProgramClaimError(f"{directory}: field 'program_hash' differs from the hash of "
                                f"{config['compile_options']['source_path']} as it is now")
    compiled = compile_program(program, **how)
    for field in ("d_model", "layers", "readout_reads"):  # the ports: which channels each map reads and writes
        if getattr(model.config, field) != getattr(compiled.model.config, field):
            raise ProgramClaimError(f"{directory}: field 'model.{field}' differs from the recompiled model's")
    stored, rebuilt = model.state_dict(), compiled.model.to(getattr(torch, how["dtype"])).state_dict()
    for name, tensor in rebuilt.items():
        if name not in stored or stored[name].shape != tensor.shape or not torch.equal(stored[name], tensor):
            raise ProgramClaimError(f"{directory}: weight {name!r} differs from the recompiled model's")
    claims = compiled.claims()
    for key, value in claims.items():
        if config.get(key) != value:
            raise ProgramClaimError(f"{directory}: field {key!r} is {config.get(key)!r}, recomputed {value!r}")
    if "bounded" in config and "bounded" not in claims:
        raise ProgramClaimError(f"{directory}: field 'bounded' is stated but not recomputed")
    return claims
