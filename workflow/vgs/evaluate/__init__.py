"""Evaluation: retrieval (Table 2), SpokenSTS correlations (Figures 1–2), statistics (Table 3,
model comparisons), text toplines, tables and figures.

Files written (all under ``results/``); each ``eval/`` file records its run (``system`` and
``seed`` keys or columns; seed empty for toplines and speech-model layers), which every table checks
against the run it is paired with (vgs.identity):

``eval/<model>/seed<s>/retrieval.{json,tsv}``
    caption→image and image→caption R@1/5/10 and median rank on the model's corpus test set.
``eval/<model>/seed<s>/sts/<set>/{similarities,correlations,natural_cosines}.tsv``
    per-pair voice-averaged cosine similarity; Pearson/Spearman with CIs per subtask, year, All,
    the natural-speech sample (see vgs.evaluate.labels), Sample, plus SentEval-style means; the
    natural sample's cosine of every reading of a with every reading of b.
``eval/toplines/<topline>/sts/<set>/{similarities,correlations,natural_cosines}.tsv``
    the same for text toplines (bag of words, TF-IDF, optional MiniLM).
``tables/table2_retrieval.{csv,md,tex}``
    Table 2 (CSV per seed; Markdown/LaTeX mean ± sd over seeds).
``tables/<set>/sts_correlations.{csv,md,tex}``, ``tables/<set>/sts_correlations_by_seed.csv``
    every system's correlations (seeds averaged in Fisher z; per seed) — Figure 1's numbers.
``tables/<set>/spokensts_<protocol>.{csv,md,tex}``, ``figures/<set>/spokensts_protocols.{png,pdf}``
    every system under each published SpokenSTS protocol (vgs.evaluate.protocols: merkx2021,
    pasad2024, pasad2024-points, zhu2022; vgs.evaluate.protocol_tables) and its rank under each.
``tables/<set>/model_comparisons.{csv,md}``
    Williams' test for every pair of systems on All, Holm-adjusted.
``tables/<set>/table3_aic.{csv,md,tex}``
    Table 3 as in the paper: the captions-per-image subset models only, OLS regression,
    log-likelihood, AIC (R's convention) and ΔAIC relative to the best of them.
``tables/<set>/table3_aic_all.{csv,md,tex}``
    the same for every model and text topline, ΔAIC relative to the best of all.
``tables/<set>/paper_comparison{.md,_numbers.csv,_claims.csv}``
    a paper-configuration run beside the published Table 2 and Table 3 (vgs.evaluate.published),
    and the paper's claims about Figures 1-2 and Tables 2-3 judged one by one (real STS sets and
    corpora only; vgs.evaluate.paper_comparison).
``tables/ablation/<set>.{csv,md}``
    training options against a reference recipe over seeds (``evaluate.ablation``; vgs.evaluate.ablation).
``tables/study/<set>/{by_seed.csv,cells.{csv,md},regression.{csv,md}}``, ``figures/study/<set>/study.{png,pdf}``
    the size × captions-per-image study (``study``; vgs.evaluate.study).

How the natural-speech sample is labelled (never "Natural speech" unless people recorded it) is
decided in one place, vgs.evaluate.labels.
``figures/<set>/figure1.{png,pdf}``, ``figures/<set>/figure2.{png,pdf}``,
``figures/learning_curves.{png,pdf}``
"""
