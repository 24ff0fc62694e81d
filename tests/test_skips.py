"""A missing prerequisite skips a test on a workstation but fails it under CI (``CI=true``), so a
check cannot silently disappear from CI while the run still reads as green."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SHARED_STS, real_sts, skip_or_fail_in_ci


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_prerequisite_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        skip_or_fail_in_ci("SLURM is not installed")
    with pytest.raises(pytest.fail.Exception, match=f"real STS data not found at {tmp_path}"):
        real_sts(tmp_path)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_prerequisite_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="SLURM is not installed"):
        skip_or_fail_in_ci("SLURM is not installed")
    with pytest.raises(pytest.skip.Exception, match="real STS data not found"):
        real_sts(tmp_path)


def test_present_data_is_used_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    (tmp_path / "STS12-en-test").mkdir()
    assert real_sts(tmp_path) == tmp_path
    assert SHARED_STS.name == "sts" and SHARED_STS.parent.name == "data"  # ../shared/data/sts
