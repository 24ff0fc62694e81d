# Rules of external speech models (speech_models: in the config; package vgs.speech_models): the random
# tiny demonstration model, SpokenSTS embeddings of every layer read (one model load per STS set),
# their evaluation as systems <name>-L<layer>, and the layer-wise figure. Tables, model
# comparisons, Table 3 (all models) and Figure 1 take the encoder runs through PLAN.sts_runs().


wildcard_constraints:
    encoder=r"[A-Za-z0-9_.-]+",
    layer=r"\d+",


rule speech_model_random:
    output:
        config=layout.RANDOM_SPEECH_MODEL_CONFIG,
    log:
        layout.log("speech_model_random", "{speech_model}"),
    benchmark:
        layout.benchmark("speech_model_random", "{speech_model}")
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        architecture=lambda w: PLAN.speech_models[w.speech_model]["architecture"],
        seed=lambda w: PLAN.speech_models[w.speech_model]["seed"],
    script:
        "../scripts/speech_model_random.py"


rule embed_sts_speech_model:
    input:
        manifests=uttset_files(sts_set_uttsets),
        model=lambda w: PLAN.speech_model_files(w.speech_model),
    output:
        directory(layout.SPEECH_MODEL_EMBEDDINGS),
    log:
        layout.log("embed_sts_speech_model", "{speech_model}/{sts_set}"),
    benchmark:
        layout.benchmark("embed_sts_speech_model", "{speech_model}/{sts_set}")
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        # A fixed request: external speech models are not costed by vgs_ops.costs (train.mem_mb when set).
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=240,
    params:
        source=lambda w: PLAN.speech_model_source(w.speech_model),
        layers=lambda w: PLAN.speech_model_layers[w.speech_model],
        uttsets=PLAN.sts_uttset_names,
        batch_seconds=lambda w: PLAN.speech_models[w.speech_model]["batch_seconds"],
        device=config["train"]["device"],
        description=lambda w: PLAN.speech_model_description(w.speech_model),
    script:
        "../scripts/embed_sts_speech_model.py"


rule eval_sts_speech_model:
    input:
        pairs=layout.STS_PAIRS,
        sample=layout.NATURAL_SAMPLE,
        voice_manifests=uttset_files(voice_uttsets),
        natural_manifest=lambda w: PLAN.uttset_manifest(f"sts/{w.sts_set}/natural"),
        embeddings=layout.SPEECH_MODEL_EMBEDDINGS,
    output:
        similarities=layout.partial(layout.SPEECH_MODEL_STS, name="similarities"),
        correlations=layout.partial(layout.SPEECH_MODEL_STS, name="correlations"),
        natural_cosines=layout.partial(layout.SPEECH_MODEL_STS, name="natural_cosines"),
    log:
        layout.log("eval_sts_speech_model", "{speech_model}/layer{layer}/{sts_set}"),
    benchmark:
        layout.benchmark(
            "eval_sts_speech_model", "{speech_model}/layer{layer}/{sts_set}"
        )
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        voice_stores=lambda w: [
            PLAN.speech_model_layer_store(w.speech_model, w.sts_set, w.layer, voice)
            for voice in PLAN.voices
        ],
        natural_store=lambda w: PLAN.speech_model_layer_store(
            w.speech_model, w.sts_set, w.layer, "natural"
        ),
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/eval_sts_speech_model.py"


rule figure_speech_model_layers:
    input:
        correlations=layout.partial(
            layout.STS_TABLE, stem="sts_correlations", ext="csv"
        ),
    output:
        png=report(
            layout.partial(layout.STS_FIGURE, stem="speech_model_layers", ext="png"),
            caption="../report/speech_model_layers.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=layout.partial(layout.STS_FIGURE, stem="speech_model_layers", ext="pdf"),
    log:
        layout.log("figure_speech_model_layers", "{sts_set}"),
    benchmark:
        layout.benchmark("figure_speech_model_layers", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=[run.record() for run in PLAN.speech_model_runs()],
        measure="pearson",
    script:
        "../scripts/figure_speech_model_layers.py"
