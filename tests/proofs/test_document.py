"""What every certificate kind shares (``proofs.document``): the error names the failed check as an attribute, the
message opens with it, both survive pickling; the format literal is written once and no checker reads a check
id back out of a message."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from automata.errors import LsrlInputError
from proofs.bounded import BoundedCertificateError
from proofs.disk_certificate import DiskCertificateError
from proofs.document import FORMAT, CertificateError
from proofs.interval_certificate import IntervalCertificateError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("automata", "lsrl", "models", "kernels", "proofs")


@pytest.mark.parametrize("cls", [CertificateError, IntervalCertificateError, BoundedCertificateError,
                                 DiskCertificateError])
@pytest.mark.parametrize("check", ["b", "iii", None])
def test_the_check_is_an_attribute_and_opens_the_message(cls: type[CertificateError], check: str | None) -> None:
    err = cls("after DFA state '0' reads 'a': no", check=check)
    assert isinstance(err, CertificateError) and isinstance(err, LsrlInputError)
    assert err.check == check and err.reason == "after DFA state '0' reads 'a': no"
    assert str(err) == (f"({check}) " if check else "") + err.reason
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), again.check, str(again)) == (cls, check, str(err))


def _sources() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def test_the_format_literal_is_written_once() -> None:
    hits = [path for path in _sources() for _ in re.finditer(re.escape(f'"{FORMAT}"'), path.read_text())]
    assert hits == [ROOT / "proofs" / "document.py"]


def test_no_check_is_read_from_a_message() -> None:
    parsing = "startswith(" + '"('  # written in two parts so that a grep for it finds no test either
    assert [path for path in _sources() if parsing in path.read_text()] == []
