"""Implementations of the CLI commands (argument parsing lives in :mod:`albench.cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from albench.config import Config, load_config
from albench.report import cli as report_cli


def dispatch(args: argparse.Namespace) -> int:
    key = ".".join(
        part for part in (args.command, getattr(args, f"{args.command}_command", None)) if part
    )
    handlers = {
        "datasets": list_datasets,
        "data.prepare": data_prepare,
        "data.info": data_info,
        "pool.build": pool_build,
        "pool.summary": pool_summary,
        "samplers": list_samplers,
        "cycle": run_cycle,
        "reference": run_reference,
        "aggregate": aggregate,
        "report": report_cli.report,
    }
    return handlers[key](args)


def list_datasets(args: argparse.Namespace) -> int:
    from albench.data import list_datasets as specs

    for spec in specs():
        print(f"{spec.name}\t{spec.summary}")
    return 0


def _custom(config_path: Path | None) -> dict:
    return load_config(config_path).custom_datasets if config_path else {}


def data_prepare(args: argparse.Namespace) -> int:
    from albench.data import SourceOptions, prepare_dataset

    options = SourceOptions(
        data_dir=args.data_dir,
        download=args.download,
        image_size=args.image_size,
        verify_md5=not args.no_verify_md5,
    )
    dataset = prepare_dataset(
        args.name,
        root=args.cache_dir,
        options=options,
        custom=_custom(args.config),
        force=args.force,
    )
    print(f"{dataset.name}: from {dataset.meta['source']['origin']}")
    print(f"  cache  {dataset.directory}")
    _print_shapes(dataset)
    return 0


def _print_shapes(dataset) -> None:
    for split in ("train", "test"):
        info = dataset.meta["splits"][split]
        shape = "x".join(map(str, info["image_shape"]))
        print(f"  {split:<5}  {info['n']:>7} images {shape}  sha256 {info['images_sha256'][:16]}")
    print(f"  classes {dataset.num_classes}  data hash {dataset.data_hash[:16]}")


def data_info(args: argparse.Namespace) -> int:
    from albench.data import load_dataset

    dataset = load_dataset(args.name, root=args.cache_dir, verify=args.verify)
    meta = dataset.meta
    print(f"{dataset.name}: {dataset.directory} (checksums verified: {args.verify})")
    print(f"  source  {meta['source']['origin']}")
    _print_shapes(dataset)
    width = max(len(n) for n in dataset.class_names)
    train_counts, test_counts = (meta["splits"][s]["class_counts"] for s in ("train", "test"))
    if dataset.num_classes <= 200:
        for name, n_train, n_test in zip(
            dataset.class_names, train_counts, test_counts, strict=True
        ):
            print(f"    {name:<{width}}  train {n_train:>6}  test {n_test:>6}")
    return 0


def _pool_and_initial(config: Config, dataset_name: str, ratio: float, seed: int):
    from albench.data import prepare_dataset
    from albench.pools import build_pool, initial_labeled_set

    dcfg = config.dataset(dataset_name)
    data = prepare_dataset(dataset_name, root=config.cache_dir, custom=config.custom_datasets)
    labels = data.train_labels
    pool = build_pool(
        labels,
        num_classes=data.num_classes,
        imbalance_ratio=ratio,
        profile=dcfg.pool.profile,
        seed=seed,
        reserve_per_class=dcfg.pool.reserve_per_class,
        head_order=dcfg.pool.head_order,
        n_max=dcfg.pool.n_max,
        dataset=dataset_name,
        data_hash=data.data_hash,
    )
    initial = initial_labeled_set(
        pool,
        labels,
        size=dcfg.initial.size,
        fraction=dcfg.initial.fraction,
        strategy=dcfg.initial.strategy,
        seed=seed,
    )
    return data, pool, initial


def pool_build(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    _, pool, initial = _pool_and_initial(config, args.dataset, args.ir, args.seed)
    pool.save(args.pool_out)
    initial.save(args.initial_out)
    print(
        f"pool {pool.size} samples -> {args.pool_out}; initial {len(initial.indices)} -> "
        f"{args.initial_out}"
    )
    return 0


def pool_summary(args: argparse.Namespace) -> int:
    import numpy as np

    from albench.pools import describe_pool

    config = load_config(args.config)
    seed = config.seeds[0] if args.seed is None else args.seed
    for name, dcfg in config.datasets.items():
        for ratio in dcfg.imbalance_ratios:
            data, pool, initial = _pool_and_initial(config, name, ratio, seed)
            print(describe_pool(pool, data.class_names))
            hist = np.bincount(data.train_labels[initial.indices], minlength=data.num_classes)
            print(
                f"  initial labeled set: {len(initial.indices)} samples ({dcfg.initial.strategy}); "
                f"per class min {hist.min()} max {hist.max()}"
            )
            print(
                f"  data: {data.meta['source']['origin']}; test set {len(data.test_labels)} "
                "(as published)\n"
            )
    return 0


def list_samplers(args: argparse.Namespace) -> int:
    from albench.samplers import get_sampler_class, sampler_names

    for name in sampler_names():
        print(f"{name}\t{get_sampler_class(name).summary}")
    return 0


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)


def run_cycle(args: argparse.Namespace) -> int:
    from albench.cycle import CycleRequest
    from albench.cycle import run_cycle as run

    _set_threads(args.threads)
    request = CycleRequest(
        config=load_config(args.config),
        dataset=args.dataset,
        imbalance_ratio=args.ir,
        sampler=args.sampler,
        seed=args.seed,
        cycle=args.cycle,
        pool_path=args.pool,
        labeled_path=args.labeled,
        out_dir=args.out,
        checkpoint_path=args.checkpoint,
        device=args.device,
    )
    metrics = run(request)
    test = metrics["test"]
    print(
        f"{args.dataset} IR={args.ir:g} {args.sampler} seed={args.seed} cycle={args.cycle}: "
        f"{metrics['num_labeled']} labeled, test accuracy {test['accuracy']:.4f} "
        f"(balanced {test['balanced_accuracy']:.4f}), selected "
        f"{metrics['selection']['num_selected']} -> {args.out}"
    )
    return 0


def run_reference(args: argparse.Namespace) -> int:
    from albench.cycle import CycleRequest, run_cycle

    _set_threads(args.threads)
    metrics = run_cycle(
        CycleRequest(
            config=load_config(args.config),
            dataset=args.dataset,
            imbalance_ratio=args.ir,
            sampler="random",
            seed=args.seed,
            cycle=0,
            pool_path=args.pool,
            labeled_path=None,
            out_dir=args.out,
            device=args.device,
            full_pool=True,
        )
    )
    print(f"{args.dataset} IR={args.ir:g} seed={args.seed} full pool: {metrics['num_labeled']} "
          f"labeled, test accuracy {metrics['test']['accuracy']:.4f} -> {args.out}")  # fmt: skip
    return 0


def aggregate(args: argparse.Namespace) -> int:
    from albench.aggregate import aggregate as collect

    cycles = collect(load_config(args.config), args.results, args.out,
                     require_references=not args.no_reference)  # fmt: skip
    counts = cycles["status"].value_counts().to_dict()
    print(
        f"{len(cycles)} runs ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}) "
        f"-> {args.out / 'cycles.csv'}"
    )
    for row in cycles[cycles["status"] != "ok"].head(20).itertuples():
        print(
            f"  {row.status}: {row.dataset} IR={row.imbalance_ratio:g} {row.sampler} "
            f"seed={row.seed} cycle={row.cycle}"
        )
    return 0
