# Rules of the evaluate stage: retrieval (Table 2), SpokenSTS correlations (Figure 1), text
# toplines, model comparisons, regression / AIC (Table 3), Figures 1–2 and learning curves.
# The work is done in vgs.evaluate; see its docstring for every file written.


wildcard_constraints:
    topline="|".join(EVAL_CONFIG["toplines"]) or "none",


rule eval_retrieval:
    input:
        manifest=lambda w: f"{RESULTS}/corpora/{model_corpus(w.model)}/manifest.tsv",
        captions=lambda w: embedding_store(w, f"corpus/{model_corpus(w.model)}"),
        images=lambda w: embedding_store(w, f"images/{model_corpus(w.model)}"),
    output:
        json=f"{EVAL}/{{model}}/seed{{seed}}/retrieval.json",
        tsv=f"{EVAL}/{{model}}/seed{{seed}}/retrieval.tsv",
    log:
        f"{LOGS}/eval_retrieval/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{BENCH}/eval_retrieval/{{model}}/seed{{seed}}.tsv"
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
        pairs=f"{RESULTS}/sts/{{sts_set}}/pairs.tsv",
        sample=f"{RESULTS}/sts/{{sts_set}}/natural/sample.tsv",
        voice_manifests=lambda w: [
            uttset_manifest(f"sts/{w.sts_set}/{voice}") for voice in sts_voices()
        ],
        voice_stores=voice_embeddings,
        natural_manifest=lambda w: uttset_manifest(f"sts/{w.sts_set}/natural"),
        natural_store=lambda w: embedding_store(w, f"sts/{w.sts_set}/natural"),
    output:
        similarities=f"{EVAL}/{{model}}/seed{{seed}}/sts/{{sts_set}}/similarities.tsv",
        correlations=f"{EVAL}/{{model}}/seed{{seed}}/sts/{{sts_set}}/correlations.tsv",
    log:
        f"{LOGS}/eval_sts/{{model}}/seed{{seed}}/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/eval_sts/{{model}}/seed{{seed}}/{{sts_set}}.tsv"
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
        pairs=f"{RESULTS}/sts/{{sts_set}}/pairs.tsv",
        sample=f"{RESULTS}/sts/{{sts_set}}/natural/sample.tsv",
    output:
        similarities=f"{EVAL}/toplines/{{topline}}/sts/{{sts_set}}/similarities.tsv",
        correlations=f"{EVAL}/toplines/{{topline}}/sts/{{sts_set}}/correlations.tsv",
    log:
        f"{LOGS}/eval_text_topline/{{topline}}/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/eval_text_topline/{{topline}}/{{sts_set}}.tsv"
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
        [
            f"{EVAL}/{run['system']}/seed{run['seed']}/retrieval.json"
            for run in speech_runs()
        ],
    output:
        csv=report(
            f"{TABLES}/table2_retrieval.csv",
            caption="../report/table2.rst",
            category="Tables",
        ),
        md=f"{TABLES}/table2_retrieval.md",
        tex=f"{TABLES}/table2_retrieval.tex",
    log:
        f"{LOGS}/table2_retrieval.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=speech_runs(),
    script:
        "../scripts/table_retrieval.py"


rule table_sts_correlations:
    input:
        sts_run_files("correlations.tsv"),
    output:
        by_seed=f"{TABLES}/{{sts_set}}/sts_correlations_by_seed.csv",
        csv=report(
            f"{TABLES}/{{sts_set}}/sts_correlations.csv",
            caption="../report/sts_correlations.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=f"{TABLES}/{{sts_set}}/sts_correlations.md",
        tex=f"{TABLES}/{{sts_set}}/sts_correlations.tex",
    log:
        f"{LOGS}/table_sts_correlations/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=sts_runs(),
        level=EVAL_CONFIG["ci_level"],
        natural_source=NATURAL_SOURCE,
        natural=natural_label(NATURAL_SOURCE),
        natural_description=natural_description(NATURAL_SOURCE),
    script:
        "../scripts/table_sts_correlations.py"


rule table_model_comparisons:
    input:
        sts_run_files("similarities.tsv"),
    output:
        csv=report(
            f"{TABLES}/{{sts_set}}/model_comparisons.csv",
            caption="../report/model_comparisons.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=f"{TABLES}/{{sts_set}}/model_comparisons.md",
    log:
        f"{LOGS}/table_model_comparisons/{{sts_set}}.log",
    benchmark:
        f"{BENCH}/table_model_comparisons/{{sts_set}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=sts_runs(),
    script:
        "../scripts/table_model_comparisons.py"


rule table3_aic:
    input:
        sts_run_files("similarities.tsv"),
    output:
        csv=report(
            f"{TABLES}/{{sts_set}}/table3_aic.csv",
            caption="../report/table3.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=f"{TABLES}/{{sts_set}}/table3_aic.md",
        tex=f"{TABLES}/{{sts_set}}/table3_aic.tex",
    log:
        f"{LOGS}/table3_aic/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=sts_runs(),
        table="table3_aic",
    script:
        "../scripts/table_aic.py"


rule table3_aic_all:
    input:
        sts_run_files("similarities.tsv"),
    output:
        csv=report(
            f"{TABLES}/{{sts_set}}/table3_aic_all.csv",
            caption="../report/table3_all.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        md=f"{TABLES}/{{sts_set}}/table3_aic_all.md",
        tex=f"{TABLES}/{{sts_set}}/table3_aic_all.tex",
    log:
        f"{LOGS}/table3_aic_all/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=sts_runs(),
        table="aic_table_all",
    script:
        "../scripts/table_aic.py"


rule paper_comparison:
    input:
        unpack(paper_comparison_inputs),
    output:
        claims=report(
            f"{TABLES}/{{sts_set}}/paper_comparison_claims.csv",
            caption="../report/paper_comparison.rst",
            category="Tables",
            subcategory="{sts_set}",
        ),
        numbers=f"{TABLES}/{{sts_set}}/paper_comparison_numbers.csv",
        md=f"{TABLES}/{{sts_set}}/paper_comparison.md",
    log:
        f"{LOGS}/paper_comparison/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=lambda wildcards: corpus_model_runs(),
        formats=lambda wildcards: corpus_formats(),
        natural_source=NATURAL_SOURCE,
    script:
        "../scripts/paper_comparison.py"


rule table_ablation:
    input:
        unpack(ablation_inputs),
    output:
        csv=f"{TABLES}/ablation/{{sts_set}}.csv",
        md=f"{TABLES}/ablation/{{sts_set}}.md",
    log:
        f"{LOGS}/table_ablation/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        models=lambda wildcards: ablation_models(),
        reference=lambda wildcards: EVAL_CONFIG["ablation"]["reference"],
        seeds=lambda wildcards: ablation_seeds(),
    script:
        "../scripts/table_ablation.py"


rule figure1:
    input:
        correlations=f"{TABLES}/{{sts_set}}/sts_correlations.csv",
    output:
        png=report(
            f"{FIGURES}/{{sts_set}}/figure1.png",
            caption="../report/figure1.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=f"{FIGURES}/{{sts_set}}/figure1.pdf",
    log:
        f"{LOGS}/figure1/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        measure="pearson",
        natural=natural_label(NATURAL_SOURCE),
        natural_description=natural_description(NATURAL_SOURCE),
    script:
        "../scripts/figure1.py"


rule figure2:
    input:
        correlations=f"{TABLES}/{{sts_set}}/sts_correlations.csv",
    output:
        png=report(
            f"{FIGURES}/{{sts_set}}/figure2.png",
            caption="../report/figure2.rst",
            category="Figures",
            subcategory="{sts_set}",
        ),
        pdf=f"{FIGURES}/{{sts_set}}/figure2.pdf",
    log:
        f"{LOGS}/figure2/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        measure="pearson",
        natural=natural_label(NATURAL_SOURCE),
        natural_description=natural_description(NATURAL_SOURCE),
    script:
        "../scripts/figure2.py"


rule figure_learning_curves:
    input:
        [
            f"{RESULTS}/models/{run['system']}/seed{run['seed']}/train_log.tsv"
            for run in speech_runs()
        ],
    output:
        png=report(
            f"{FIGURES}/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
        ),
        pdf=f"{FIGURES}/learning_curves.pdf",
    log:
        f"{LOGS}/figure_learning_curves.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=speech_runs(),
    script:
        "../scripts/figure_learning_curves.py"


rule study_tables:
    input:
        unpack(study_inputs),
    output:
        by_seed=f"{TABLES}/study/{{sts_set}}/by_seed.csv",
        cells_csv=report(
            f"{TABLES}/study/{{sts_set}}/cells.csv",
            caption="../report/study_cells.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        cells_md=f"{TABLES}/study/{{sts_set}}/cells.md",
        regression_csv=report(
            f"{TABLES}/study/{{sts_set}}/regression.csv",
            caption="../report/study_regression.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        regression_md=f"{TABLES}/study/{{sts_set}}/regression.md",
    log:
        f"{LOGS}/study_tables/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=lambda wildcards: study_runs(),
        paper_runs=lambda wildcards: paper_style_runs(),
        training=lambda wildcards: study_training(),
        sts_description=lambda wildcards: sts_set_description(wildcards.sts_set),
    script:
        "../scripts/study_tables.py"


rule study_figure:
    input:
        by_seed=f"{TABLES}/study/{{sts_set}}/by_seed.csv",
    output:
        png=report(
            f"{FIGURES}/study/{{sts_set}}/study.png",
            caption="../report/study_figure.rst",
            category="Study",
            subcategory="{sts_set}",
        ),
        pdf=f"{FIGURES}/study/{{sts_set}}/study.pdf",
    log:
        f"{LOGS}/study_figure/{{sts_set}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        sts_description=lambda wildcards: sts_set_description(wildcards.sts_set),
        training=lambda wildcards: study_training(),
        world=lambda wildcards: is_world_sts_set(wildcards.sts_set),
    script:
        "../scripts/study_figure.py"
