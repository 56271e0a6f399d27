"""The ``albench`` command line.

albench datasets                         registered datasets, one per line
albench data prepare NAME [--download]   build the canonical cache
albench data info NAME                   shapes, class counts, checksums
albench pool build ...                   one pool + initial labeled set (a workflow step)
albench pool summary --config FILE       every configured pool, for a quick look
albench samplers                         registered query strategies, one per line
albench cycle ...                        one active-learning cycle (a workflow job)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from albench import __version__
from albench.report import cli as report_cli


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="raw sources (default: $ALBENCH_DATA_DIR)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache root (default: $ALBENCH_CACHE_DIR or resources/datasets)",
    )
    parser.add_argument("--download", action="store_true", help="allow torchvision downloads")
    parser.add_argument("--config", type=Path, help="config file (for custom_datasets)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"albench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("datasets", help="list registered datasets")

    data = commands.add_parser("data", help="prepare and inspect dataset caches")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    prepare = data_commands.add_parser("prepare", help="build the canonical cache of a dataset")
    prepare.add_argument("name")
    _add_source_args(prepare)
    prepare.add_argument("--image-size", type=int, help="resize side (iNaturalist, image folders)")
    prepare.add_argument("--force", action="store_true", help="rebuild even if the cache is valid")
    prepare.add_argument(
        "--no-verify-md5",
        action="store_true",
        help="skip publisher MD5 checks (re-packaged or synthetic files)",
    )
    info = data_commands.add_parser("info", help="describe a prepared dataset")
    info.add_argument("name")
    info.add_argument("--cache-dir", type=Path)
    info.add_argument(
        "--verify",
        choices=["auto", "full"],
        default="auto",
        help="'full' hashes large arrays completely",
    )

    pool = commands.add_parser("pool", help="build or summarise pools and initial sets")
    pool_commands = pool.add_subparsers(dest="pool_command", required=True, metavar="ACTION")
    build = pool_commands.add_parser("build", help="write one pool and its initial labeled set")
    build.add_argument("--config", type=Path, required=True)
    build.add_argument("--dataset", required=True)
    build.add_argument("--ir", type=float, required=True, help="imbalance ratio (>= 1)")
    build.add_argument("--seed", type=int, required=True)
    build.add_argument("--pool-out", type=Path, required=True)
    build.add_argument("--initial-out", type=Path, required=True)
    summary = pool_commands.add_parser("summary", help="print every configured pool")
    summary.add_argument("--config", type=Path, required=True)
    summary.add_argument("--seed", type=int, help="default: the first configured seed")

    commands.add_parser("samplers", help="list registered samplers")

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
    cycle.add_argument("--out", type=Path, required=True, help="output directory")
    cycle.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: config.device)")
    cycle.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")

    reference = commands.add_parser("reference", help="train on the whole pool: the all-data run")
    for flag in ("--config", "--pool", "--out"):
        reference.add_argument(flag, type=Path, required=True)
    reference.add_argument("--dataset", required=True)
    reference.add_argument("--ir", type=float, required=True)
    reference.add_argument("--seed", type=int, required=True)
    reference.add_argument("--device")
    reference.add_argument("--threads", type=int)

    aggregate = commands.add_parser("aggregate", help="collect metrics into tidy CSV tables")
    aggregate.add_argument("--config", type=Path, required=True)
    aggregate.add_argument("--results", type=Path, default=Path("results"))
    aggregate.add_argument("--out", type=Path, required=True, help="output directory")
    aggregate.add_argument(
        "--no-reference", action="store_true", help="the config has no full-pool reference runs"
    )
    report_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from albench.commands import dispatch
    from albench.config import ConfigError
    from albench.data import CacheError, DataSourceError

    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except (ConfigError, DataSourceError, CacheError, ValueError, FileNotFoundError) as exc:
        print(f"albench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("albench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
