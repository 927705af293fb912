"""Output directories that never destroy what lsrl did not write: a marker lists what lsrl wrote, a new version is written
beside the target and swapped in atomically, writers serialise (README.md, "Outputs never destroy your files")."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from automata.errors import LsrlInputError
from automata.fileformat import umask

MARKER = ".lsrl-output.json"
MARKER_FORMAT = "lsrl-output"


class UnsafeOutput(LsrlInputError):
    """An output path lsrl refuses to write: it holds something lsrl did not write, or it is a
    directory whose loss would be a disaster (/, home, the current directory or an ancestor)."""


def check_target(directory: str | os.PathLike) -> Path:
    """``directory`` as an absolute path if lsrl may (re)place it; else ``UnsafeOutput`` saying why."""
    text = os.fspath(directory)
    if not text.strip():
        raise UnsafeOutput("the output path is empty: name a new directory (e.g. -o out/model)")
    path = Path(text).expanduser()
    absolute = Path(os.path.abspath(path))
    resolved = absolute.resolve()
    cwd = Path.cwd().resolve()
    protected = {Path(absolute.anchor), Path.home().resolve(), cwd, *cwd.parents}
    if resolved in protected or absolute in protected:
        raise UnsafeOutput(f"{text}: refusing to write an output over {resolved} (the filesystem root, the home "
                           "directory, or the current directory or one of its parents); name a new directory")
    if path.is_symlink():
        raise UnsafeOutput(f"{text}: is a symbolic link; lsrl writes outputs only to real directories it created")
    if not path.exists():
        return absolute
    if not path.is_dir():
        raise UnsafeOutput(f"{text}: exists and is not a directory; lsrl will not replace it")
    foreign = foreign_entries(path)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise UnsafeOutput(f"{text}: exists and holds files lsrl did not write ({shown}); lsrl replaces only its own "
                           "previous outputs: choose another directory or move these files away")
    return absolute


def claim_incremental(directory: str | os.PathLike) -> Path:
    """Make ``directory`` an lsrl output that is filled file by file (a reproduction's records and
    tables): allowed where ``write_directory`` would be, and also over a previous incremental output
    of lsrl (its marker says so), whose files are then updated in place, each one atomically."""
    text = os.fspath(directory)
    path = Path(text).expanduser()
    if path.is_dir() and _is_incremental(path):
        return Path(os.path.abspath(path))
    target = check_target(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent):  # ranks of one torchrun claim the same directory at once
        if not (target.is_dir() and _is_incremental(target)):
            target = check_target(directory)
            target.mkdir(exist_ok=True)
            _write_marker(target, [], incremental=True)
    return target


def _is_incremental(directory: Path) -> bool:
    marker = _read_marker(directory)
    return marker is not None and marker.get("incremental") is True


def foreign_entries(directory: Path) -> list[str]:
    """Entries of ``directory`` that its lsrl marker does not list (all of them when there is none)."""
    entries = sorted(p.name for p in directory.iterdir())
    if not entries:
        return []
    written = _marker_files(directory)
    if written is None:
        return entries
    return [name for name in entries if name != MARKER and name not in written]


def _marker_files(directory: Path) -> set[str] | None:
    """The files the marker of ``directory`` lists; None when it has no valid marker."""
    marker = _read_marker(directory)
    files = None if marker is None else marker.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _read_marker(directory: Path) -> dict[str, Any] | None:
    try:
        document = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("format") == MARKER_FORMAT else None


def _write_marker(directory: Path, files: list[str], incremental: bool = False) -> None:
    """The marker, written beside the files and renamed into place (a reader never sees half of it)."""
    tmp = directory / f"{MARKER}.tmp"
    tmp.write_text(json.dumps({"format": MARKER_FORMAT, "files": files, **({"incremental": True} if incremental
                                                                           else {})}) + "\n")
    os.replace(tmp, directory / MARKER)


def write_directory(directory: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to fill a fresh sibling directory, then put it in place of ``directory``
    (checked by ``check_target``) atomically; on any failure the old output is left as it was."""
    target = check_target(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent):
        target = check_target(directory)  # re-checked under the lock: another writer may have been first
        _remove_stale_temporaries(target)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=_temporary_prefix(target)))
        try:
            _write_marker(tmp, [])  # first, so that a killed writer's temporary is recognisably ours
            write(tmp)
            _write_marker(tmp, sorted(p.name for p in tmp.iterdir() if p.name != MARKER))
            _default_permissions(tmp)
            _swap_in(tmp, target)
        finally:
            _remove_temporary(tmp)  # the new files on failure, the old ones after a swap
    return target


def _remove_temporary(tmp: Path) -> None:
    """Remove one of our temporaries, its marker last, so that a writer killed half-way through leaves a
    directory that ``_remove_stale_temporaries`` still recognises as ours."""
    for path in tmp.iterdir() if tmp.is_dir() else ():
        if path.name == MARKER:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _default_permissions(directory: Path) -> None:
    """The permissions a plain ``mkdir`` and ``open`` would give under the user's umask (temporary
    directories and files are created private, 0700/0600)."""
    mask = umask()
    os.chmod(directory, 0o777 & ~mask)
    for path in directory.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.lsrl-tmp-"


def _remove_stale_temporaries(target: Path) -> None:
    """Temporaries of ``target`` left by a killed writer (safe: we hold the parent's lock, and only
    directories with our prefix and our marker, or empty, are removed)."""
    for stale in target.parent.glob(_temporary_prefix(target) + "*"):
        if stale.is_dir() and not stale.is_symlink() and (_marker_files(stale) is not None or
                                                           {p.name for p in stale.iterdir()} <= {f"{MARKER}.tmp"}):
            shutil.rmtree(stale, ignore_errors=True)  # with a marker, or empty, or killed while writing its first marker


def _swap_in(tmp: Path, target: Path) -> None:
    """Put ``tmp`` at ``target``; afterwards ``tmp`` holds the old version (if any), to be removed."""
    if not target.exists():
        os.rename(tmp, target)
        tmp.mkdir()
        return
    if target.is_dir() and not any(target.iterdir()):
        os.rmdir(target)  # fails if a file appeared meanwhile: nothing is lost
        os.rename(tmp, target)
        tmp.mkdir()
        return
    if _exchange(tmp, target):
        return
    aside = tmp.with_name(tmp.name + "-old")
    os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(aside, target)
        raise
    os.rename(aside, tmp)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux's renameat2; False where the system has no such call."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot exchange
        return False
    raise OSError(errno, os.strerror(errno), str(b))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """The C library's renameat2, looked up once among the process's own symbols (None elsewhere)."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None


@contextlib.contextmanager
def _locked(parent: Path) -> Iterator[None]:
    """An exclusive lock on the parent directory, so that concurrent writers take turns."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks on directories
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
