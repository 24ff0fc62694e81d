# Rules of external speech encoders (encoders: in the config; package vgs.encoders): the random
# tiny demonstration model, SpokenSTS embeddings of every layer read (one model load per STS set),
# their evaluation as systems <name>-L<layer>, and the layer-wise figure. Tables, model
# comparisons, Table 3 (all models) and Figure 1 take the encoder runs through PLAN.sts_runs().


wildcard_constraints:
    encoder=r"[A-Za-z0-9_.-]+",
    layer=r"\d+",


rule encoder_random_model:
    output:
        config=f"{layout.RANDOM_ENCODER}/config.json",
    log:
        layout.log("encoder_random_model", "{encoder}"),
    benchmark:
        layout.benchmark("encoder_random_model", "{encoder}")
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        architecture=lambda w: PLAN.encoders[w.encoder]["architecture"],
        seed=lambda w: PLAN.encoders[w.encoder]["seed"],
    script:
        "../scripts/encoder_random_model.py"


rule encode_sts_encoder:
    input:
        manifests=uttset_files(sts_set_uttsets),
        model=lambda w: PLAN.encoder_model_files(w.encoder),
    output:
        directory(layout.ENCODER_EMBEDDINGS),
    log:
        layout.log("encode_sts_encoder", "{encoder}/{sts_set}"),
    benchmark:
        layout.benchmark("encode_sts_encoder", "{encoder}/{sts_set}")
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        # A fixed request: external encoders are not costed by vgs_ops.costs (train.mem_mb when set).
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=240,
    params:
        source=lambda w: PLAN.encoder_source(w.encoder),
        layers=lambda w: PLAN.encoder_layers[w.encoder],
        uttsets=PLAN.sts_uttset_names,
        batch_seconds=lambda w: PLAN.encoders[w.encoder]["batch_seconds"],
        device=config["train"]["device"],
        description=lambda w: PLAN.encoder_description(w.encoder),
    script:
        "../scripts/encode_sts_encoder.py"


rule eval_sts_encoder:
    input:
        pairs=layout.STS_PAIRS,
        sample=layout.NATURAL_SAMPLE,
        voice_manifests=uttset_files(voice_uttsets),
        natural_manifest=lambda w: PLAN.uttset_manifest(f"sts/{w.sts_set}/natural"),
        embeddings=layout.ENCODER_EMBEDDINGS,
    output:
        similarities=layout.partial(layout.ENCODER_STS, name="similarities"),
        correlations=layout.partial(layout.ENCODER_STS, name="correlations"),
    log:
        layout.log("eval_sts_encoder", "{encoder}/layer{layer}/{sts_set}"),
    benchmark:
        layout.benchmark("eval_sts_encoder", "{encoder}/layer{layer}/{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        voice_stores=lambda w, input: [
            f"{input.embeddings}/layer{w.layer}/{voice}.h5" for voice in PLAN.voices
        ],
        natural_store=lambda w, input: f"{input.embeddings}/layer{w.layer}/natural.h5",
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/eval_sts_encoder.py"


rule figure_encoder_layers:
    input:
        correlations=layout.partial(
            layout.STS_TABLE, stem="sts_correlations", ext="csv"
        ),
    output:
        png=report(
            layout.partial(layout.STS_FIGURE, stem="encoder_layers", ext="png"),
            caption="../report/encoder_layers.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=layout.partial(layout.STS_FIGURE, stem="encoder_layers", ext="pdf"),
    log:
        layout.log("figure_encoder_layers", "{sts_set}"),
    benchmark:
        layout.benchmark("figure_encoder_layers", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=[run.record() for run in PLAN.encoder_runs()],
        measure="pearson",
    script:
        "../scripts/figure_encoder_layers.py"
