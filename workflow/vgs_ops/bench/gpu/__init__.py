"""GPU readiness check (``make gpu-check``): proves the CUDA path and measures the rates GPU-hours are projected from.

On a CUDA device it trains the paper-size model on paper-like batches (32 captions, log-normal
lengths around 4.3 s, cut at 1024 frames) through the real training code (:class:`Trainer`'s
``batch_tensors`` and ``train_step``: pinned transfers, autocast, grad scaler, ``torch.compile``)
and records, within an overall time budget (8 minutes on one data-centre GPU):

* throughput per arm (fp32 with TF32 off and on, bf16 autocast, fp16 + GradScaler; eager and
  compiled; bucketed and the authors' random batches): captions/s, achieved TFLOP/s counted with
  the cost model's :func:`~vgs_ops.costs.forward_flops` (useful frames only, so padding shows up as
  lost FLOP/s), peak GPU memory;
* the largest batch of 1024-frame captions that trains without running out of memory;
* the data pipeline alone (MFCC cache -> padded, pinned device tensors), beside the model's rate;
* correctness: CPU vs CUDA embeddings of the same weights, batch invariance, the loss after N steps
  in each precision against strict fp32, and resume (the same epochs after a resume as without,
  RNG states restored, deterministic settings named);
* probes of a faster training step, each checked against today's step on the same batches and
  timed beside it (:mod:`~vgs_ops.bench.gpu.probes`: both directions of a layer on two CUDA streams,
  the stock bidirectional cuDNN LSTM over packed sequences, the LSTMs in fp16 / bf16 from fp32 master
  weights, the whole step as CUDA graphs over a few padded lengths; :mod:`~vgs_ops.bench.gpu.sharing`:
  1, 2, 4 and 8 trainings sharing the GPU);
* the GPU-hours of the paper's eight models at each measured arm's rate, projected by the one
  estimator (:func:`vgs_ops.costs.training_gpu_hours`, the training jobs `make plan` costs for
  workflow/config/paper.yaml), beside `make plan`'s projection at the rates in vgs_ops.costs.

Without a GPU (and with ``--quick``) it runs a quick mode: the small model, few steps. The
correctness checks that mean something on a CPU run for real there (batch invariance, precision
comparison with CPU autocast, resume, each probe's check against today's step, two sharing
processes as a check of the machinery); GPU-only fields say ``not measured on CPU`` and why.

Every part has a time budget; a part that would not fit in what is left of the overall budget is
skipped with the reason recorded, and a part that overruns its own budget is stopped (SIGALRM)
with what it measured so far kept.
"""

from vgs_ops.bench.gpu.report import summary
from vgs_ops.bench.gpu.suite import check, run

__all__ = ["NAME", "check", "run", "summary"]

#: The benchmark's name: ``python -m vgs_ops.bench --only gpu`` writes ``gpu.json`` and ``gpu.md``.
NAME = "gpu"
