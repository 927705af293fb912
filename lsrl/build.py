"""The lsrl build that writes a model directory: its version and, in a git checkout, its commit (config.json's
``lsrl`` field), so that ``lsrl verify`` can say when a mismatch comes from another build."""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from lsrl import __version__

FIELD = "lsrl"


@functools.cache
def this_build() -> dict[str, str | None]:
    """``{"version": ..., "commit": ...}`` of the running lsrl; the commit is None outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    commit = None
    if (root / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                  text=True, timeout=5)
            commit = done.stdout.strip() or None if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"version": __version__, "commit": commit}


def other_build(config: dict[str, object]) -> str | None:
    """Why a directory's config.json may not match what this lsrl recomputes: the build it records, where that
    differs from this one (or where it records none); None when it was written by this build."""
    recorded = config.get(FIELD)
    if recorded == this_build():
        return None
    now = _shown(this_build())
    if not isinstance(recorded, dict):
        return f"it was written by an older lsrl, which did not record its version (this is {now}): recompile it"
    return f"it was written by another lsrl ({_shown(recorded)}; this is {now}): recompile it"


def _shown(build: dict[str, object]) -> str:
    commit = build.get("commit")
    return f"version {build.get('version')!s:.40}" + (f", commit {commit!s:.40}" if commit else "")
