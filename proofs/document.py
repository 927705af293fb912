"""The certificate document every kind shares: its format name and version (written here only), the fields that
open it, its JSON text, and the error a failed check raises, which carries the check's id."""
from __future__ import annotations

import json
from typing import Any

from automata.errors import LsrlInputError

FORMAT = "lsrl-certificate"
VERSION = 2


class CertificateError(LsrlInputError):
    """A certificate that does not check or cannot be made. ``check`` is the id of the failed step of its kind's
    proof ("b" for (b) of ``proofs.certificate``, "iii" for (iii) of ``proofs.bounded``), which the message
    opens with in parentheses; None when no one step failed (a malformed document, a limit)."""

    def __init__(self, reason: str, check: str | None = None) -> None:
        super().__init__(f"({check}) {reason}" if check else reason)
        self.reason = reason
        self.check = check

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        return type(self), (self.reason, self.check)


def header(kind: str) -> dict[str, Any]:
    """The fields that open a document of ``kind``."""
    return {"format": FORMAT, "version": VERSION, "kind": kind}


def save_certificate(document: dict[str, Any]) -> str:
    """The document's JSON text as ``lsrl compile`` writes it (compact, one line)."""
    return json.dumps(document, indent=None, separators=(",", ":")) + "\n"
