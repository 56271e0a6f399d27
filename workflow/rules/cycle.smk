# One job per active-learning cycle (train, evaluate, score, select), chained through the
# labeled-set files; a cycle-0 training shared by the samplers that train alike; and the
# full-pool ("all data") reference run per dataset x IR x seed.


rule train_initial:
    input:
        meta=rules.prepare_data.output.meta,
        pool=rules.build_pool.output.pool,
        initial=rules.build_pool.output.initial,
    output:
        model=f"{RESULTS}/{layout.INITIAL_TRAINING}/model.safetensors",
        tracked=f"{RESULTS}/{layout.INITIAL_TRAINING}/tracked.safetensors",
        training=ensure(f"{RESULTS}/{layout.INITIAL_TRAINING}/training.json", non_empty=True),
    log:
        "logs/{experiment}/train_initial/{dataset}_ir{ir}_seed{seed}_{signature}.log",
    benchmark:
        "benchmarks/{experiment}/train_initial/{dataset}_ir{ir}_seed{seed}_{signature}.tsv"
    conda:
        TRAIN_ENV
    threads: 1
    resources:
        mem_mb=get_mem_mb,
        runtime=get_runtime,
        gpu=1,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        run_hash=get_shared_hash,
        out=subpath(output.training, parent=True),
    shell:
        "{params.cli:q} train-initial --config {params.config:q} --dataset {wildcards.dataset:q} "
        "--ir {wildcards.ir:q} --seed {wildcards.seed:q} --signature {wildcards.signature:q} "
        "--pool {input.pool:q} --labeled {input.initial:q} --out {params.out:q} "
        "--threads {threads:q} > {log:q} 2>&1"


rule run_cycle:
    input:
        # labeled, checkpoint, initial_training: one function, called once per job
        unpack(get_cycle_inputs),
        meta=rules.prepare_data.output.meta,
        pool=rules.build_pool.output.pool,
    output:
        metrics=ensure(f"{RESULTS}/{layout.CYCLE}/metrics.json", non_empty=True),
        labeled=f"{RESULTS}/{layout.CYCLE}/labeled_next.json",
        selected=f"{RESULTS}/{layout.CYCLE}/selected.csv",
        candidates=f"{RESULTS}/{layout.CYCLE}/candidates.csv",
        model=f"{RESULTS}/{layout.CYCLE}/model.safetensors",
    log:
        "logs/{experiment}/run_cycle/{dataset}_ir{ir}_seed{seed}_{sampler}_cycle{cycle}.log",
    benchmark:
        "benchmarks/{experiment}/run_cycle/{dataset}_ir{ir}_seed{seed}_{sampler}_cycle{cycle}.tsv"
    conda:
        TRAIN_ENV
    threads: 1
    resources:
        mem_mb=get_mem_mb,
        runtime=get_runtime,
        gpu=1,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        run_hash=get_run_hash,
        checkpoint=get_checkpoint_flag,
        initial_training=get_initial_training_flag,
        out=subpath(output.metrics, parent=True),
    shell:
        "{params.cli:q} cycle --config {params.config:q} --dataset {wildcards.dataset:q} "
        "--ir {wildcards.ir:q} --sampler {wildcards.sampler:q} --seed {wildcards.seed:q} "
        "--cycle {wildcards.cycle:q} --pool {input.pool:q} --labeled {input.labeled:q} "
        "{params.checkpoint:q} {params.initial_training:q} --out {params.out:q} "
        "--threads {threads:q} > {log:q} 2>&1"


rule run_reference:
    input:
        meta=rules.prepare_data.output.meta,
        pool=rules.build_pool.output.pool,
    output:
        metrics=ensure(f"{RESULTS}/{layout.REFERENCE}/metrics.json", non_empty=True),
        model=f"{RESULTS}/{layout.REFERENCE}/model.safetensors",
    log:
        "logs/{experiment}/run_reference/{dataset}_ir{ir}_seed{seed}.log",
    benchmark:
        "benchmarks/{experiment}/run_reference/{dataset}_ir{ir}_seed{seed}.tsv"
    conda:
        TRAIN_ENV
    threads: 1
    resources:
        mem_mb=get_mem_mb,
        runtime=get_runtime,
        gpu=1,
    params:
        cli=ALBENCH,
        config=EFFECTIVE_CONFIG,
        run_hash=get_run_hash,
        out=subpath(output.metrics, parent=True),
    shell:
        "{params.cli:q} reference --config {params.config:q} --dataset {wildcards.dataset:q} "
        "--ir {wildcards.ir:q} --seed {wildcards.seed:q} --pool {input.pool:q} "
        "--out {params.out:q} --threads {threads:q} > {log:q} 2>&1"
