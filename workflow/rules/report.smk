# Results report: every figure and table of an experiment, bundled by `snakemake --report`.
# File names come from albench.report.build (FIGURES, TABLES), captions from workflow/report/.
from albench.report.outputs import FIGURES, TABLE_FORMATS, TABLES, expected_outputs


report: "../report/workflow.rst"


# Outside results/<experiment>/ so DVC can track runs and report as separate stages.
REPORT_DIR = layout.REPORT
# Every file make_report writes for the configured experiment (for get_final_output()).
REPORT_TARGETS = [str(p) for p in expected_outputs(layout.REPORT.format(experiment=EXPERIMENT))]
FIGURE_CATEGORY = {
    "relative_improvement": "2. Relative improvement",
    "selection_effect": "2. Relative improvement",
    "accuracy_curves": "3. Accuracy",
    "penalty_matrix": "4. Statistics",
    "critical_difference": "4. Statistics",
    "informativeness": "5. Diagnostics",
    "tidal_kl": "5. Diagnostics",
    "tail_scatter": "5. Diagnostics",
}

# Named outputs of make_report: figures (PNG in the report, PDF beside), tables, run status.
REPORT_OUTPUTS = {}
for _name, _title in FIGURES.items():
    REPORT_OUTPUTS[f"figure_{_name}"] = report(
        f"{REPORT_DIR}/figures/{_name}.png",
        caption=f"../report/figure_{_name}.rst",
        category=FIGURE_CATEGORY[_name],
        labels={"figure": _title},
    )
    REPORT_OUTPUTS[f"figure_{_name}_pdf"] = f"{REPORT_DIR}/figures/{_name}.pdf"
for _name, _title in TABLES.items():
    for _fmt in TABLE_FORMATS:
        REPORT_OUTPUTS[f"table_{_name}_{_fmt}"] = report(
            f"{REPORT_DIR}/tables/{_name}.{_fmt}",
            caption=f"../report/table_{_name}.rst",
            category="6. Tables",
            subcategory=_title,
            labels={"table": _title, "format": _fmt},
        )
REPORT_OUTPUTS["penalty_tests"] = report(
    f"{REPORT_DIR}/tables/penalty_tests.csv",
    caption="../report/penalty_tests.rst",
    category="4. Statistics",
    labels={"figure": "Penalty-matrix t-tests"},
)
REPORT_OUTPUTS["claims"] = report(
    f"{REPORT_DIR}/claims.md",
    caption="../report/claims.rst",
    category="1. Claims",
    labels={"file": "claims of the papers: verdicts"},
)
REPORT_OUTPUTS["missing"] = report(
    f"{REPORT_DIR}/missing.csv",
    caption="../report/missing.rst",
    category="7. Run status",
    labels={"file": "missing / failed runs"},
)
REPORT_OUTPUTS["notes"] = report(
    f"{REPORT_DIR}/notes.md",
    caption="../report/notes.rst",
    category="7. Run status",
    labels={"file": "notes (exclusions, skipped tests)"},
)
# Headline numbers per setting and sampler, for `dvc metrics show`.
REPORT_OUTPUTS["headline_metrics"] = f"{REPORT_DIR}/metrics.json"
# Mean accuracy per labeled-set size, for `dvc plots show` / `dvc plots diff`.
REPORT_OUTPUTS["curves"] = f"{REPORT_DIR}/curves.csv"


rule make_report:
    input:
        cycles=rules.aggregate_cycles.output.cycles,
        references=rules.aggregate_cycles.output.references,
        metrics=CYCLE_METRICS,
    output:
        **REPORT_OUTPUTS,
    log:
        "logs/{experiment}/make_report.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        report_hash=config_hash(config.get("report") or {}),
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        summary=subpath(input.cycles, parent=True),
        results=subpath(input.cycles, ancestor=3),
        out=subpath(output.missing, parent=True),
    shell:
        "{params.cli:q} report --config {params.config:q} --summary {params.summary:q} "
        "--results {params.results:q} --out {params.out:q} > {log:q} 2>&1"


# After a run in which some jobs failed (`snakemake --keep-going`): the report of every run
# that finished, with the failed and missing ones listed in missing.csv. Its inputs are the
# metrics that exist when the DAG is built, so it never waits for (or reruns) a failed cycle.
rule report_available:
    input:
        cycles=[p for p in CYCLE_METRICS if Path(p).exists()],
        references=[p for p in REFERENCE_METRICS if Path(p).exists()],
    output:
        directory(f"{REPORT_DIR.format(experiment=EXPERIMENT)}/available"),
    log:
        f"logs/{EXPERIMENT}/report_available.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        results=RESULTS,
        reference=[] if REFERENCE_METRICS else ["--no-reference"],
    shell:
        "( {params.cli:q} aggregate --config {params.config:q} --results {params.results:q} "
        "--out {output:q}/summary {params.reference:q} && "
        "{params.cli:q} report --config {params.config:q} --summary {output:q}/summary "
        "--results {params.results:q} --out {output:q} ) > {log:q} 2>&1"
