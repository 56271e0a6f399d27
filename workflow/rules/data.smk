# Data: one cache per dataset, one pool + initial set per dataset x IR x seed (shared by samplers).


rule prepare_data:
    output:
        meta=f"{CACHE}/{{dataset}}/meta.json",
    log:
        f"logs/prepare_data/{{dataset}}.log",
    conda:
        TRAIN_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        download=["--download"] if config.get("download", False) else [],
        cache=subpath(output.meta, ancestor=2),
    shell:
        "{params.cli:q} data prepare {wildcards.dataset:q} --cache-dir {params.cache:q} "
        "--config {params.config:q} {params.download:q} > {log:q} 2>&1"


rule build_pool:
    input:
        meta=rules.prepare_data.output.meta,
    output:
        pool=f"{RESULTS}/{layout.POOL}",
        initial=f"{RESULTS}/{layout.INITIAL}",
    log:
        "logs/{experiment}/build_pool/{dataset}_ir{ir}_seed{seed}.log",
    conda:
        TRAIN_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        pool_hash=get_pool_hash,
    shell:
        "{params.cli:q} pool build --config {params.config:q} --dataset {wildcards.dataset:q} "
        "--ir {wildcards.ir:q} --seed {wildcards.seed:q} "
        "--pool-out {output.pool:q} --initial-out {output.initial:q} > {log:q} 2>&1"
