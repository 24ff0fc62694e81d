"""The workflow's training script (workflow/scripts/train_model.py) with every optimizer step
held for ``params.step_seconds``.

Why: the time-limit test needs a job that outlasts several one-minute limits on any machine,
busy or idle; sleeping adds wall time without changing a single number (the test compares the
weights with an unthrottled run).
"""

import runpy
import sys
import time
from pathlib import Path

from torch.optim.optimizer import register_optimizer_step_post_hook

workflow = Path(snakemake.scriptdir).resolve().parents[1] / "workflow"  # noqa: F821 - set by Snakemake
sys.path.insert(0, str(workflow))
register_optimizer_step_post_hook(lambda *args: time.sleep(snakemake.params.step_seconds))  # noqa: F821
runpy.run_path(str(workflow / "scripts" / "train_model.py"), init_globals={"snakemake": snakemake})  # noqa: F821
