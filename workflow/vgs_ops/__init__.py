"""vgs_ops: operating the workflow, set apart from the science in :mod:`vgs`.

What a run will cost before it is submitted (``costs``: the per-unit costs and the rules' resource
requests; ``projection``: ``make plan``), how fast the code is on this machine (``bench``: ``make
bench`` and ``make gpu-check``), a local SLURM cluster for the tests (``cluster``) and the rule
graph drawn for the docs (``rulegraph``). It imports :mod:`vgs`; nothing in :mod:`vgs` imports it.
"""
