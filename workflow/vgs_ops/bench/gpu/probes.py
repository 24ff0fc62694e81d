"""Probes of a faster GPU training step, built beside today's model from today's weights.

Why: at the authors' recipe (fp32, random batches of 32) Places trains for ~78 h on one H200 at
~15 % of its fp32 peak. The caption encoder's BiLSTM runs its eight unidirectional LSTMs one
after another (:class:`vgs.model.BiLSTM`), each recurrent step a skinny matrix product. Each probe
here is another way to compute the *same* training step; it swaps itself into a
:class:`~vgs.train.loop.Trainer` built like today's (same seed, so the same initial weights), and is
checked against today's path on the same batches before it is timed:

a. ``concurrent``: the two directions of each layer on two CUDA streams (today's arithmetic exactly);
b. ``packed``: PyTorch's stock bidirectional cuDNN LSTM over packed sequences (the authors' own
   computation), today's weights mapped in;
c. ``half_lstm``: the LSTMs computed in fp16 or bf16 (cuDNN's native half-precision kernels) from
   fp32 master weights, the rest of the model in fp32 (fp16 with gradient scaling);
d. ``graphs``: the whole step (forward, loss, backward, Adam) captured as one CUDA graph per padded
   length of a small set, each batch padded up to the next length (padding is masked, so
   the outputs are unchanged).

(e, several trainings sharing one GPU, is :mod:`vgs_ops.bench.gpu.sharing`.)

The check compares the embeddings of one batch (today's weights) and the losses of the first few
training steps with today's; for a, b and d they must agree to fp32 rounding
(:data:`PROBE_TOLERANCE`), for c the distance is measured and reported. On a CPU the checks run
(streams and graphs are CUDA-only, so a runs its streamless twin and d its ungraphed twin, the
same code they capture) and the timings say why they are not measured; nothing here changes the
model, which is part two's decision once the timings exist.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from vgs.model import BiLSTM, reverse_valid, run_lstm
from vgs.train.loop import Trainer
from vgs_ops.bench.gpu.harness import LR, MAX_FRAMES, NOT_ON_CPU, Corpus, Plan, make_trainer, not_measured, tf32
from vgs_ops.bench.gpu.throughput import timed_steps
from vgs_ops.bench.train import stratified

#: a, b, d against today's path: max |difference| of unit-norm embeddings and relative difference of
#: each of the first losses. fp32 rounding of a reordered computation is ~1e-7 relative; a few Adam
#: steps amplify it (Adam divides by the gradients' own scale), hence 1e-5 rather than 1e-7.
PROBE_TOLERANCE = 1e-5
#: c: the half-precision distance is measured, and only bounded by the GPU check's precision tolerance
#: (vgs_ops.bench.gpu.harness.LOSS_TOLERANCE, 5 % of the loss) as a sanity check.
HALF_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: d: padded lengths are multiples of this many frames.
BUCKET_MULTIPLE = 16

Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclasses.dataclass
class Variant:
    """A probe's training step and its caption encoder, as they run beside today's."""

    step: Step  # (frames, lengths, images) -> detached loss, one optimizer update
    embed: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (frames, lengths) -> caption embeddings


def trainer_variant(trainer: Trainer) -> Variant:
    """A trainer's own step and caption encoder (today's, or a probe's swapped into its model)."""
    return Variant(
        lambda frames, lengths, images: trainer.train_step(frames, lengths, images, LR),
        trainer.model.caption_encoder,
    )


def swap_rnn(trainer: Trainer, rnn: nn.Module) -> None:
    """Put ``rnn`` in place of the trainer's BiLSTM; a new optimizer when it brings its own weights."""
    before = {id(p) for p in trainer.model.parameters()}
    trainer.model.caption_encoder.rnn = rnn
    if {id(p) for p in trainer.model.parameters()} != before:
        trainer.optimizer = torch.optim.Adam(trainer.model.parameters(), lr=trainer.settings.lr_min)


# --- a: both directions at once ------------------------------------------------------------------


@contextlib.contextmanager
def on_stream(stream: torch.cuda.Stream | None, *inputs: torch.Tensor) -> Iterator[None]:
    """Run the block on ``stream`` once the current stream's work on ``inputs`` is done (no stream: here)."""
    if stream is None:
        yield
        return
    stream.wait_stream(torch.cuda.current_stream())
    for tensor in inputs:  # made on the current stream, read on this one: keep their memory until it is done
        tensor.record_stream(stream)
    with torch.cuda.stream(stream):
        yield


def join(stream: torch.cuda.Stream | None, output: torch.Tensor) -> torch.Tensor:
    """``output`` of work on ``stream``, made safe to use on the current stream."""
    if stream is not None:
        torch.cuda.current_stream().wait_stream(stream)
        output.record_stream(torch.cuda.current_stream())
    return output


class ConcurrentBiLSTM(nn.Module):
    """Today's BiLSTM (the same layers, so the same weights) with the two directions of each layer
    issued on two CUDA streams, so that the GPU may run them at once; autograd runs each backward
    on its forward's stream. Without CUDA the same code runs on the one stream there is."""

    def __init__(self, rnn: BiLSTM):
        super().__init__()
        self.forward_layers, self.backward_layers = rnn.forward_layers, rnn.backward_layers
        self.streams: tuple[torch.cuda.Stream, torch.cuda.Stream] | tuple[None, None] = (None, None)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.is_cuda and self.streams[0] is None:
            self.streams = (torch.cuda.Stream(x.device), torch.cuda.Stream(x.device))
        ahead_stream, behind_stream = self.streams
        for ahead_lstm, behind_lstm in zip(self.forward_layers, self.backward_layers, strict=True):
            with on_stream(ahead_stream, x):
                ahead = run_lstm(ahead_lstm, x)
            with on_stream(behind_stream, x, lengths):
                behind = reverse_valid(run_lstm(behind_lstm, reverse_valid(x, lengths)), lengths)
            x = torch.cat([join(ahead_stream, ahead), join(behind_stream, behind)], dim=-1)
        return x


# --- b: the stock bidirectional LSTM over packed sequences ---------------------------------------


def stock_weights(rnn: BiLSTM) -> dict[str, torch.Tensor]:
    """Today's weights under the names of one ``nn.LSTM(num_layers=L, bidirectional=True)``: layer
    ``i``'s forward LSTM is ``*_l{i}``, its backward LSTM ``*_l{i}_reverse``; layer ``i + 1`` reads
    ``[forward, backward]`` states, as today's concatenation."""
    return {
        f"{kind}_l{layer}{suffix}": getattr(lstm, f"{kind}_l0")
        for layer, pair in enumerate(zip(rnn.forward_layers, rnn.backward_layers, strict=True))
        for suffix, lstm in zip(("", "_reverse"), pair, strict=True)
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }


class PackedBiLSTM(nn.Module):
    """The authors' computation: one stock bidirectional LSTM over ``pack_padded_sequence``, whose
    backward direction starts at each sequence's last valid frame (as today's ``reverse_valid``);
    padded positions come back as zeros, which attention pooling masks as it masks today's."""

    def __init__(self, rnn: BiLSTM):
        super().__init__()
        first = rnn.forward_layers[0]
        self.lstm = nn.LSTM(
            first.input_size,
            first.hidden_size,
            num_layers=len(rnn.forward_layers),
            bidirectional=True,
            batch_first=True,
        ).to(first.weight_ih_l0.device)
        with torch.no_grad():
            for name, weight in stock_weights(rnn).items():
                getattr(self.lstm, name).copy_(weight)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]


# --- c: LSTMs in half precision from fp32 master weights -----------------------------------------


def half_lstm(lstm: nn.LSTM, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``lstm`` on ``x`` with its weights cast to ``dtype`` for this call: the casts are in the graph,
    so the gradients reach the fp32 weights (the master copy the optimizer updates) in fp32."""
    weights = {name: weight.to(dtype) for name, weight in lstm.named_parameters()}
    return functional_call(lstm, weights, (x.to(dtype),))[0]


class HalfBiLSTM(nn.Module):
    """Today's BiLSTM (the same fp32 weights) computed in ``dtype``; it returns fp32 states."""

    def __init__(self, rnn: BiLSTM, dtype: torch.dtype):
        super().__init__()
        self.forward_layers, self.backward_layers, self.dtype = rnn.forward_layers, rnn.backward_layers, dtype

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for ahead_lstm, behind_lstm in zip(self.forward_layers, self.backward_layers, strict=True):
            ahead = half_lstm(ahead_lstm, x, self.dtype)
            behind = reverse_valid(half_lstm(behind_lstm, reverse_valid(x, lengths), self.dtype), lengths)
            x = torch.cat([ahead, behind], dim=-1)
        return x.float()


# --- d: the whole step as CUDA graphs over a few padded lengths ----------------------------------


def bucket_lengths(padded: Sequence[int], count: int, multiple: int = BUCKET_MULTIPLE) -> list[int]:
    """``count`` padded lengths (at most) covering ``padded``: the upper edges of equal quantiles of
    the batches' lengths, rounded up to ``multiple`` frames (never beyond the longest, rounded)."""
    edges = np.quantile(np.asarray(padded), np.arange(1, count + 1) / count, method="higher")
    return sorted({int(-(-int(edge) // multiple) * multiple) for edge in edges})


def bucket_of(length: int, buckets: Sequence[int]) -> int:
    """The shortest padded length that holds ``length`` frames."""
    fitting = [bucket for bucket in buckets if bucket >= length]
    if not fitting:
        raise ValueError(f"a batch of {length} frames is longer than every padded length {list(buckets)}")
    return min(fitting)


def masked_hinge_loss(captions: torch.Tensor, images: torch.Tensor, margin: float) -> torch.Tensor:
    """Today's hinge loss (:func:`vgs.train.loss.hinge_loss`: symmetric, mean over all B x B cells,
    zero diagonal) with the diagonal zeroed in place instead of left out by boolean indexing, whose
    data-dependent shape makes the host wait for the GPU (nothing that waits can be captured)."""
    sims = captions.float() @ images.float().T
    positive = sims.diagonal()
    cost = (margin - positive[:, None] + sims).clamp(min=0) + (margin - positive[None, :] + sims).clamp(min=0)
    diagonal = torch.eye(len(sims), dtype=torch.bool, device=sims.device)
    return cost.masked_fill(diagonal, 0.0).sum() / sims.numel()


@dataclasses.dataclass
class Captured:
    """One padded length's graph with the static tensors it reads and writes."""

    frames: torch.Tensor
    lengths: torch.Tensor
    images: torch.Tensor
    graph: torch.cuda.CUDAGraph | None = None
    loss: torch.Tensor | None = None


class BucketedStep:
    """Today's training step (fp32, the hinge loss, Adam at the fixed LR) on batches padded up to
    the next of ``buckets``; on CUDA one CUDA graph per length (``graphs``), replayed with each
    batch copied into its static tensors. Without graphs the same body runs eagerly."""

    def __init__(self, trainer: Trainer, buckets: Sequence[int], batch: int, graphs: bool):
        if trainer.settings.loss != "hinge" or trainer.runtime.dtype is not None:
            raise ValueError("the graph probe replays the authors' recipe: the hinge loss in fp32")
        self.model, self.margin, self.buckets = trainer.model, trainer.settings.margin, sorted(buckets)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, capturable=graphs)
        trainer.optimizer = self.optimizer
        self.captured: dict[int, Captured] = {}
        if graphs:
            self.capture(batch, next(self.model.parameters()).device)

    def body(self, frames: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Forward, loss, backward into gradients that start as None, and the Adam update."""
        captions, pictures = self.model(frames, lengths, images)
        loss = masked_hinge_loss(captions, pictures, self.margin)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def capture(self, batch: int, device: torch.device) -> None:
        """One graph per length, after warm-up steps on a side stream (PyTorch's recipe for capturing
        a whole network); then the weights and Adam's state are put back to before the warm-up, in
        place, so that the graphs continue from today's initial weights."""
        config = self.model.config
        saved = [p.detach().clone() for p in self.model.parameters()]
        for length in self.buckets:
            static = Captured(
                torch.zeros(batch, length, config.mfcc_dim, device=device),
                torch.full((batch,), length, dtype=torch.long, device=device),
                torch.zeros(batch, config.image_dim, device=device),
            )
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.optimizer.zero_grad(set_to_none=True)
                    self.body(static.frames, static.lengths, static.images)
            torch.cuda.current_stream().wait_stream(side)
            static.graph = torch.cuda.CUDAGraph()
            self.optimizer.zero_grad(set_to_none=True)
            with torch.cuda.graph(static.graph):
                static.loss = self.body(static.frames, static.lengths, static.images)
            self.captured[length] = static
        with torch.no_grad():
            for weight, value in zip(self.model.parameters(), saved, strict=True):
                weight.copy_(value)
            for state in self.optimizer.state.values():  # zero moments and step: a fresh Adam
                for value in state.values():
                    value.zero_()

    def step(self, frames: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        length = bucket_of(frames.shape[1], self.buckets)
        static = self.captured.get(length)
        if static is None:
            self.optimizer.zero_grad(set_to_none=True)
            return self.body(F.pad(frames, (0, 0, 0, length - frames.shape[1])), lengths, images)
        static.frames.zero_()
        static.frames[:, : frames.shape[1]].copy_(frames)
        static.lengths.copy_(lengths)
        static.images.copy_(images)
        static.graph.replay()  # type: ignore[union-attr]
        return static.loss.clone()  # type: ignore[union-attr]

    def embed(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Caption embeddings of the batch padded as :meth:`step` pads it."""
        length = bucket_of(frames.shape[1], self.buckets)
        return self.model.caption_encoder(F.pad(frames, (0, 0, 0, length - frames.shape[1])), lengths)


# --- checks and timing ---------------------------------------------------------------------------


def padded_lengths(corpus: Corpus, batches: Sequence[np.ndarray]) -> list[int]:
    """Frames each batch is padded to today (its longest caption, cut at MAX_FRAMES)."""
    return [int(min(MAX_FRAMES, corpus.train.lengths[b].max())) for b in batches]


Tensors = Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def compare(
    reference: Variant, probe: Variant, tensors: Tensors, batches: Sequence[np.ndarray], tolerance: float | None
) -> dict[str, object]:
    """Embeddings of the first batch from today's weights, then the losses of a training step on
    each batch, probe against today; ``ok`` when both are within ``tolerance`` (None: reported).
    ``tensors``: a batch's padded frames, lengths and images on the device (today's pipeline)."""
    inputs = [tensors(indices) for indices in batches]
    with torch.no_grad():
        frames, lengths, _ = inputs[0]
        embedding = float((reference.embed(frames, lengths) - probe.embed(frames, lengths)).abs().max())
    relative = []
    for batch in inputs:
        today, theirs = float(reference.step(*batch)), float(probe.step(*batch))
        relative.append(abs(theirs - today) / abs(today))
    result: dict[str, object] = {
        "embeddings_max_abs_difference": embedding,
        "steps": len(batches),
        "losses_relative_difference": [float(f"{r:.3g}") for r in relative],
        "max_relative_difference": max(relative),
    }
    if tolerance is not None:
        result.update({"tolerance": tolerance, "ok": bool(embedding <= tolerance and max(relative) <= tolerance)})
    return result


def timing(
    reference: Variant,
    probe: Variant,
    tensors: Tensors,
    corpus: Corpus,
    plan: Plan,
    device: str,
    batches: list[np.ndarray],
) -> dict:
    """Captions/s of today's step and the probe's on the same batches (data pipeline included), after
    warm-up, and the ratio: on CUDA only."""
    if device != "cuda":
        return not_measured(f"{NOT_ON_CPU}: the probe's speed is a GPU figure")
    rates: dict[str, object] = {}
    for name, variant in (("today", reference), ("probe", probe)):

        def step(indices: np.ndarray, variant: Variant = variant) -> torch.Tensor:
            return variant.step(*tensors(indices))

        for indices in batches[: plan.warmup_batches]:
            step(indices)
        rates[name] = timed_steps(step, corpus, batches, device)
    rates["speedup"] = round(rates["probe"]["captions_per_s"] / rates["today"]["captions_per_s"], 3)  # type: ignore[index]
    return rates


def probe_batches(corpus: Corpus, count: int, sizes: Sequence[int] | None = None) -> list[np.ndarray]:
    """``count`` of the epoch's random batches spread over their padded cost (of ``sizes`` only, if given)."""
    batches = [b for b in corpus.plans["random"] if sizes is None or len(b) in sizes]
    return stratified(batches, corpus.train.lengths, min(count, len(batches)))


def run_probe(
    corpus: Corpus,
    plan: Plan,
    device: str,
    build: Callable[[Trainer], Variant],
    tolerance: float | None,
    out: dict,
    sizes: Sequence[int] | None = None,
) -> None:
    """Today's trainer and one the probe is built into (same seed: same weights): check, then time,
    on random batches (of ``sizes`` only, if given)."""
    with tf32(False):
        today = make_trainer(corpus, device, "fp32")
        reference, probe = trainer_variant(today), build(make_trainer(corpus, device, "fp32"))
        tensors = functools.partial(today.batch_tensors, corpus.train)
        out["check"] = compare(reference, probe, tensors, probe_batches(corpus, plan.probe_steps, sizes), tolerance)
        timed = probe_batches(corpus, plan.timed_batches, sizes)
        out["timing"] = timing(reference, probe, tensors, corpus, plan, device, timed)


def concurrent(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Probe a (see the module docstring)."""
    out["streams"] = "two CUDA streams" if device == "cuda" else "none on CPU: the same code on one stream"

    def build(trainer: Trainer) -> Variant:
        swap_rnn(trainer, ConcurrentBiLSTM(trainer.model.caption_encoder.rnn))
        return trainer_variant(trainer)

    run_probe(corpus, plan, device, build, PROBE_TOLERANCE, out)


def packed(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Probe b (see the module docstring)."""

    def build(trainer: Trainer) -> Variant:
        swap_rnn(trainer, PackedBiLSTM(trainer.model.caption_encoder.rnn))
        return trainer_variant(trainer)

    run_probe(corpus, plan, device, build, PROBE_TOLERANCE, out)


def half_lstms(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Probe c (see the module docstring), in bf16 and in fp16 (with gradient scaling)."""
    for name, dtype in HALF_DTYPES.items():
        built: list[Trainer] = []

        def build(trainer: Trainer, dtype: torch.dtype = dtype) -> Variant:
            swap_rnn(trainer, HalfBiLSTM(trainer.model.caption_encoder.rnn, dtype))
            if dtype == torch.float16:  # fp16 gradients underflow without scaling
                trainer.scaler = torch.amp.GradScaler(trainer.runtime.device.type)
            built.append(trainer)
            return trainer_variant(trainer)

        out[name] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_probe(corpus, plan, device, build, None, out[name])
        out[name]["warnings"] = sorted({str(w.message)[:200] for w in caught})
        if built[0].scaler.is_enabled():  # below the initial 65536: steps were skipped on overflow
            out[name]["grad_scale_final"] = built[0].scaler.get_scale()


def graphs(corpus: Corpus, plan: Plan, device: str, out: dict) -> None:
    """Probe d (see the module docstring): batches of the epoch's most common size (the graphs are
    captured for one batch size; a real epoch of near-equal batches has two sizes, so twice the graphs)."""
    sizes, counts = np.unique([len(b) for b in corpus.plans["random"]], return_counts=True)
    batch = int(sizes[np.argmax(counts)])
    buckets = bucket_lengths(padded_lengths(corpus, corpus.plans["random"]), plan.probe_buckets)
    chosen = [b for b in corpus.plans["random"] if len(b) == batch]
    today = padded_lengths(corpus, chosen)  # frames each batch is padded to today, and with the buckets
    real = float(np.minimum(corpus.train.lengths[np.concatenate(chosen)], MAX_FRAMES).sum())
    out.update(
        {
            "batch_size": batch,
            "padded_lengths": buckets,
            "padded_frames_per_frame": {
                "today": round(batch * sum(today) / real, 3),
                "buckets": round(batch * sum(bucket_of(n, buckets) for n in today) / real, 3),
            },
            "graphs": "one per padded length" if device == "cuda" else f"{NOT_ON_CPU}: the same step, ungraphed",
        }
    )

    def build(trainer: Trainer) -> Variant:
        stepper = BucketedStep(trainer, buckets, batch, graphs=device == "cuda")
        return Variant(stepper.step, stepper.embed)

    run_probe(corpus, plan, device, build, PROBE_TOLERANCE, out, [batch])
