"""The workflow's plan: which runs a configuration defines, what each reads and writes, and what
``snakemake`` builds by default (:class:`WorkflowPlan`, with the study's and the ablation's
planners beside it), and the records runs reach tables as (:mod:`vgs.plan.runs`).
"""

from vgs.plan.runs import PlanError, Run, files_of, records_input
from vgs.plan.workflow import WorkflowPlan

__all__ = ["PlanError", "Run", "WorkflowPlan", "files_of", "records_input"]
