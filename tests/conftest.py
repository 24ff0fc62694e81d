"""Shared pytest fixtures and paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_STS = REPO.parent / "shared" / "data" / "sts"

# Tests share two cores with whatever else runs; one thread each keeps timings sane.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _single_thread_torch() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_sts() -> Path:
    """The real STS 2012–2016 data in SentEval layout, or skip with the reason."""
    if not (SHARED_STS / "STS12-en-test").is_dir():
        pytest.skip(f"real STS data not found at {SHARED_STS} (present in CI; see README to download)")
    return SHARED_STS
