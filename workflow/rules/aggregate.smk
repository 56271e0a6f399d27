# Aggregation: tidy tables of every cycle and reference run (missing runs are listed, not dropped).


rule aggregate_cycles:
    input:
        cycles=CYCLE_METRICS,
        references=REFERENCE_METRICS,
    output:
        cycles=f"{RESULTS}/{layout.SUMMARY}/cycles.csv",
        references=f"{RESULTS}/{layout.SUMMARY}/reference.csv",
    log:
        "logs/{experiment}/aggregate_cycles.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        out=subpath(output.cycles, parent=True),
        results=subpath(output.cycles, ancestor=3),
    shell:
        "{params.cli:q} aggregate --config {params.config:q} --results {params.results:q} "
        "--out {params.out:q} > {log:q} 2>&1"
