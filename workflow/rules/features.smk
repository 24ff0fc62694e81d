# Rules of the features stage: MFCC caches of utterance sets and image-feature caches of corpora.
# Work is in vgs.features.


rule mfcc:
    input:
        lambda w: PLAN.uttset_manifest(w.uttset),
    output:
        layout.MFCC_SHARD,
    log:
        layout.log("mfcc", "{uttset}/shard{shard}"),
    benchmark:
        layout.benchmark("mfcc", "{uttset}/shard{shard}")
    wildcard_constraints:
        uttset=r"corpus/[A-Za-z0-9_.-]+|sts/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
    conda:
        "../../envs/torch.yaml"
    threads: config["features"]["mfcc"]["threads"]
    resources:
        **job_resources("mfcc"),
    params:
        settings=config["features"]["mfcc"],
        shards=lambda w: PLAN.mfcc_shard_count(w.uttset),
    script:
        "../scripts/mfcc_extract.py"


rule image_features:
    input:
        layout.CORPUS_MANIFEST,
    output:
        layout.IMAGE_FEATURES,
    log:
        layout.log("image_features", "{corpus}"),
    benchmark:
        layout.benchmark("image_features", "{corpus}")
    conda:
        "../../envs/torch.yaml"
    threads: config["features"]["image"]["threads"]
    resources:
        **cuda_resources(),
        **job_resources("image_features"),
    params:
        image=config["features"]["image"],
    script:
        "../scripts/image_features.py"
