"""A missing prerequisite skips a test on a workstation but fails it under CI (``CI=true``), so a
check cannot silently disappear from CI while the run still reads as green."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

import conftest
from conftest import REPO, SHARED_STS, real_sts, skip_or_fail_in_ci
from vgs_ops.cluster import local_slurm


def _outcome(check: Callable[[], object]) -> tuple[type[BaseException], bool]:
    """How ``check`` ends (skip or fail; caught here, since a skip escaping a test reads as a skip,
    not a failure) and whether its message says that CI needs the prerequisite."""
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)) as ended:
        check()
    return ended.type, "CI=true" in str(ended.value)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_prerequisite_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert _outcome(lambda: skip_or_fail_in_ci("SLURM is not installed")) == (pytest.fail.Exception, True)
    assert _outcome(lambda: real_sts(tmp_path)) == (pytest.fail.Exception, True)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_prerequisite_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert _outcome(lambda: skip_or_fail_in_ci("SLURM is not installed")) == (pytest.skip.Exception, False)
    assert _outcome(lambda: real_sts(tmp_path)) == (pytest.skip.Exception, False)


def test_present_data_is_used_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    (tmp_path / "STS12-en-test").mkdir()
    assert real_sts(tmp_path) == tmp_path
    assert SHARED_STS.name == "sts" and SHARED_STS.parent.name == "data"  # ../shared/data/sts


def bare_skips(source: str) -> list[tuple[int, str]]:
    """(line, what) of every skip in ``source`` that bypasses :func:`skip_or_fail_in_ci`: a call of
    ``pytest.skip`` or ``pytest.importorskip``, any use of ``pytest.mark.skip``/``skipif``, and
    ``from pytest import skip``. ``pytest.skip.Exception`` (catching a skip) is no skip."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("pytest.skip", "pytest.importorskip"):
            found.append((node.lineno, ast.unparse(node.func)))
        elif isinstance(node, ast.Attribute) and ast.unparse(node) in ("pytest.mark.skip", "pytest.mark.skipif"):
            found.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "pytest"
            and {alias.name for alias in node.names} & {"skip", "importorskip"}
        ):
            found.append((node.lineno, f"from pytest import {', '.join(alias.name for alias in node.names)}"))
    return sorted(found)


def test_every_skip_in_the_suite_goes_through_the_skip_policy() -> None:
    """A bare skip reads as green under CI while its check never ran; only the policy itself may skip."""
    policy = inspect.getsource(skip_or_fail_in_ci)
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        source = path.read_text()
        if path.name == "conftest.py" and path.parent == REPO / "tests":
            source = source.replace(policy, "")
        offenders += [f"{path.relative_to(REPO)}:{line}: {what}" for line, what in bare_skips(source)]
    assert not offenders, "skip through conftest.skip_or_fail_in_ci instead:\n" + "\n".join(offenders)


def test_the_policing_finds_each_kind_of_bare_skip() -> None:
    source = """
import pytest
from pytest import skip
pytestmark = pytest.mark.skipif(True, reason="x")
@pytest.mark.skip(reason="y")
def test_a():
    pytest.skip("z")
    pytest.importorskip("numpy")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail_in_ci("fine")
"""
    assert [line for line, _ in bare_skips(source)] == [3, 4, 5, 7, 8]


@pytest.mark.parametrize(("ci", "outcome"), [("", "SKIPPED"), ("true", "FAIL under CI=true")])
def test_the_header_names_the_slurm_tests_that_cannot_run_here(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    """`make test` installs nothing: where SLURM is missing, the run says so before it starts (and
    lists each skip with the same reason at the end)."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(local_slurm, "unavailable_reason", lambda: "SLURM test cluster needs sbatch")
    assert (
        f"{outcome}: the SLURM tests (marker slurm): SLURM test cluster needs sbatch" in conftest.pytest_report_header()
    )
    monkeypatch.setattr(local_slurm, "unavailable_reason", lambda: None)
    assert not [line for line in conftest.pytest_report_header() if "SLURM" in line]
