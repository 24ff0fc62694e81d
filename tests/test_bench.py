"""`make bench` end to end in quick mode: every benchmark runs and writes its JSON record.

Numbers are reported, never asserted against a speed threshold (machines differ); the test checks
that each record is complete and internally consistent.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vgs_ops.bench import discover
from vgs_ops.bench.__main__ import main
from vgs_ops.bench.train import gpu_hours_projection


@pytest.mark.slow
def test_every_benchmark_writes_a_complete_record(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vgs_ops.bench", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for name in discover():
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert record["benchmark"] == name and record["quick"] is True
        assert record["machine"]["cpu_count"] and record["results"]

    train = json.loads((tmp_path / "train.json").read_text())["results"]
    small = train["small"]
    assert small["speedup"] == pytest.approx(
        small["bucketed"]["utterances_per_s"] / small["random"]["utterances_per_s"], abs=0.01
    )
    # Bucketing pads less than the authors' random batches, by construction.
    assert train["padded_frames_per_frame"]["bucketed"] < train["padded_frames_per_frame"]["random"]
    for strategy in ("bucketed", "random"):
        (run,) = train["equal_results"][strategy]
        assert 0 <= run["dev_r10"] <= 1 and run["best_dev_loss"] > 0
    # The one GPU-hour estimator: make plan's projection of paper.yaml's training jobs (vgs_ops.costs).
    assert train["gpu_estimate"]["gpu_hours_total"] == gpu_hours_projection()["gpu_hours_total"] > 0
    assert (
        "projection of `make plan`" in train["gpu_estimate"]["kind"]
        and "not a measurement" in (train["gpu_estimate"]["kind"])
    )

    scale = json.loads((tmp_path / "scale.json").read_text())["results"]
    (size,) = scale["sizes"]
    assert size["encode"]["captions"] == size["write"]["test_captions"] > 0  # the test split, nothing else
    assert size["peak_rss_gb"] == max(size[part]["peak_rss_gb"] for part in ("write", "train", "encode"))
    rates = size["train"]
    assert rates["loader_over_model"] == pytest.approx(
        rates["loader_captions_per_s"] / rates["model_captions_per_s"], rel=0.02
    )


def test_unknown_benchmark_is_named(tmp_path, capsys):
    # In-process: a subprocess would spend its time importing torch (the slow test above covers `python -m`).
    with pytest.raises(SystemExit) as exited:
        main(["--only", "nope", "--out", str(tmp_path)])
    assert exited.value.code != 0 and "nope" in capsys.readouterr().err


def test_only_imports_the_named_benchmark():
    """A GPU machine runs ``--only gpu`` without the TTS or MFCC references installed (#24)."""
    probe = (
        "import sys; from vgs_ops.bench import discover; found = discover(['gpu']); "
        "print(sorted(found)); print(*sorted({'.'.join(m.split('.')[:3]) for m in sys.modules "
        "if m.startswith('vgs_ops.bench.')}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    # The benchmark packages imported (the gpu package's own parts count as gpu): gpu and what it uses.
    assert result.stdout.split("\n")[:2] == ["['gpu']", "vgs_ops.bench.gpu vgs_ops.bench.train"]


def test_on_request_benchmarks_run_only_when_named_or_quick(tmp_path, monkeypatch):
    """``make bench`` must not write the scale benchmark's 33 GB store unasked."""
    import types

    import vgs_ops.bench.__main__ as bench_main

    ran: list[tuple[str, bool]] = []

    def module(name: str, on_request: bool) -> types.ModuleType:
        fake = types.ModuleType(name)
        fake.NAME, fake.ON_REQUEST = name, on_request
        fake.run = lambda quick: ran.append((name, quick)) or {"ok": True}
        return fake

    fakes = {"light": module("light", False), "heavy": module("heavy", True)}
    monkeypatch.setattr(bench_main, "discover", lambda names=None: fakes)
    monkeypatch.setattr(bench_main, "machine", lambda: {})
    for argv in ([], ["--quick"], ["--only", "heavy"]):
        main([*argv, "--out", str(tmp_path)])
    assert ran == [("light", False), ("heavy", True), ("light", True), ("heavy", False)]
