"""Subcommands for programs, thin over the library: ``lsrl check``, ``compile``, ``run`` and ``inspect``
(docs/compiler.md#cli-lsrlcliprogramspy-registered-with-add_subcommands)."""
from __future__ import annotations

import argparse
import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np

from automata.errors import InvalidOption
from lsrl.compiler.ranges import Interval
from lsrl.compiler.verify import parse_input_range, parse_param
from lsrl.progress import Progress


def _ranges(args: argparse.Namespace) -> dict[str, Interval]:
    return dict(parse_input_range(text) for text in args.input_range or ())


def _params(args: argparse.Namespace) -> dict[str, Fraction]:
    return dict(parse_param(text) for text in args.param or ())


def _check(args: argparse.Namespace) -> int:
    from lsrl.lang.check import check_file

    print(check_file(args.program, _params(args)).summary())
    return 0


def _compile(args: argparse.Namespace) -> int:
    from models.output_directory import check_target

    check_target(args.output)  # before any work: refuse an unsafe output path at once
    if args.source is None or not args.source.endswith(".lsrl"):
        return _compile_automaton(args)
    from lsrl.build import FIELD, this_build
    from lsrl.compiler.pipeline import compile_program
    from lsrl.lang.check import check_file
    from models.checkpoint import save

    dtype = args.dtype or "float64"
    with Progress("lsrl compile") as progress:
        progress.phase(f"compiling {args.source} for {args.arch}")
        compiled = compile_program(check_file(args.source, _params(args)), args.arch, _ranges(args), args.max_length,
                                   dtype, args.approximate)
    options = {"source_path": str(Path(args.source).resolve()), "params": {k: str(v) for k, v in _params(args).items()},
               "input_ranges": list(args.input_range or ()), "max_length": args.max_length, "dtype": dtype,
               "approximate": args.approximate}
    extra = {"source": args.source, "arch": args.arch,
             "program_hash": compiled.model.config.origin.program_hash, "size": compiled.size(),
             **compiled.claims(), "compile_options": options, FIELD: this_build()}
    model = compiled.model.to(getattr(__import__("torch"), dtype))
    model.config = dataclasses.replace(model.config, dtype=dtype)
    save(model, args.output, extra)
    size = extra["size"]
    print(f"{args.output}: {args.arch}, {size['layers']} layers, d_model {size['d_model']}, "
          f"{size['parameters']} parameters ({dtype})")
    print(f"exact in {dtype}" if compiled.exact else
          "not exact: proved error bounds " + ", ".join(f"{k} <= {v:.3g}" for k, v in extra["error_bounds"].items()))
    if "bounded" in extra:
        print(f"bounded: every output rounds to its exact value at every step up to length "
              f"{compiled.correct_up_to} (lsrl verify re-derives it)")
    return 0


def _compile_automaton(args: argparse.Namespace) -> int:
    """A task, DFA file or regex: compile with the smallest known construction, certify, save."""
    from lsrl.artifacts import compile_language
    from lsrl.sources import resolve_language

    if args.param:
        raise InvalidOption("--param sets a program's `param`; an automaton has none")
    if args.approximate:
        raise InvalidOption("--approximate is for programs; a compiled automaton carries a certificate instead")
    if args.dtype not in (None, "float32"):
        raise InvalidOption("compiled automata are saved in float32; their certificate lists every dtype they are exact in")
    with Progress("lsrl compile") as progress:
        language = resolve_language(args.source, args.regex, args.complete_with_sink, args.symbols)
        progress.phase(f"classifying, constructing and certifying {language.name} for {args.arch}")
        report = compile_language(language, args.arch, args.output, n_h=args.nh)
    size = ", ".join(f"{k} {v}" for k, v in report.size.items())
    print(f"{language.name} -> {report.directory} ({args.arch}, {report.construction}: {size})")
    if report.certificate is not None:
        print(report.certificate)
    else:
        print(f"not certified: {report.not_certified}")
        if report.bounded is not None:
            print(f"bounded: {report.bounded['statement']}")
    return 0


def _read_inputs(args: argparse.Namespace, program: object) -> dict[str, np.ndarray]:
    from automata.bounded_input import read_text
    from lsrl.lang.textio import encode_text

    if (args.input is None) == (args.input_str is None):
        raise InvalidOption("give exactly one of --input FILE and --input-str TEXT")
    text = read_text(args.input, "--input file") if args.input is not None else args.input_str
    return encode_text(program, text)


def _run(args: argparse.Namespace) -> int:
    from lsrl.compiler.pipeline import compare, compile_program
    from lsrl.lang.check import check_file
    from lsrl.lang.interpreter import interpret
    from lsrl.lang.textio import format_outputs

    program = check_file(args.program, _params(args))
    inputs = _read_inputs(args, program)
    dtype = args.dtype or "float64"
    length = args.max_length if args.max_length is not None else max(len(v) for v in inputs.values())
    compiled = None if args.arch is None else compile_program(program, args.arch, _ranges(args), length, dtype,
                                                                args.approximate)
    got = None if compiled is None else compiled.run(inputs)  # checks the inputs against the contract first
    want = interpret(program, inputs)
    print(format_outputs(want))
    if compiled is None:
        return 0
    where, largest = compare(compiled, want, got)
    if where is None:
        print(f"{args.arch} ({dtype}): " + ("the compiled model equals the interpreter exactly at every step"
                                            if compiled.exact else f"within the proved error bounds at every step "
                                            f"(largest error {float(largest):.3g})"))
        return 0
    print(f"{args.arch} ({dtype}): first disagreement at step {where.step + 1}, output {where.output}: "
          f"interpreter {[str(v) for v in where.want]}, model {where.got}")
    return 1


def _inspect(args: argparse.Namespace) -> int:
    from models.checkpoint import load, read_config

    config = read_config(args.directory)
    model = load(args.directory)
    c = model.config
    arch = config.get("arch", c.arch)  # the class it was compiled for (mamba-neg), not its module's (mamba)
    print(f"{args.directory}: {arch}, d_model {c.d_model}, "
          + (f"d_input {c.d_input}" if c.d_input else f"{c.n_symbols} symbols") + f", {c.n_labels} outputs, {c.dtype}")
    for key in ("source", "program_hash", "exact_in_dtype", "error_bounds"):
        if key in config:
            print(f"{key}: {config[key]}")
    for k, (layer, block) in enumerate(zip(c.layers, model.blocks)):
        rec = sum(p.numel() for p in block.recurrence.parameters())
        mlp = sum(p.numel() for p in block.mlp.parameters()) if block.mlp is not None else 0
        print(f"layer {k}: state {block.recurrence.state_size} ({rec} parameters), mlp hidden {layer.mlp_hidden} "
              f"({mlp} parameters)")
    total = sum(p.numel() for p in model.parameters())
    print(f"total: {len(c.layers)} layers, state {sum(block.recurrence.state_size for block in model.blocks)}, "
          f"mlp hidden {sum(spec.mlp_hidden for spec in c.layers)}, {total} parameters")
    return 0


def _add_param_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="override the program's `param NAME` with a number (repeatable)")


def _add_compile_options(p: argparse.ArgumentParser) -> None:
    _add_param_option(p)
    p.add_argument("--input-range", action="append", metavar="NAME=LO:HI[:STEP]",
                   help="values of a real input: in [LO, HI], and in LO + STEP*Z if STEP is given (repeatable)")
    p.add_argument("--max-length", type=int, help="the longest input the model must be exact on (bounds counters)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="weights' dtype (programs: float64 by default; automata: float32)")
    p.add_argument("--approximate", action="store_true",
                   help="programs: accept outputs not provably exact in the dtype, recording a proved error bound")


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    """Register check, compile, run and inspect."""
    from models import registry

    p = sub.add_parser("check", help="parse and type-check an lsrl program")
    p.add_argument("program")
    _add_param_option(p)
    p.set_defaults(handler=_check)

    p = sub.add_parser("compile", help="compile a program (.lsrl) or an automaton to model weights",
                       description="Write model.safetensors and config.json to a directory, atomically. "
                                   "Architecture classes with a program backend: "
                                   f"{', '.join(a.name for a in registry.with_path('program'))}; with automaton "
                                   f"constructions: {', '.join(a.name for a in registry.with_path('automaton'))} "
                                   "(lsrl archs lists every class and alias).")
    p.add_argument("source", nargs="?", help="a .lsrl program, or a task name / DFA .json file / AT&T acceptor")
    p.add_argument("--regex", help="an automaton given by a regular expression")
    p.add_argument("--complete-with-sink", action="store_true", help="complete a partial DFA file with a rejecting sink")
    p.add_argument("--symbols", metavar="FILE", help="the symbol table of an AT&T acceptor (as for lsrl classify)")
    p.add_argument("--nh", type=int, default=None, help="Householder factors per token (deltaproduct automata)")
    p.add_argument("--arch", required=True, help="an architecture class or alias (lsrl archs lists them)")
    p.add_argument("-o", "--output", required=True, help="the directory to write")
    _add_compile_options(p)
    p.set_defaults(handler=_compile)

    p = sub.add_parser("run", help="run a program in the interpreter and, with --arch, as a compiled model")
    p.add_argument("program")
    p.add_argument("--input", help="a file holding the input text")
    p.add_argument("--input-str", help="the input text: symbols, or steps of comma-separated numbers")
    p.add_argument("--arch", help="also compile for this architecture (for inputs as long as this one, unless "
                   "--max-length says otherwise) and report the first disagreement")
    _add_compile_options(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser("inspect", help="print the layers, dimensions and parameter counts of a compiled model")
    p.add_argument("directory")
    p.set_defaults(handler=_inspect)
