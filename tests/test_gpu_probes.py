"""Probes of a faster GPU step (vgs_ops.bench.gpu.probes, .sharing): each computes today's step.

Why: the probes are there to be timed the moment a GPU is lent; a probe that computes something
else than today's training step would time the wrong thing. On the CPU each probe runs the check
`make gpu-check` runs (the streamless twin of a, the ungraphed twin of d), on a two-layer tiny
model so that the wiring between layers is exercised. The CUDA arms (streams, graphs, timings, the
sharing rates) run in `make gpu-check` on a GPU, whose gpu.json records each check's ``ok``; the
suite has no GPU test, since CI has no GPU and a skip there would read as a pass (tests/test_skips.py).
"""

from __future__ import annotations

import dataclasses
import queue
import time

import pytest
import torch

from vgs.model import BiLSTM, ModelConfig
from vgs.train.loss import hinge_loss
from vgs_ops.bench.gpu import harness, probes, report, sharing
from vgs_ops.bench.gpu.harness import LOSS_TOLERANCE, NOT_ON_CPU, QUICK

# Two layers: the second reads [forward, backward] states, which a wrong mapping would scramble.
TINY = {"conv_channels": 8, "conv_kernel": 4, "conv_stride": 2, "rnn_layers": 2, "rnn_hidden": 8, "attention_hidden": 8}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> harness.Corpus:
    """The quick check's synthetic corpus, with the tiny model."""
    made = harness.make_corpus(tmp_path_factory.mktemp("probes"), QUICK, QUICK.images, "train")
    return dataclasses.replace(made, config=ModelConfig.from_dict({**TINY, "image_dim": made.config.image_dim}))


def checked(out: dict) -> dict:
    """The check of a probe run on the CPU, whose timing must say why it is not measured."""
    assert out["timing"]["not_measured"].startswith(NOT_ON_CPU)
    return out["check"]


def test_concurrent_directions_compute_todays_step(corpus: harness.Corpus) -> None:
    out: dict = {}
    probes.concurrent(corpus, QUICK, "cpu", out)
    check = checked(out)
    assert check["ok"] and check["steps"] == QUICK.probe_steps
    assert check["embeddings_max_abs_difference"] <= probes.PROBE_TOLERANCE


def test_packed_bidirectional_lstm_computes_todays_step(corpus: harness.Corpus) -> None:
    """The stock LSTM's backward direction over packed sequences starts at each caption's last
    valid frame, as today's reverse_valid: the same embeddings and losses to fp32 rounding."""
    out: dict = {}
    probes.packed(corpus, QUICK, "cpu", out)
    check = checked(out)
    assert check["ok"] and max(check["losses_relative_difference"]) <= probes.PROBE_TOLERANCE


def test_stock_weights_cover_the_stock_lstm_and_keep_the_directions() -> None:
    rnn = BiLSTM(5, 4, 2)
    stock = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
    mapped = probes.stock_weights(rnn)
    assert set(mapped) == {name for name, _ in stock.named_parameters()}
    assert mapped["weight_hh_l1"] is rnn.forward_layers[1].weight_hh_l0
    assert mapped["bias_ih_l0_reverse"] is rnn.backward_layers[0].bias_ih_l0


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_half_precision_lstms_are_measured_against_fp32(corpus: harness.Corpus, name: str) -> None:
    """The distance is reported, not held to fp32 rounding: it must exist (the LSTM really ran in
    half precision) and stay within the GPU check's precision tolerance of the loss."""
    out: dict = {}
    probes.half_lstms(corpus, QUICK, "cpu", out)
    check = checked(out[name])
    assert "ok" not in check  # measured, not judged
    assert 0 < check["embeddings_max_abs_difference"] < 0.05
    assert 0 < check["max_relative_difference"] <= LOSS_TOLERANCE


def test_half_lstm_computes_in_half_and_keeps_fp32_master_weights() -> None:
    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    before = lstm.weight_ih_l0.detach().clone()
    output = probes.half_lstm(lstm, torch.randn(2, 5, 3), torch.bfloat16)
    assert output.dtype == torch.bfloat16
    output.float().sum().backward()
    assert lstm.weight_ih_l0.dtype == torch.float32 and lstm.weight_ih_l0.grad.dtype == torch.float32
    torch.optim.SGD(lstm.parameters(), lr=0.1).step()
    assert not torch.equal(lstm.weight_ih_l0, before)  # the fp32 weights learn


def test_bucketed_step_computes_todays_step(corpus: harness.Corpus) -> None:
    """Padding a batch up to the next of a few lengths (masked) and today's hinge loss without
    boolean indexing: the same embeddings and losses as today's step to fp32 rounding."""
    out: dict = {}
    probes.graphs(corpus, QUICK, "cpu", out)
    check = checked(out)
    assert check["ok"] and out["graphs"].startswith(NOT_ON_CPU)
    assert len(out["padded_lengths"]) <= QUICK.probe_buckets
    padding = out["padded_frames_per_frame"]
    assert padding["buckets"] >= padding["today"] >= 1


def test_bucket_lengths_by_hand() -> None:
    """Batches padded to 100, 130, 200, 250 frames in two buckets: the upper edges of the halves
    (the 'higher' median 200 and the maximum 250), rounded up to 16 frames: 208 and 256."""
    buckets = probes.bucket_lengths([130, 250, 100, 200], 2)
    assert buckets == [208, 256]
    assert [probes.bucket_of(n, buckets) for n in (100, 208, 209, 256)] == [208, 208, 256, 256]
    with pytest.raises(ValueError, match="longer"):
        probes.bucket_of(257, buckets)


def test_masked_hinge_loss_by_hand() -> None:
    """Captions (1, 0), (0, 1); images (1, 0), (0.8, 0.6); margin 0.2. Similarities [[1, 0.8], [0, 0.6]].
    Caption anchors: 0.2 - 1 + 0.8 = 0 and 0.2 - 0.6 + 0 < 0; image anchors: 0.2 - 0.6 + 0.8 = 0.4 and
    0.2 - 1 + 0 < 0. The diagonal is left out: 0.4 over the 4 cells = 0.1 (with it: + 4 x 0.2, 0.3)."""
    captions = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    images = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    assert float(probes.masked_hinge_loss(captions, images, 0.2)) == pytest.approx(0.1, abs=1e-7)
    rng = torch.Generator().manual_seed(0)
    captions, images = (torch.nn.functional.normalize(torch.randn(8, 6, generator=rng), dim=1) for _ in range(2))
    assert float(probes.masked_hinge_loss(captions, images, 0.2)) == pytest.approx(float(hinge_loss(captions, images)))


def test_sharing_aggregate_by_hand() -> None:
    """Two processes: 100 captions over 0-10 s and 60 over 1-11 s: 160 captions in the 11 s from the
    first start to the last end, 14.55 captions/s together; 10 and 6 each."""
    rows = [{"start": 0.0, "end": 10.0, "captions": 100}, {"start": 1.0, "end": 11.0, "captions": 60}]
    assert sharing.aggregate(rows) == {
        "processes": 2,
        "aggregate_captions_per_s": 14.55,
        "per_process_captions_per_s": [10.0, 6.0],
        "span_s": 11.0,
    }


def test_a_sharing_worker_runs_todays_step(corpus: harness.Corpus) -> None:
    """The worker function in this process (the probe spawns it): its first loss, with seed 0, is
    today's trainer's on the same batch, and a window counts the captions of the steps it ran."""
    threads = torch.get_num_threads()
    first = corpus.plans["random"][0]
    spec = sharing.WorkerSpec(str(corpus.directory), "small", corpus.batch, "cpu", 1, tuple(int(i) for i in first))
    small = dataclasses.replace(corpus, config=harness.SIZES["small"])
    today = harness.make_trainer(small, "cpu", "fp32", seed=0)
    expected = float(today.train_step(*today.batch_tensors(small.train, first), harness.LR))
    commands, results = queue.Queue(), queue.Queue()
    commands.put(("run", time.monotonic(), 0.2))
    commands.put(("stop",))
    try:
        sharing.worker(spec, 0, commands, results)
    finally:
        torch.set_num_threads(threads)
    ready, ran = results.get_nowait(), results.get_nowait()
    assert ready[:2] == ("ready", 0) and ready[2]["first_loss"] == expected
    assert ran[:2] == ("ran", 0) and ran[2]["steps"] >= 1 and ran[2]["end"] - ran[2]["start"] >= 0.2
    assert ran[2]["captions"] >= ran[2]["steps"] * 2


def test_the_digest_shows_a_gpu_runs_checks_and_rates() -> None:
    """A record shaped as a GPU run leaves it (made up here: no GPU has run the probes yet), so that
    the CUDA-only branches of gpu.md's probe table are read before they first meet real numbers."""
    timing = {"today": {"captions_per_s": 88.0}, "probe": {"captions_per_s": 120.0}, "speedup": 1.364}
    ok = {"embeddings_max_abs_difference": 0.0, "max_relative_difference": 1e-7, "ok": True}
    distance = {"embeddings_max_abs_difference": 0.001, "max_relative_difference": 0.002}
    found = {
        "concurrent": {"check": ok, "timing": timing},
        "packed": {"check": {**ok, "ok": False}, "timing": timing},
        "half_lstm": {"bf16": {"check": distance, "timing": timing}, "failed": "failed: RuntimeError: fp16"},
        "graphs": {"check": ok, "failed": "failed: RuntimeError: capture"},
        "sharing": {
            "check": {"first_loss_relative_difference": 0.0, "ok": True},
            "runs": {
                "1": {"aggregate_captions_per_s": 88.0, "over_one_process": 1.0},
                "2": {"aggregate_captions_per_s": 150.0, "over_one_process": 1.705},
            },
        },
    }
    assert report.probe_lines(found)[-7:] == [
        "| concurrent | ok (embeddings 0, losses 1e-07) | 88 | 120 | 1.364 |",
        "| packed | FAILED (embeddings 0, losses 1e-07) | 88 | 120 | 1.364 |",
        "| graphs | ok (embeddings 0, losses 1e-07); failed: RuntimeError: capture | — | — | — |",
        "| half_lstm bf16 | distance: embeddings 0.001, losses 0.002 | 88 | 120 | 1.364 |",
        "| half_lstm fp16 | failed: RuntimeError: fp16 | — | — | — |",
        "",
        "Sharing one GPU: check ok (first loss 0); 1 process(es) 88.0 captions/s together, 1.0x one; "
        "2 process(es) 150.0 captions/s together, 1.705x one.",
    ]
    skipped = report.probe_lines({**found, "sharing": {"not_measured": "skipped: 3 s left"}})
    assert skipped[-1] == "Sharing one GPU: check skipped: 3 s left; —."
