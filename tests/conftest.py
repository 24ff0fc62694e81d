"""Shared pytest fixtures and paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_STS = REPO.parent / "shared" / "data" / "sts"

# Tests share two cores with whatever else runs; one thread each keeps timings sane.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _single_thread_torch() -> None:
    import torch

    torch.set_num_threads(1)


# Checks that need data nobody can fetch where the tests run (no network but package registries):
# collected only when the variable names the data, and named in the pytest header when they are
# not, so that a run never counts them as passed. test file -> (variable, what it needs).
OPT_IN_CHECKS = {
    "test_sts_official_text.py": ("STS_OFFICIAL_ROOT", "the official cased STS 2012-2016 archives in SentEval layout"),
    "test_image_weights.py": ("VGS_IMAGENET_WEIGHTS", "1 where torchvision's ImageNet ResNet-152 weights are cached"),
}
collect_ignore = [name for name, (variable, _) in OPT_IN_CHECKS.items() if not os.environ.get(variable)]


def pytest_report_header() -> list[str]:
    """Checks that will not run here, named before the run starts (each skip is listed again with
    its reason in the summary at the end, ``-ra``)."""
    from vgs_ops.cluster.local_slurm import unavailable_reason

    lines = [f"NOT RUN: {name} (set {OPT_IN_CHECKS[name][0]} to {OPT_IN_CHECKS[name][1]})" for name in collect_ignore]
    slurm = unavailable_reason()
    if slurm:
        outcome = "FAIL under CI=true" if running_in_ci() else "SKIPPED"
        lines.append(f"{outcome}: the SLURM tests (marker slurm): {slurm}")
    return lines


def running_in_ci() -> bool:
    """True under CI (``CI=true``, as GitHub Actions, GitLab CI and most others set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_or_fail_in_ci(reason: str) -> NoReturn:
    """Skip a test whose prerequisite is missing here; under CI fail instead, because a check that
    CI skips would be reported as passed while it never ran."""
    if running_in_ci():
        pytest.fail(f"{reason}; CI=true, where this prerequisite must be present", pytrace=False)
    pytest.skip(reason)


def real_sts(root: Path = SHARED_STS) -> Path:
    """``root`` if it holds STS 2012–2016 in SentEval layout; else skip locally, fail under CI."""
    if not (root / "STS12-en-test").is_dir():
        skip_or_fail_in_ci(f"real STS data not found at {root} (see README to download)")
    return root


@pytest.fixture(scope="session")
def shared_sts() -> Path:
    """The real STS data: Table 1's counts and every real-data test rest on it, so CI must have it."""
    return real_sts()


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_snakemake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the fast tier (``-m "not slow ..."``, `make test-fast`) a test that starts Snakemake fails
    with the fix, so the tier stays fast as tests are added."""
    if "not slow" not in (request.config.option.markexpr or ""):
        return
    start = subprocess.Popen.__init__

    def refuse_snakemake(process: subprocess.Popen, args: object, *rest: object, **options: object) -> None:
        words = [args] if isinstance(args, str | os.PathLike) else list(args)  # type: ignore[call-overload]
        if any(Path(str(word)).name.startswith("snakemake") for word in words[:3]):
            pytest.fail(f"{request.node.nodeid} starts Snakemake ({words[:3]}): mark it @pytest.mark.slow")
        start(process, args, *rest, **options)

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse_snakemake)


@pytest.fixture()
def preadv_bytes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes of each ``os.preadv`` call from here on (the store reads rows only through it), so a test
    can assert that a job read exactly the rows it uses."""
    read: list[int] = []
    real = os.preadv

    def counting(fd: int, buffers: list, offset: int) -> int:
        read.append(real(fd, buffers, offset))
        return read[-1]

    monkeypatch.setattr(os, "preadv", counting)
    return read
