# Rules of the train stage: train every model x seed, then encode utterance sets and test images
# with the best epoch (by dev loss). Checkpoints live in results/models/<model>/seed<s>/checkpoints/
# and are not declared outputs, so a killed or preempted job resumes after its last epoch, and one
# stopped by SIGTERM (a SLURM time limit) from the step where it stopped.


rule train:
    input:
        unpack(train_inputs),
    output:
        best=f"{RESULTS}/models/{{model}}/seed{{seed}}/best.pt",
        log=f"{RESULTS}/models/{{model}}/seed{{seed}}/train_log.tsv",
        curve=f"{RESULTS}/models/{{model}}/seed{{seed}}/learning_curve.png",
    log:
        f"{LOGS}/train/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train/{{model}}/seed{{seed}}.tsv"
    # A job stopped at its time limit saved its step; Snakemake resubmits it (README "On
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
        checkpoints=train_checkpoint_dir,
        model=config["model"],
        train=model_train,
    script:
        "../scripts/train_model.py"


rule encode_utterances:
    input:
        manifest=lambda wildcards: uttset_manifest(wildcards.uttset),
        mfcc=lambda wildcards: mfcc_files(wildcards.uttset),
        checkpoint=f"{RESULTS}/models/{{model}}/seed{{seed}}/best.pt",
    output:
        f"{RESULTS}/embeddings/{{model}}/seed{{seed}}/{{uttset}}.h5",
    log:
        f"{LOGS}/encode/{{model}}/seed{{seed}}/{{uttset}}.log",
    benchmark:
        f"{BENCH}/encode/{{model}}/seed{{seed}}/{{uttset}}.tsv"
    wildcard_constraints:
        uttset=r"corpus/[A-Za-z0-9_.-]+",
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        **job_resources("encode_utterances"),
    params:
        split="test",  # a corpus is encoded on its test split only
        train=model_train,
    script:
        "../scripts/encode_utterances.py"


# The six voices and the natural sample of an STS set in one job (one model load, not seven).
rule encode_sts:
    input:
        manifests=lambda wildcards: [
            uttset_manifest(u) for u in sts_uttsets(wildcards.sts_set)
        ],
        mfcc=lambda wildcards: [
            f for u in sts_uttsets(wildcards.sts_set) for f in mfcc_files(u)
        ],
        checkpoint=f"{RESULTS}/models/{{model}}/seed{{seed}}/best.pt",
    output:
        [
            f"{RESULTS}/embeddings/{{model}}/seed{{seed}}/sts/{{sts_set}}/{name}.h5"
            for name in STS_UTTSET_NAMES
        ],
    log:
        f"{LOGS}/encode/{{model}}/seed{{seed}}/sts/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/encode/{{model}}/seed{{seed}}/sts/{{sts_set}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        **job_resources("encode_sts"),
    params:
        # The MFCC shard files of each set, in the order of the manifests and outputs.
        mfcc=lambda wildcards: [mfcc_files(u) for u in sts_uttsets(wildcards.sts_set)],
        train=model_train,
    script:
        "../scripts/encode_sts.py"


rule encode_images:
    input:
        manifest=f"{RESULTS}/corpora/{{corpus}}/manifest.tsv",
        features=f"{RESULTS}/features/image/{{corpus}}.h5",
        checkpoint=f"{RESULTS}/models/{{model}}/seed{{seed}}/best.pt",
    output:
        f"{RESULTS}/embeddings/{{model}}/seed{{seed}}/images/{{corpus}}.h5",
    log:
        f"{LOGS}/encode/{{model}}/seed{{seed}}/images/{{corpus}}.log",
    benchmark:
        f"{BENCH}/encode/{{model}}/seed{{seed}}/images/{{corpus}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        **cuda_resources(),
        **job_resources("encode_images"),
    params:
        train=model_train,
    script:
        "../scripts/encode_images.py"
