# Rules of the evaluate stage: retrieval (Table 2), SpokenSTS correlations (Figure 1), text
# toplines, model comparisons, regression / AIC (Table 3), Figures 1–2 and learning curves.
# The work is done in vgs.evaluate; see its docstring for every file written. Tables and figures
# get their runs as records carrying each run's files (vgs.plan), never as a positional list.


wildcard_constraints:
    topline="|".join(EVAL_CONFIG["toplines"]) or "none",
    protocol="|".join(PROTOCOLS),


rule eval_retrieval:
    input:
        manifest=lambda w: layout.fill(
            layout.CORPUS_MANIFEST, corpus=PLAN.corpus_of(w.model)
        ),
        captions=lambda w: PLAN.embeddings(
            w.model, w.seed, f"corpus/{PLAN.corpus_of(w.model)}"
        ),
        images=lambda w: PLAN.embeddings(
            w.model, w.seed, f"images/{PLAN.corpus_of(w.model)}"
        ),
    output:
        json=layout.RETRIEVAL_JSON,
        tsv=layout.RETRIEVAL_TSV,
    log:
        layout.log("eval_retrieval", layout.RUN),
    benchmark:
        layout.benchmark("eval_retrieval", layout.RUN)
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        median=EVAL_CONFIG["median_rank"],
    script:
        "../scripts/eval_retrieval.py"


rule eval_sts:
    input:
        pairs=layout.STS_PAIRS,
        sample=layout.NATURAL_SAMPLE,
        voice_manifests=uttset_files(voice_uttsets),
        voice_stores=lambda w: [
            PLAN.embeddings(w.model, w.seed, u) for u in voice_uttsets(w)
        ],
        natural_manifest=lambda w: PLAN.uttset_manifest(f"sts/{w.sts_set}/natural"),
        natural_store=lambda w: PLAN.embeddings(
            w.model, w.seed, f"sts/{w.sts_set}/natural"
        ),
    output:
        similarities=speech_sts("similarities"),
        correlations=speech_sts("correlations"),
        natural_cosines=speech_sts("natural_cosines"),
    log:
        layout.log("eval_sts", f"{layout.RUN}/{{sts_set}}"),
    benchmark:
        layout.benchmark("eval_sts", f"{layout.RUN}/{{sts_set}}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/eval_sts.py"


rule eval_text_topline:
    input:
        pairs=layout.STS_PAIRS,
        sample=layout.NATURAL_SAMPLE,
    output:
        similarities=layout.partial(layout.TOPLINE_STS, name="similarities"),
        correlations=layout.partial(layout.TOPLINE_STS, name="correlations"),
        natural_cosines=layout.partial(layout.TOPLINE_STS, name="natural_cosines"),
    log:
        layout.log("eval_text_topline", "{topline}/{sts_set}"),
    benchmark:
        layout.benchmark("eval_text_topline", "{topline}/{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        level=EVAL_CONFIG["ci_level"],
    script:
        "../scripts/eval_text_topline.py"


rule table2_retrieval:
    input:
        files_of(PLAN.retrieval_records(), "retrieval"),
    output:
        csv=report(
            layout.fill(layout.TABLE, stem="table2_retrieval", ext="csv"),
            caption="../report/table2.rst",
            category="Tables",
        ),
        md=layout.fill(layout.TABLE, stem="table2_retrieval", ext="md"),
        tex=layout.fill(layout.TABLE, stem="table2_retrieval", ext="tex"),
    log:
        layout.log("table2_retrieval"),
    benchmark:
        layout.benchmark("table2_retrieval")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=PLAN.retrieval_records(),
    script:
        "../scripts/table_retrieval.py"


rule table_sts_correlations:
    input:
        records_input(PLAN.sts_records, "correlations"),
    output:
        by_seed=sts_table("sts_correlations_by_seed", "csv"),
        csv=report(
            sts_table("sts_correlations", "csv"),
            caption="../report/sts_correlations.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=sts_table("sts_correlations", "md"),
        tex=sts_table("sts_correlations", "tex"),
    log:
        layout.log("table_sts_correlations", "{sts_set}"),
    benchmark:
        layout.benchmark("table_sts_correlations", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **NATURAL_LABELS,
        runs=lambda w: PLAN.sts_records(w.sts_set),
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/table_sts_correlations.py"


# SpokenSTS under each published protocol (vgs.evaluate.protocols): one table per protocol, every
# system; the figure ranks the systems under each.
rule table_spokensts_protocol:
    input:
        similarities=records_input(PLAN.sts_records, "similarities"),
        natural_cosines=records_input(PLAN.sts_records, "natural_cosines"),
    output:
        csv=report(
            layout.partial(layout.PROTOCOL_TABLE, ext="csv"),
            caption="../report/spokensts_protocol.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=layout.partial(layout.PROTOCOL_TABLE, ext="md"),
        tex=layout.partial(layout.PROTOCOL_TABLE, ext="tex"),
    log:
        layout.log("table_spokensts_protocol", "{sts_set}/{protocol}"),
    benchmark:
        layout.benchmark("table_spokensts_protocol", "{sts_set}/{protocol}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        runs=lambda w: PLAN.sts_records(w.sts_set),
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
        # For the report caption: the protocol's definition and source.
        description=lambda w: PROTOCOLS[w.protocol].describe(),
    script:
        "../scripts/table_spokensts_protocol.py"


rule figure_spokensts_protocols:
    input:
        [
            layout.partial(layout.PROTOCOL_TABLE, protocol=name, ext="csv")
            for name in PROTOCOLS
        ],
    output:
        png=report(
            sts_figure(layout.PROTOCOL_FIGURE_STEM, "png"),
            caption="../report/spokensts_protocols.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=sts_figure(layout.PROTOCOL_FIGURE_STEM, "pdf"),
    log:
        layout.log("figure_spokensts_protocols", "{sts_set}"),
    benchmark:
        layout.benchmark("figure_spokensts_protocols", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figure_spokensts_protocols.py"


rule table_model_comparisons:
    input:
        records_input(PLAN.sts_records, "similarities"),
    output:
        csv=report(
            sts_table("model_comparisons", "csv"),
            caption="../report/model_comparisons.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=sts_table("model_comparisons", "md"),
    log:
        layout.log("table_model_comparisons", "{sts_set}"),
    benchmark:
        layout.benchmark("table_model_comparisons", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        runs=lambda w: PLAN.sts_records(w.sts_set),
    script:
        "../scripts/table_model_comparisons.py"


# Table 3 (the subset models) and the same regression over every system: one script, two tables.
for aic_stem, aic_table, aic_caption in (
    ("table3_aic", "table3_aic", "table3"),
    ("table3_aic_all", "aic_table_all", "table3_all"),
):

    rule:
        name:
            aic_stem
        input:
            records_input(PLAN.sts_records, "similarities"),
        output:
            csv=report(
                sts_table(aic_stem, "csv"),
                caption=f"../report/{aic_caption}.rst",
                category="Tables",
                subcategory="{sts_set}",
            ),
            md=sts_table(aic_stem, "md"),
            tex=sts_table(aic_stem, "tex"),
        log:
            layout.log(aic_stem, "{sts_set}"),
        benchmark:
            layout.benchmark(aic_stem, "{sts_set}")
        conda:
            "../../envs/analysis.yaml"
        threads: 1
        resources:
            mem_mb=3000,
            runtime=20,
        params:
            runs=lambda w: PLAN.sts_records(w.sts_set),
            table=aic_table,
        script:
            "../scripts/table_aic.py"


rule paper_comparison:
    input:
        unpack(lambda w: PLAN.paper_comparison_inputs(w.sts_set)),
    output:
        claims=report(
            f"{layout.TABLES}/{{sts_set}}/paper_comparison_claims.csv",
            caption="../report/paper_comparison.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        numbers=f"{layout.TABLES}/{{sts_set}}/paper_comparison_numbers.csv",
        md=f"{layout.TABLES}/{{sts_set}}/paper_comparison.md",
    log:
        layout.log("paper_comparison", "{sts_set}"),
    benchmark:
        layout.benchmark("paper_comparison", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        runs=lambda w: PLAN.sts_records(w.sts_set, PLAN.corpus_model_runs()),
        formats=lambda w: PLAN.corpus_formats(),
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/paper_comparison.py"


rule table_ablation:
    input:
        retrieval=lambda w: files_of(
            planned(PLAN.ablation.records)(w.sts_set), "retrieval"
        ),
        similarities=lambda w: files_of(
            planned(PLAN.ablation.records)(w.sts_set), "similarities"
        ),
    output:
        csv=layout.partial(layout.ABLATION_TABLE, ext="csv"),
        md=layout.partial(layout.ABLATION_TABLE, ext="md"),
    log:
        layout.log("table_ablation", "{sts_set}"),
    benchmark:
        layout.benchmark("table_ablation", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        runs=lambda w: planned(PLAN.ablation.records)(w.sts_set),
        models=lambda w: planned(PLAN.ablation.models)(),
        reference=lambda w: EVAL_CONFIG["ablation"]["reference"],
        seeds=lambda w: planned(PLAN.ablation.seeds)(),
    script:
        "../scripts/table_ablation.py"


# Figures 1 and 2: drawn from the STS correlations table.
for figure_stem in ("figure1", "figure2"):

    rule:
        name:
            figure_stem
        input:
            correlations=sts_table("sts_correlations", "csv"),
        output:
            png=report(
                sts_figure(figure_stem, "png"),
                caption=f"../report/{figure_stem}.rst",
                category="Figures",
                subcategory="{sts_set}",
            ),
            pdf=sts_figure(figure_stem, "pdf"),
        log:
            layout.log(figure_stem, "{sts_set}"),
        benchmark:
            layout.benchmark(figure_stem, "{sts_set}")
        conda:
            "../../envs/analysis.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            **NATURAL_LABELS,
            # The script is a constant: Snakemake reads `script:` when the job runs, after the loop.
            figure=figure_stem,
            measure="pearson",
        script:
            "../scripts/figure_sts.py"


rule figure_learning_curves:
    input:
        files_of(PLAN.retrieval_records(), "train_log"),
    output:
        png=report(
            layout.fill(layout.FIGURE, stem="learning_curves", ext="png"),
            caption="../report/learning_curves.rst",
            category="Figures",
        ),
        pdf=layout.fill(layout.FIGURE, stem="learning_curves", ext="pdf"),
    log:
        layout.log("figure_learning_curves"),
    benchmark:
        layout.benchmark("figure_learning_curves")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=PLAN.retrieval_records(),
    script:
        "../scripts/figure_learning_curves.py"


rule study_tables:
    input:
        retrieval=lambda w: files_of(
            planned(PLAN.study.records)(w.sts_set), "retrieval"
        ),
        similarities=lambda w: files_of(
            planned(PLAN.study.records)(w.sts_set), "similarities"
        ),
        benchmarks=lambda w: files_of(
            planned(PLAN.study.records)(w.sts_set), "benchmark"
        ),
        paper_retrieval=lambda w: files_of(
            planned(PLAN.study.paper_style_records)(w.sts_set), "retrieval"
        ),
        paper_similarities=lambda w: files_of(
            planned(PLAN.study.paper_style_records)(w.sts_set), "similarities"
        ),
    output:
        by_seed=layout.partial(layout.STUDY_TABLE, stem="by_seed", ext="csv"),
        cells_csv=report(
            layout.partial(layout.STUDY_TABLE, stem="cells", ext="csv"),
            caption="../report/study_cells.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        cells_md=layout.partial(layout.STUDY_TABLE, stem="cells", ext="md"),
        regression_csv=report(
            layout.partial(layout.STUDY_TABLE, stem="regression", ext="csv"),
            caption="../report/study_regression.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        regression_md=layout.partial(layout.STUDY_TABLE, stem="regression", ext="md"),
    log:
        layout.log("study_tables", "{sts_set}"),
    benchmark:
        layout.benchmark("study_tables", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        runs=lambda w: planned(PLAN.study.records)(w.sts_set),
        paper_runs=lambda w: planned(PLAN.study.paper_style_records)(w.sts_set),
        training=lambda w: planned(PLAN.study.training)(),
        sts_description=lambda w: PLAN.sts_set_description(w.sts_set),
    script:
        "../scripts/study_tables.py"


rule study_figure:
    input:
        by_seed=layout.partial(layout.STUDY_TABLE, stem="by_seed", ext="csv"),
    output:
        png=report(
            layout.partial(layout.STUDY_FIGURE, ext="png"),
            caption="../report/study_figure.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        pdf=layout.partial(layout.STUDY_FIGURE, ext="pdf"),
    log:
        layout.log("study_figure", "{sts_set}"),
    benchmark:
        layout.benchmark("study_figure", "{sts_set}")
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sts_description=lambda w: PLAN.sts_set_description(w.sts_set),
        training=lambda w: planned(PLAN.study.training)(),
        world=lambda w: PLAN.is_world_sts_set(w.sts_set),
    script:
        "../scripts/study_figure.py"
