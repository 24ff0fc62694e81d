"""A missing prerequisite skips a test on a workstation but fails it under CI (``CI=true``), so a
check cannot silently disappear from CI while the run still reads as green."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SHARED_STS, real_sts, skip_or_fail_in_ci


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
