"""The registry of certificate kinds (``proofs.certificate_kinds``): every kind registered under its module's name,
the kind a construction calls for, documents that are not of a registered kind refused naming why, and no code
outside the registry dispatching to a kind's module (docs/theorems.md#adding-a-certificate-kind)."""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from models.origin import ConstructionOrigin
from proofs import bounded, certificate, disk_certificate, interval_certificate
from proofs.certificate_kinds import ALL_LENGTHS, BOUNDED_LENGTH, KINDS, from_json
from proofs.document import FORMAT, VERSION, CertificateError, header

ROOT = Path(__file__).resolve().parents[2]
KIND_MODULES = {"proofs.certificate": certificate.KIND, "proofs.interval_certificate": interval_certificate.KIND,
                "proofs.bounded": bounded.KIND, "proofs.disk_certificate": disk_certificate.KIND}


def test_every_kind_is_registered_under_its_modules_name() -> None:
    assert list(KINDS) == list(KIND_MODULES.values()) == ["exact", "interval", "bounded", "bounded-disk"]
    assert all(k.all_lengths for k in ALL_LENGTHS.values()) and not any(k.all_lengths for k in BOUNDED_LENGTH.values())
    assert all(KINDS[name] is kind for name, kind in {**ALL_LENGTHS, **BOUNDED_LENGTH}.items())


def _model(origin: object) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(origin=origin))


@pytest.mark.parametrize(("origin", "all_lengths", "bounded_length"), [
    (None, "exact", None),  # a trained or hand-made model
    (ConstructionOrigin("c"), "exact", None),
    (ConstructionOrigin("c", exact_values=False), "interval", None),  # reset traces
    (ConstructionOrigin("c", safe_length=10), "exact", "bounded"),  # roots of unity that drift: exact tried first
    (ConstructionOrigin("c", exact_values=False, safe_length=10), "exact", "bounded-disk"),
])
def test_the_kind_follows_the_construction(origin: object, all_lengths: str, bounded_length: str | None) -> None:
    model = _model(origin)
    assert [k.name for k in ALL_LENGTHS.values() if k.applies(model)] == [all_lengths]
    assert [k.name for k in BOUNDED_LENGTH.values() if k.applies(model)] == ([bounded_length] if bounded_length else [])


@pytest.mark.parametrize(("document", "message"), [
    ([], "cert.json: expected a JSON object at top level"),
    ({}, f"cert.json: not an {FORMAT} version {VERSION} document"),
    ({**header("exact"), "version": VERSION + 1}, f"cert.json: not an {FORMAT} version {VERSION} document"),
    (header("boxes"), "cert.json: field 'kind': unknown certificate kind 'boxes' (known: exact, interval, bounded, "
                      "bounded-disk)"),
    ({**header("exact"), "kind": 3}, "cert.json: field 'kind': unknown certificate kind 3"),
])
def test_a_document_of_no_registered_kind_is_refused(document: object, message: str) -> None:
    with pytest.raises(CertificateError) as err:
        from_json(document, "cert.json")
    assert str(err.value).startswith(message) and err.value.check is None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_only_the_registry_dispatches_to_a_kind() -> None:
    """Outside the kind modules and the registry, nothing imports a kind's certify or verify (the exact module's
    shared helpers aside): a new kind needs no edit there."""
    owners = {ROOT / "proofs" / f"{name.split('.')[1]}.py" for name in KIND_MODULES} | {
        ROOT / "proofs" / "certificate_kinds.py"}
    allowed = {"proofs.certificate", "proofs.certificate.first_layer_spectrum"}
    offenders = {}
    for package in ("automata", "lsrl", "models", "kernels", "proofs", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            used = {name for name in _imports(path) if name.split(".")[:2] in [m.split(".") for m in KIND_MODULES]}
            if path not in owners and used - allowed:
                offenders[str(path.relative_to(ROOT))] = sorted(used - allowed)
    assert offenders == {}
