# Rules of the train stage: train every model x seed, then embed utterance sets and test images
# with the best epoch (by dev loss). Checkpoints live in results/models/<model>/seed<s>/checkpoints/
# and are not declared outputs, so a killed or preempted job resumes after its last epoch, and one
# stopped by SIGTERM (a SLURM time limit) from the step where it stopped.


rule train:
    input:
        unpack(lambda w: PLAN.train_inputs(w.model)),
    output:
        best=layout.CHECKPOINT,
        log=layout.TRAIN_LOG,
        curve=layout.LEARNING_CURVE,
    log:
        layout.log("train", layout.RUN),
    benchmark:
        layout.TRAIN_BENCHMARK
    # A job stopped at its time limit saved its step; Snakemake resubmits it (docs/cluster.md, "On
    # a SLURM cluster").
    retries: config["train"]["submissions"] - 1
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **train_gpu_resources(),
        **job_resources(
            "train",
            {
                "runtime": config["train"].get("runtime"),
                "mem_mb": config["train"].get("mem_mb"),
            },
        ),
    params:
        checkpoints=lambda w: layout.fill(
            layout.EPOCH_CHECKPOINTS, model=w.model, seed=w.seed
        ),
        model=config["model"],
        train=model_train,
    script:
        "../scripts/train_model.py"


rule embed_utterances:
    input:
        manifest=lambda w: PLAN.uttset_manifest(w.uttset),
        mfcc=lambda w: PLAN.mfcc_files(w.uttset),
        checkpoint=layout.CHECKPOINT,
    output:
        layout.EMBEDDINGS,
    log:
        layout.log("embed_utterances", f"{layout.RUN}/{{uttset}}"),
    benchmark:
        layout.benchmark("embed_utterances", f"{layout.RUN}/{{uttset}}")
    wildcard_constraints:
        uttset=r"corpus/[A-Za-z0-9_.-]+",
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        **job_resources("embed_utterances"),
    params:
        split="test",  # a corpus is encoded on its test split only
        train=model_train,
    script:
        "../scripts/embed_utterances.py"


# The six voices and the natural sample of an STS set in one job (one model load, not seven).
rule embed_sts:
    input:
        manifests=uttset_files(sts_set_uttsets),
        mfcc=lambda w: [f for u in sts_set_uttsets(w) for f in PLAN.mfcc_files(u)],
        checkpoint=layout.CHECKPOINT,
    output:
        [
            layout.partial(layout.STS_EMBEDDINGS, name=name)
            for name in PLAN.sts_uttset_names
        ],
    log:
        layout.log("embed_sts", f"{layout.RUN}/{{sts_set}}"),
    benchmark:
        layout.benchmark("embed_sts", f"{layout.RUN}/{{sts_set}}")
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        **job_resources("embed_sts"),
    params:
        # The MFCC shard files of each set, in the order of the manifests and outputs.
        mfcc=lambda w: [PLAN.mfcc_files(u) for u in sts_set_uttsets(w)],
        train=model_train,
    script:
        "../scripts/embed_sts.py"


rule embed_images:
    input:
        manifest=layout.CORPUS_MANIFEST,
        features=layout.IMAGE_FEATURES,
        checkpoint=layout.CHECKPOINT,
    output:
        layout.IMAGE_EMBEDDINGS,
    log:
        layout.log("embed_images", f"{layout.RUN}/{{corpus}}"),
    benchmark:
        layout.benchmark("embed_images", f"{layout.RUN}/{{corpus}}")
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        **cuda_resources(),
        **job_resources("embed_images"),
    params:
        train=model_train,
    script:
        "../scripts/embed_images.py"
