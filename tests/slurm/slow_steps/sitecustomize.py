"""Holds every optimizer step of the train rule's script for ``VGS_TEST_STEP_SECONDS`` seconds.

Why: the SLURM time-limit test (tests/test_slurm.py) needs a training job that outlasts several
one-minute partition limits on any machine, busy or idle, while it runs the workflow's real train
rule and script unchanged. Python imports ``sitecustomize`` at the start of every process whose
``PYTHONPATH`` names this folder (the test sets it for Snakemake, which passes it through sbatch and
srun to the job); only the process that runs the train rule's script (Snakemake starts it as
``.snakemake/scripts/tmp*.train_model.py``) is slowed. Sleeping adds wall time without changing a
single number: the test compares the weights with an unthrottled run.
"""

import os
import sys

_STEP_SECONDS = float(os.environ.get("VGS_TEST_STEP_SECONDS") or 0)

if _STEP_SECONDS > 0 and sys.argv and sys.argv[0].endswith(".train_model.py"):
    import time

    from torch.optim.optimizer import register_optimizer_step_post_hook

    register_optimizer_step_post_hook(lambda *args: time.sleep(_STEP_SECONDS))
