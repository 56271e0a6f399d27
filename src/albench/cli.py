"""The ``albench`` command line.

albench datasets                         registered datasets, one per line
albench data prepare NAME [--download]   build the canonical cache
albench data info NAME                   shapes, class counts, checksums
albench pool build ...                   one pool + initial labeled set (a workflow step)
albench pool summary --config FILE       every configured pool, for a quick look
albench samplers [--config FILE]         query strategies (built-in, plugins, references)
albench cycle ...                        one active-learning cycle (a workflow job)
albench reference ...                    the full-pool ("all data") run (a workflow job)
albench aggregate ...                    tidy CSV tables of every run
albench report ...                       figures, tables and statistics

Every subcommand's handler sits beside its parser. Bad input (a config, a pool
file, a dataset name) ends with one ``albench: error: ...`` line naming the
input and what would be valid, exit status 2; ``--debug`` shows the traceback.
Heavy modules (torch, pandas) are imported by the handlers that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from albench import __version__
from albench.report import cli as report_cli

# ----------------------------------------------------------------------------- data


def add_data_parsers(commands) -> None:
    commands.add_parser("datasets", help="list registered datasets").set_defaults(
        func=list_datasets
    )
    data = commands.add_parser("data", help="prepare and inspect dataset caches")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    prepare = actions.add_parser("prepare", help="build the canonical cache of a dataset")
    prepare.add_argument("name")
    prepare.add_argument("--data-dir", type=Path, help="raw sources (default: $ALBENCH_DATA_DIR)")
    prepare.add_argument(
        "--cache-dir",
        type=Path,
        help="cache root (default: $ALBENCH_CACHE_DIR or resources/datasets)",
    )
    prepare.add_argument("--download", action="store_true", help="allow torchvision downloads")
    prepare.add_argument("--config", type=Path, help="config file (for custom_datasets)")
    prepare.add_argument("--image-size", type=int, help="resize side (iNaturalist, image folders)")
    prepare.add_argument("--force", action="store_true", help="rebuild even if the cache is valid")
    prepare.add_argument(
        "--no-verify-md5",
        action="store_true",
        help="skip publisher MD5 checks (re-packaged or synthetic files)",
    )
    prepare.set_defaults(func=data_prepare)
    info = actions.add_parser("info", help="describe a prepared dataset")
    info.add_argument("name")
    info.add_argument("--cache-dir", type=Path)
    info.add_argument(
        "--verify",
        choices=["auto", "full"],
        default="auto",
        help="'full' hashes large arrays completely",
    )
    info.set_defaults(func=data_info)


def list_datasets(args: argparse.Namespace) -> int:
    from albench.data import list_datasets as specs

    for spec in specs():
        print(f"{spec.name}\t{spec.summary}")
    return 0


def data_prepare(args: argparse.Namespace) -> int:
    from albench.config import load_config
    from albench.data import SourceOptions, prepare_dataset

    options = SourceOptions(
        data_dir=args.data_dir,
        download=args.download,
        image_size=args.image_size,
        verify_md5=not args.no_verify_md5,
    )
    custom = load_config(args.config).custom_datasets if args.config else {}
    dataset = prepare_dataset(
        args.name, root=args.cache_dir, options=options, custom=custom, force=args.force
    )
    print(f"{dataset.name}: from {dataset.meta['source']['origin']}")
    print(f"  cache  {dataset.directory}")
    _print_shapes(dataset)
    return 0


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


def _print_shapes(dataset) -> None:
    for split in ("train", "test"):
        info = dataset.meta["splits"][split]
        shape = "x".join(map(str, info["image_shape"]))
        print(f"  {split:<5}  {info['n']:>7} images {shape}  sha256 {info['images_sha256'][:16]}")
    print(f"  classes {dataset.num_classes}  data hash {dataset.data_hash[:16]}")


# ----------------------------------------------------------------------------- pools


def add_pool_parsers(commands) -> None:
    pool = commands.add_parser("pool", help="build or summarise pools and initial sets")
    actions = pool.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="write one pool and its initial labeled set")
    build.add_argument("--config", type=Path, required=True)
    build.add_argument("--dataset", required=True)
    build.add_argument("--ir", type=float, required=True, help="imbalance ratio (>= 1)")
    build.add_argument("--seed", type=int, required=True)
    build.add_argument("--pool-out", type=Path, required=True)
    build.add_argument("--initial-out", type=Path, required=True)
    build.set_defaults(func=pool_build)
    summary = actions.add_parser("summary", help="print every configured pool")
    summary.add_argument("--config", type=Path, required=True)
    summary.add_argument("--seed", type=int, help="default: the first configured seed")
    summary.set_defaults(func=pool_summary)


def _pool_and_initial(config, dataset_name: str, ratio: float, seed: int):
    from albench.data import prepare_dataset
    from albench.pools import build_pool, initial_labeled_set

    settings = config.dataset(dataset_name)
    data = prepare_dataset(dataset_name, root=config.cache_dir, custom=config.custom_datasets)
    pool = build_pool(
        data.train_labels,
        num_classes=data.num_classes,
        imbalance_ratio=ratio,
        seed=seed,
        config=settings.pool,
        dataset=dataset_name,
        data_hash=data.data_hash,
    )
    initial = initial_labeled_set(
        pool,
        data.train_labels,
        size=settings.initial.size,
        fraction=settings.initial.fraction,
        strategy=settings.initial.strategy,
        seed=seed,
    )
    return data, pool, initial


def pool_build(args: argparse.Namespace) -> int:
    from albench.config import load_config

    _, pool, initial = _pool_and_initial(load_config(args.config), args.dataset, args.ir, args.seed)
    pool.save(args.pool_out)
    initial.save(args.initial_out)
    print(
        f"pool {pool.size} samples -> {args.pool_out}; initial {len(initial.indices)} -> "
        f"{args.initial_out}"
    )
    return 0


def pool_summary(args: argparse.Namespace) -> int:
    import numpy as np

    from albench.config import load_config
    from albench.pools import describe_pool

    config = load_config(args.config)
    seed = config.seeds[0] if args.seed is None else args.seed
    for name, settings in config.datasets.items():
        for ratio in settings.imbalance_ratios:
            data, pool, initial = _pool_and_initial(config, name, ratio, seed)
            print(describe_pool(pool, data.class_names))
            hist = np.bincount(data.train_labels[initial.indices], minlength=data.num_classes)
            print(
                f"  initial labeled set: {len(initial.indices)} samples "
                f"({settings.initial.strategy}); per class min {hist.min()} max {hist.max()}"
            )
            print(
                f"  data: {data.meta['source']['origin']}; test set {len(data.test_labels)} "
                "(as published)\n"
            )
    return 0


# ----------------------------------------------------------------------------- samplers


def add_sampler_parser(commands) -> None:
    samplers = commands.add_parser(
        "samplers", help="list query strategies and where they come from"
    )
    samplers.add_argument(
        "--config", type=Path, help="also resolve this config's module:Class references"
    )
    samplers.set_defaults(func=list_samplers)


def list_samplers(args: argparse.Namespace) -> int:
    from albench.samplers import registry

    if args.config is not None:
        from albench.config import load_config
        from albench.plan import sampler_names_of

        sampler_names_of(load_config(args.config))
    for name in registry.sampler_names():
        cls = registry.get_sampler_class(name)
        print(f"{name}\t{cls.role}\t{cls.summary}\t[{registry.origin(name)}]")
    return 0


# ----------------------------------------------------------------------------- runs


def add_run_parsers(commands) -> None:
    cycle = commands.add_parser("cycle", help="run one AL cycle: train, evaluate, score, select")
    cycle.add_argument("--config", type=Path, required=True)
    cycle.add_argument("--dataset", required=True)
    cycle.add_argument("--ir", type=float, required=True, help="imbalance ratio of the pool")
    cycle.add_argument("--sampler", required=True)
    cycle.add_argument("--seed", type=int, required=True)
    cycle.add_argument("--cycle", type=int, required=True, help="0-based cycle index")
    cycle.add_argument("--pool", type=Path, required=True, help="pool file (albench pool build)")
    cycle.add_argument(
        "--labeled",
        type=Path,
        required=True,
        help="this cycle's labeled set: the initial set or labeled_next.json",
    )
    cycle.add_argument("--checkpoint", type=Path, help="previous model.safetensors (warm_start)")
    cycle.add_argument(
        "--initial-training",
        type=Path,
        help="cycle 0: load this shared training (albench train-initial)",
    )
    cycle.add_argument("--out", type=Path, required=True, help="output directory")
    _add_device_args(cycle)
    cycle.set_defaults(func=run_cycle)

    shared = commands.add_parser(
        "train-initial", help="train the cycle-0 model several samplers share (a workflow job)"
    )
    for flag in ("--config", "--pool", "--labeled", "--out"):
        shared.add_argument(flag, type=Path, required=True)
    shared.add_argument("--dataset", required=True)
    shared.add_argument("--ir", type=float, required=True)
    shared.add_argument("--seed", type=int, required=True)
    shared.add_argument("--signature", required=True, help="'plain' or an objective name")
    _add_device_args(shared)
    shared.set_defaults(func=run_train_initial)

    reference = commands.add_parser("reference", help="train on the whole pool: the all-data run")
    for flag in ("--config", "--pool", "--out"):
        reference.add_argument(flag, type=Path, required=True)
    reference.add_argument("--dataset", required=True)
    reference.add_argument("--ir", type=float, required=True)
    reference.add_argument("--seed", type=int, required=True)
    _add_device_args(reference)
    reference.set_defaults(func=run_reference)


def _add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: config.device)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


def run_cycle(args: argparse.Namespace) -> int:
    from albench.config import load_config
    from albench.cycle import CycleRequest
    from albench.cycle import run_cycle as run

    _set_threads(args.threads)
    metrics = run(
        CycleRequest(
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
            initial_training=args.initial_training,
            device=args.device,
        )
    )
    test = metrics["test"]
    print(
        f"{args.dataset} IR={args.ir:g} {args.sampler} seed={args.seed} cycle={args.cycle}: "
        f"{metrics['num_labeled']} labeled, test accuracy {test['accuracy']:.4f} "
        f"(balanced {test['balanced_accuracy']:.4f}), selected "
        f"{metrics['selection']['num_selected']} -> {args.out}"
    )
    return 0


def run_train_initial(args: argparse.Namespace) -> int:
    from albench.config import ConfigError, load_config
    from albench.cycle import CycleRequest, train_initial
    from albench.plan import shared_trainings

    _set_threads(args.threads)
    config = load_config(args.config)
    groups = {(s.dataset, s.signature): s for s in shared_trainings(config)}
    shared = groups.get((args.dataset, args.signature))
    if shared is None:
        valid = ", ".join(f"{d}/{s}" for d, s in sorted(groups)) or "none"
        raise ConfigError(
            f"{args.config}: no shared cycle-0 training {args.dataset}/"
            f"{args.signature}; this config shares: {valid}"
        )
    request = CycleRequest(
        config=config,
        dataset=args.dataset,
        imbalance_ratio=args.ir,
        sampler=shared.samplers[0],
        seed=args.seed,
        cycle=0,
        pool_path=args.pool,
        labeled_path=args.labeled,
        out_dir=args.out,
        device=args.device,
    )
    train_initial(request, shared.signature, shared.track_views, shared.diagnostic_views)
    print(
        f"{args.dataset} IR={args.ir:g} seed={args.seed} cycle 0 ({args.signature}, shared by "
        f"{', '.join(shared.samplers)}) -> {args.out}"
    )
    return 0


def run_reference(args: argparse.Namespace) -> int:
    from albench.config import load_config
    from albench.cycle import ReferenceRequest
    from albench.cycle import run_reference as run

    _set_threads(args.threads)
    metrics = run(
        ReferenceRequest(
            config=load_config(args.config),
            dataset=args.dataset,
            imbalance_ratio=args.ir,
            seed=args.seed,
            pool_path=args.pool,
            out_dir=args.out,
            device=args.device,
        )
    )
    print(
        f"{args.dataset} IR={args.ir:g} seed={args.seed} full pool: {metrics['num_labeled']} "
        f"labeled, test accuracy {metrics['test']['accuracy']:.4f} -> {args.out}"
    )
    return 0


# ----------------------------------------------------------------------------- summaries


def add_aggregate_parser(commands) -> None:
    parser = commands.add_parser("aggregate", help="collect metrics into tidy CSV tables")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--no-reference", action="store_true", help="the config has no full-pool reference runs"
    )
    parser.set_defaults(func=aggregate)


def aggregate(args: argparse.Namespace) -> int:
    from albench.aggregate import aggregate as collect
    from albench.config import load_config

    cycles = collect(
        load_config(args.config), args.results, args.out, require_references=not args.no_reference
    )
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


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"albench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_parsers(commands)
    add_pool_parsers(commands)
    add_sampler_parser(commands)
    add_run_parsers(commands)
    add_aggregate_parser(commands)
    report_cli.add_parser(commands).set_defaults(func=report_cli.report)
    return parser


TRAINING_COMMANDS = ("cycle", "train-initial", "reference")


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # a workflow job: a warm-start server may run it (albench.warm)
        from albench import warm

        code = warm.run_via_server(sys.argv)
        if code is not None:
            return code
    from albench.config import ConfigError
    from albench.data import CacheError, DataSourceError

    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) in TRAINING_COMMANDS:
        # cuBLAS reads this when its first handle is created; set it before anything can
        # touch CUDA, so deterministic GEMMs are possible (albench.device.CUBLAS_WORKSPACE).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        return args.func(args)
    except (ConfigError, DataSourceError, CacheError, ValueError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"albench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("albench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
