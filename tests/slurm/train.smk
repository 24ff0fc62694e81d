"""One training job for the time-limit test (tests/test_slurm.py).

The workflow's own training script on a synthetic corpus, with the train rule's resubmission
setting (``retries`` from ``train.submissions``), in a partition whose limit is shorter than the
training; its wildcards are the train rule's (the script records the run, model and seed).
Config `step_seconds` > 0 holds each step that long (train_slowly.py), so that the job
outlasts the limit on any machine; 0 runs the script as the workflow does.
"""


rule all:
    input:
        "model/seed1/best.pt",


rule train:
    input:
        manifest="data/manifest.tsv",
        mfcc=["data/mfcc.h5"],
        images="data/images.h5",
    output:
        best="{model}/seed{seed}/best.pt",
        log="{model}/seed{seed}/train_log.tsv",
        curve="{model}/seed{seed}/learning_curve.png",
    log:
        "logs/train/{model}/seed{seed}.log",
    retries: config["train"]["submissions"] - 1
    threads: 1
    resources:
        mem_mb=1000,
        runtime=config["train"]["runtime"],
        slurm_partition=config["partition"],
    params:
        checkpoints="{model}/seed{seed}/checkpoints",
        model=config["model"],
        train=config["train"],
        step_seconds=config["step_seconds"],
    script:
        "train_slowly.py"
        if config["step_seconds"]
        else "../../workflow/scripts/train_model.py"
