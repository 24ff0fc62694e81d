# Rules of external speech encoders (encoders: in the config; package vgs.encoders): the random
# tiny demonstration model, SpokenSTS embeddings of every layer read (one model load per STS set),
# their evaluation as systems <name>-L<layer>, and the layer-wise figure. Tables, model
# comparisons, Table 3 (all models) and Figure 1 take the encoder runs through sts_runs().


wildcard_constraints:
    encoder=r"[A-Za-z0-9_.-]+",
    layer=r"\d+",


rule encoder_random_model:
    output:
        config=f"{RESULTS}/encoders/{{encoder}}/random-model/config.json",
    log:
        f"{LOGS}/encoder_random_model/{{encoder}}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        architecture=lambda w: ENCODERS[w.encoder]["architecture"],
        seed=lambda w: ENCODERS[w.encoder]["seed"],
    script:
        "../scripts/encoder_random_model.py"


rule encode_sts_encoder:
    input:
        manifests=lambda w: [uttset_manifest(u) for u in sts_uttsets(w.sts_set)],
        model=encoder_model_files,
    output:
        directory(encoder_embeddings("{encoder}", "{sts_set}")),
    log:
        f"{LOGS}/encode_sts_encoder/{{encoder}}/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/encode_sts_encoder/{{encoder}}/{{sts_set}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["train"]["threads"]
    resources:
        **cuda_resources(),
        # A fixed request: external encoders are not costed by vgs.costs (train.mem_mb when set).
        mem_mb=config["train"].get("mem_mb", 8000),
        runtime=240,
    params:
        source=lambda w: encoder_source(w.encoder),
        layers=lambda w: ENCODER_LAYERS[w.encoder],
        uttsets=STS_UTTSET_NAMES,
        batch_seconds=lambda w: ENCODERS[w.encoder]["batch_seconds"],
        device=config["train"]["device"],
        description=lambda w: encoder_description(ENCODERS[w.encoder]),
    script:
        "../scripts/encode_sts_encoder.py"


rule eval_sts_encoder:
    input:
        pairs=f"{RESULTS}/sts/{{sts_set}}/pairs.tsv",
        sample=f"{RESULTS}/sts/{{sts_set}}/natural/sample.tsv",
        voice_manifests=lambda w: [
            uttset_manifest(f"sts/{w.sts_set}/{voice}") for voice in sts_voices()
        ],
        natural_manifest=lambda w: uttset_manifest(f"sts/{w.sts_set}/natural"),
        embeddings=encoder_embeddings("{encoder}", "{sts_set}"),
    output:
        similarities=f"{EVAL}/encoders/{{encoder}}/layer{{layer}}/sts/{{sts_set}}/similarities.tsv",
        correlations=f"{EVAL}/encoders/{{encoder}}/layer{{layer}}/sts/{{sts_set}}/correlations.tsv",
    log:
        f"{LOGS}/eval_sts_encoder/{{encoder}}/layer{{layer}}/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/eval_sts_encoder/{{encoder}}/layer{{layer}}/{{sts_set}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        voice_stores=lambda w, input: [
            f"{input.embeddings}/layer{w.layer}/{voice}.h5" for voice in sts_voices()
        ],
        natural_store=lambda w, input: f"{input.embeddings}/layer{w.layer}/natural.h5",
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/eval_sts_encoder.py"


rule figure_encoder_layers:
    input:
        correlations=f"{TABLES}/{{sts_set}}/sts_correlations.csv",
    output:
        png=report(
            f"{FIGURES}/{{sts_set}}/encoder_layers.png",
            caption="../report/encoder_layers.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=f"{FIGURES}/{{sts_set}}/encoder_layers.pdf",
    log:
        f"{LOGS}/figure_encoder_layers/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=encoder_runs(),
        measure="pearson",
    script:
        "../scripts/figure_encoder_layers.py"
