# Rules of the report stage: `snakemake --report results/report.html` collects every output
# marked with report(...) in evaluate.smk (tables and figures, captioned by
# workflow/report/*.rst) into one self-contained HTML file.


report: "../report/workflow.rst"
