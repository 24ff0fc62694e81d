"""`make bench` end to end in quick mode: every benchmark runs and writes its JSON record.

Numbers are reported, never asserted against a speed threshold (machines differ); the test checks
that each record is complete and that what does not depend on the machine agrees with independent
references: the padding of each batching strategy with the measurement docs/benchmarks.md reports
(and vgs_ops.costs projects with), the paper model's FLOPs with a hand computation, the scale
benchmark's store with the bytes of the frames it holds.
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
    assert train["small"]["speedup"] > 0
    # Padded frames per real frame of one epoch's batches (seeded, the same in quick mode): 1.11
    # bucketed and 1.92 with the authors' random batches (docs/benchmarks.md; vgs_ops.costs.PADDING).
    assert train["padded_frames_per_frame"] == {
        "bucketed": pytest.approx(1.11, abs=0.01),  # the docs round to two decimals
        "random": pytest.approx(1.92, abs=0.01),
    }
    # 3 x the forward pass of a 430-frame caption through the paper model: (430 - 6) / 2 + 1 = 213
    # steps x 169,899,264 FLOPs (tests/test_costs.py: 29,952 conv + 17,825,792 + 3 x 50,331,648
    # LSTM + 1,048,576 attention) = 108.57 GFLOP (docs/benchmarks.md: 108.6).
    assert train["paper_gflops_per_training_caption"] == 108.6
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
    # The MFCC shards hold every frame as float32 (39 x 4 bytes) and little else: the record's size
    # (GB to three decimals) is the frames' bytes, within that rounding and 10% of HDF5 overhead.
    written = size["write"]
    frames_gb = written["captions"] * written["mean_frames"] * 39 * 4 / 1e9
    assert frames_gb - 0.0005 <= written["store_gb"] <= 1.1 * frames_gb + 0.0005


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
