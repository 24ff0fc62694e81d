# Rules of the features stage: MFCC caches of utterance sets and image-feature caches of corpora.
# Work is in vgs.features.


rule mfcc:
    input:
        lambda wildcards: uttset_manifest(wildcards.uttset),
    output:
        f"{RESULTS}/features/mfcc/{{uttset}}/shard{{shard}}.h5",
    log:
        f"{LOGS}/features/mfcc/{{uttset}}/shard{{shard}}.log",
    benchmark:
        f"{BENCH}/features/mfcc/{{uttset}}/shard{{shard}}.tsv"
    wildcard_constraints:
        uttset=r"corpus/[A-Za-z0-9_.-]+|sts/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
    conda:
        "../../envs/torch.yaml"
    threads: config["features"]["mfcc"]["threads"]
    resources:
        **job_resources("mfcc"),
    params:
        settings=config["features"]["mfcc"],
        shards=lambda wildcards: mfcc_shard_count(wildcards.uttset),
    script:
        "../scripts/mfcc_extract.py"


rule image_features:
    input:
        f"{RESULTS}/corpora/{{corpus}}/manifest.tsv",
    output:
        f"{RESULTS}/features/image/{{corpus}}.h5",
    log:
        f"{LOGS}/features/image/{{corpus}}.log",
    benchmark:
        f"{BENCH}/features/image/{{corpus}}.tsv"
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
