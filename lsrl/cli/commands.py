"""The ``lsrl`` command line's parser and driver. Thin: each subcommand parses its arguments and calls the library.

Errors caused by the user's input (``LsrlInputError``) print one message and exit with code 2.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from automata import limits
from automata.errors import LsrlInputError
from lsrl import threads

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _classify(args: argparse.Namespace) -> int:
    from automata.classify import classify
    from lsrl.progress import Progress
    from lsrl.report import print_classification
    from lsrl.sources import resolve_language

    klass = args.arch and classifier_class(args.arch)
    with Progress("lsrl classify") as progress:
        progress.phase(f"building {args.source or 'the regex'}")
        language = resolve_language(args.source, args.regex, args.complete_with_sink, args.symbols)
        progress.phase(f"classifying {language.name} ({language.dfa.n_states:,} states)")
        result = classify(language.dfa, max_elements=args.max_elements)
    if args.json:
        document = result.to_json()
        if klass:
            document["verdicts"] = [v for v in document["verdicts"] if v["architecture"] == klass]
        print(json.dumps({"language": language.name, **document}, indent=1))
    else:
        print_classification(language.name, result, only=klass)
    return 0


def classifier_class(name: str) -> str:
    """The classifier's class of architecture ``name`` (any name of ``models.registry``)."""
    from models import registry

    arch = registry.get(name)
    if arch.classifier is None:
        raise registry.NoPath(arch.name, "classify", f"{name}: the classifier has no class for {arch.transition}; "
                              "classes it covers: " + ", ".join(a.name for a in registry.ARCHITECTURES if a.classifier))
    return arch.classifier


def _archs(args: argparse.Namespace) -> int:
    from models import registry

    if args.json:
        print(json.dumps([a.to_json() for a in registry.ARCHITECTURES], indent=1))
    else:
        from lsrl.report import print_architectures

        print_architectures()
    return 0


def _trace(args: argparse.Namespace) -> int:
    from lsrl.sources import resolve_language, split_word

    language = resolve_language(args.source, args.regex, args.complete_with_sink, args.symbols)
    dfa = language.dfa
    word = split_word(args.word, dfa.alphabet)
    states = dfa.trace(word)
    for symbol, q in zip(word, states.tolist()):
        print(f"{symbol}\t{dfa.name(q)}\t{'accept' if q in dfa.accepting else 'reject'}")
    final = int(states[-1]) if len(word) else dfa.start
    print(f"{language.name}: {'accepts' if final in dfa.accepting else 'rejects'} the word ({len(word)} symbols)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from lsrl.artifacts import verified, verify_directory
    from lsrl.progress import Progress

    with Progress("lsrl verify") as progress:
        progress.phase(f"checking {args.directory} against its certificate")
        summary = verify_directory(args.directory, args.source)
    print(f"{args.directory}: {verified(summary)}")
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from automata.tasks import task_families
    from lsrl.report import print_task_families

    print_task_families(task_families())
    return 0


def _add_classify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="algebraic classification and the verdict per architecture class",
                       description="Print the syntactic monoid's size, aperiodicity, its maximal subgroups and, "
                                   "for each architecture class, whether it can recognise the language exactly.")
    _add_language_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    p.add_argument("--arch", help="only the verdict for this architecture class or alias (lsrl archs lists them)")
    p.set_defaults(handler=_classify)


def _add_archs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("archs", help="list the architecture classes, their aliases, compile paths and papers")
    p.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    p.set_defaults(handler=_archs)


def _add_language_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="a task name (e.g. parity, mod:3, S:5, task:tomita:3), a DFA .json file "
                   "or an OpenFst AT&T acceptor (.att, .fst.txt, .txt)")
    p.add_argument("--regex", help="a regular expression (syntax: docs/regex.md)")
    p.add_argument("--complete-with-sink", action="store_true", help="complete a partial DFA file with a rejecting sink")
    add_symbols_argument(p)


def add_symbols_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbols", metavar="FILE", help="the OpenFst symbol table ('symbol id' lines) of an AT&T file's "
                   "labels; without one, labels are integers (docs/dfa-format.md)")


def _add_trace(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="run a DFA on a word and print the state after every symbol")
    _add_language_arguments(p)
    p.add_argument("--word", required=True,
                   help="the word: symbols separated by spaces, or one character per symbol if every symbol is "
                   "one character")
    p.set_defaults(handler=_trace)


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="re-check a compiled directory against its certificate and DFA")
    p.add_argument("directory")
    p.add_argument("--source", help="the task, regex:R or DFA file to re-derive the DFA from (default: the one "
                                    "recorded in config.json)")
    p.set_defaults(handler=_verify)


def _export(args: argparse.Namespace) -> int:
    from lsrl.export import export

    print(f"{args.directory} -> {export(args.directory, args.to, args.out)} ({args.to})")
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a compiled model as flash-linear-attention's layer stack (--to fla) or "
                       "a transformers folder of fla's model class (--to hf) (docs/architectures.md)")
    p.add_argument("directory", help="a compiled model directory (lsrl compile)")
    p.add_argument("--to", choices=("fla", "hf"), required=True)
    p.add_argument("-o", "--out", required=True, help="a new or empty directory, or a previous lsrl output")
    p.set_defaults(handler=_export)


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the named tasks and their parameters")
    p.set_defaults(handler=_tasks)


def commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Every subcommand's registration (imported here, so that Ctrl-C during start-up is handled)."""
    from lsrl.cli.programs import add_subcommands as add_program_subcommands
    from lsrl.cli.suite import add_subcommands as add_suite_subcommands
    from lsrl.cli.training import add_subcommands as add_train_subcommands

    return [_add_classify, _add_trace, _add_verify, _add_tasks, _add_archs, _add_export, add_program_subcommands,
            add_train_subcommands, add_suite_subcommands]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsrl", description="Compile programs and automata to exact recurrent models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in commands():
        add(sub)
    for name in threads.COMMANDS:
        threads.add_argument(sub.choices[name])
    for name, names in LIMITED.items():
        limits.add_arguments(sub.choices[name], names)
    return parser


# The limits (``automata.limits``) each command can meet, and so takes a flag for.
LIMITED = {"classify": ("transitions", "states", "elements"), "trace": ("transitions", "states"),
           "compile": tuple(limits.LIMITS), "verify": tuple(limits.LIMITS), "inspect": ("parameters",),
           "run": ("transitions", "states", "parameters"), "export": ("parameters",),
           "train": ("transitions", "states", "parameters"), "extract": ("transitions", "states", "parameters"),
           "check": ("transitions", "states"), "suite": tuple(limits.LIMITS)}


def _interrupt_outside_imports(name: str) -> Callable[[int, FrameType | None], None]:
    """A SIGINT handler: KeyboardInterrupt as usual (so that ``finally`` blocks clean up), except while a
    module is being imported, where the interrupt could surface inside a C++ extension's callback and
    abort the process (torch's import: "terminate called ... KeyboardInterrupt"); an import writes
    nothing of the user's, so there the process leaves at once with the same one line and code 130."""
    def handle(signum: int, frame: FrameType | None) -> None:
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                print(f"{name}: interrupted", file=sys.stderr, flush=True)
                os._exit(EXIT_INTERRUPTED)
            frame = frame.f_back
        raise KeyboardInterrupt
    return handle


def main(argv: Sequence[str] | None = None) -> int:
    threads.limit(threads.requested(sys.argv[1:] if argv is None else argv))  # before numpy and torch load
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupt_outside_imports("lsrl")) if in_main_thread else None
    try:
        return _run(argv, in_main_thread)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _run(argv: Sequence[str] | None, in_main_thread: bool) -> int:
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("lsrl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if in_main_thread:
        signal.signal(signal.SIGINT, _interrupt_outside_imports(f"lsrl {args.command}"))
    try:
        limits.from_arguments(args)
        return args.handler(args)
    except LsrlInputError as err:
        print(f"lsrl {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"lsrl {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    finally:
        limits.reset()


def entry() -> None:
    """The ``lsrl`` console script: ``main``, then exit with its code; a Ctrl-C that arrives once the work
    is done (while the interpreter shuts down) is ignored instead of killing the process by SIGINT."""
    try:
        code = main()
    except KeyboardInterrupt:  # in the instant between main's own handling and its return
        print("lsrl: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)

