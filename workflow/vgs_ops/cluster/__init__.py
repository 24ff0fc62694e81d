"""Running the workflow on a cluster: a throw-away local SLURM cluster for tests and trials.

The production path is Snakemake's own ``snakemake-executor-plugin-slurm`` driven by
``workflow/profiles/slurm``; this package only provides what is needed to *exercise* that path on
one machine (:mod:`vgs_ops.cluster.local_slurm`).
"""
