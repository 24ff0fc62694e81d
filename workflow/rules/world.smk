# Rules of the world stage: generate the visually grounded world's training corpora (images,
# captions, metadata in the real Flickr8k / Places / SpokenCOCO formats, speech jobs), speak each
# corpus's captions, and write the world STS benchmark. Work is in vgs.world; the input functions
# (world_corpus_files, world_caption_count) are in common.smk.
#
# The STS benchmark has its own rule so that changing it does not regenerate the corpora (and retrain
# every model); any change of the corpus settings regenerates all corpora, and world_speak then
# re-synthesises only wavs whose caption text or voice changed.


rule world_generate:
    output:
        world_corpus_files(),
        scenes=f"{WORLD_DIR}/scenes.tsv",
    log:
        f"{LOGS}/world/generate.log",
    benchmark:
        f"{BENCH}/world/generate.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        world={key: value for key, value in WORLD.items() if key != "sts"},
        out_dir=lambda wildcards, output: os.path.dirname(output.scenes),
    script:
        "../scripts/world_generate.py"


rule world_speak:
    input:
        jobs=f"{WORLD_DIR}/corpora/{{world_corpus}}/speech_jobs.tsv",
    output:
        complete=f"{WORLD_DIR}/corpora/{{world_corpus}}/.complete",
    log:
        f"{LOGS}/world/speak/{{world_corpus}}.log",
    benchmark:
        f"{BENCH}/world/speak/{{world_corpus}}.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        # espeak-ng makes ~150 utterances/s on one core; 1,000/min leaves room for slow machines.
        runtime=lambda wildcards: 5 + world_caption_count(wildcards) // 1000,
    params:
        tts=config["tts"],
    script:
        "../scripts/world_speak.py"


rule world_sts:
    output:
        complete=f"{WORLD_DIR}/sts/.complete",
    log:
        f"{LOGS}/world/sts.log",
    benchmark:
        f"{BENCH}/world/sts.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        seed=WORLD.get("seed"),
        sts=WORLD.get("sts"),
        root=lambda wildcards, output: os.path.dirname(output.complete),
    script:
        "../scripts/world_sts.py"
