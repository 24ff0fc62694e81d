"""Training the VGS model, and embedding utterances and images with a trained one (`embed`).

Modules: :mod:`~vgs.train.batching` (length-bucketed epochs, padding), :mod:`~vgs.train.loss`
(in-batch hinge / InfoNCE, recall), :mod:`~vgs.train.schedule` (cyclic learning rate),
:mod:`~vgs.train.data` (manifest + feature stores), :mod:`~vgs.train.checkpoint` (resumable
state), :mod:`~vgs.train.loop` (the training loop), :mod:`~vgs.train.progress` (its progress lines),
:mod:`~vgs.train.divergence` (when it stops on a non-finite loss) and :mod:`~vgs.train.embed`
(embedding tables).
"""
