"""Progress of a long command on stderr: silent for ``QUIET_SECONDS``, then a spinner with the phase and the elapsed time
on a terminal, elsewhere a log line every ``LOG_SECONDS``; a background thread shows it, so the library computes
without callbacks."""
from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

QUIET_SECONDS = 2.0
LOG_SECONDS = 5.0
REFRESH_SECONDS = 0.25


class Progress:
    """``with Progress("lsrl verify") as progress: progress.phase("checking"); ...``"""

    def __init__(self, command: str, stream: TextIO | None = None) -> None:
        self.command, self.stream = command, stream or sys.stderr
        self.text = "starting"
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsrl-progress", daemon=True)

    def phase(self, text: str) -> None:
        self.text = text

    def line(self) -> str:
        return f"{self.command}: {self.text} ({time.monotonic() - self.start:.0f} s)"

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        if self._stop.wait(QUIET_SECONDS):
            return
        if self.stream.isatty():
            self._spin()
            return
        while True:
            print(self.line(), file=self.stream, flush=True)
            if self._stop.wait(LOG_SECONDS):
                return

    def _spin(self) -> None:
        from rich.console import Console

        with Console(file=self.stream).status(self.line()) as status:
            while not self._stop.wait(REFRESH_SECONDS):
                status.update(self.line())
