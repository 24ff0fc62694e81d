# Rules of the world stage: generate the visually grounded world's training corpora (images,
# captions, metadata in the real Flickr8k / Places / SpokenCOCO formats, speech jobs), speak each
# corpus's captions, and write the world STS benchmark. Work is in vgs.world; its files are planned
# by vgs.plan (world_corpus_files, world_caption_count).
#
# The STS benchmark has its own rule so that changing it does not regenerate the corpora (and retrain
# every model); any change of the corpus settings regenerates all corpora, and world_speak then
# re-synthesises only wavs whose caption text or voice changed.


rule world_generate:
    output:
        PLAN.world_corpus_files(),
        scenes=layout.WORLD_SCENES,
    log:
        layout.log("world_generate"),
    benchmark:
        layout.benchmark("world_generate")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        world={key: value for key, value in PLAN.world.items() if key != "sts"},
        out_dir=lambda wildcards, output: os.path.dirname(output.scenes),
    script:
        "../scripts/world_generate.py"


rule world_speak:
    input:
        jobs=layout.WORLD_SPEECH_JOBS,
    output:
        complete=layout.WORLD_CORPUS_DONE,
    log:
        layout.log("world_speak", "{world_corpus}"),
    benchmark:
        layout.benchmark("world_speak", "{world_corpus}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        # espeak-ng makes ~150 utterances/s on one core; 1,000/min leaves room for slow machines.
        runtime=lambda w: 5 + PLAN.world_caption_count(w.world_corpus) // 1000,
    params:
        tts=config["tts"],
    script:
        "../scripts/world_speak.py"


rule world_sts:
    output:
        complete=layout.WORLD_STS_DONE,
    log:
        layout.log("world_sts"),
    benchmark:
        layout.benchmark("world_sts")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        seed=PLAN.world.get("seed"),
        sts=PLAN.world.get("sts"),
        root=lambda wildcards, output: os.path.dirname(output.complete),
    script:
        "../scripts/world_sts.py"
