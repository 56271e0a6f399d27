"""The ``albench report`` command: every figure and table of an experiment.

    albench report --summary results/EXP/summary --out reports/EXP \
        [--results results] [--config results/EXP/config.yaml]

Options come from the config's ``report:`` section (see
:class:`albench.config.ReportConfig`); ``--metric`` overrides it.
Only :mod:`argparse` is imported at module level so ``albench --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's sub-command parsers; return its parser."""
    parser = subparsers.add_parser(
        "report", help="figures, tables and statistics from the aggregated results"
    )
    parser.add_argument(
        "--summary",
        type=Path,
        required=True,
        help="folder with cycles.csv and reference.csv (albench aggregate)",
    )
    parser.add_argument(
        "--results", type=Path, help="results root holding <experiment>/ (default: SUMMARY/../..)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--config", type=Path, help="config file whose `report:` section is used")
    parser.add_argument(
        "--metric",
        choices=["accuracy", "balanced_accuracy"],
        help="overrides report.metric (default: accuracy)",
    )
    return parser


def report(args: argparse.Namespace) -> int:
    """Handler of ``albench report``: build the report and print what was written."""
    from dataclasses import replace

    from albench.config import ReportConfig, load_config
    from albench.report.build import build_report

    config = load_config(args.config) if args.config is not None else None
    options = config.report if config is not None else ReportConfig()
    if args.metric:
        options = replace(options, metric=args.metric)
    models = {name: d.model for name, d in config.datasets.items()} if config else None
    results = args.results if args.results is not None else args.summary.resolve().parents[1]
    paths = build_report(args.summary, results, args.out, options, models)
    notes = args.out / "notes.md"
    print(f"report: {len(paths)} files -> {args.out} (notes: {notes})")
    return 0


run = report

__all__ = ["add_parser", "report", "run"]
