"""Where a workflow run's time goes: job wall time vs in-process compute, and the DAG's cost.

For every training job of a finished run (``run_cycle``, ``train_initial``,
``run_reference``) it reads Snakemake's benchmark file (the job's wall time as a
process, ``benchmarks/<experiment>/<rule>/*.tsv``) and the job's own record
(``metrics.json`` or ``training.json``: seconds spent training, evaluating,
scoring and selecting) and prints:

- the sum of job wall times and the sum of in-process compute;
- the overhead (wall − compute: interpreter and library start-up, loading and
  checking inputs, writing outputs) as a share of all job time, and per job: the
  median overhead against the median job's wall time (the target is ≤ 15 %);
- how many jobs were forked by the warm-start server (``albench.warm``) and how
  many ran in their own process (``ALBENCH_WARM=0`` turns the server off);
- the DAG's parse time: a dry-run of the config against a bare ``snakemake
  --version``, each the median of ``--repeats`` runs; with ``--presets``, the same
  for every ``config/paper/*.yaml`` (target: <= 1.5x), the commands alternated, beside
  the floor: a minimal workflow (one chained rule, nothing else) with as many jobs.

Usage (from the repository root, after ``make run`` or any ``snakemake`` run):

    python bench/workflow_overhead.py --config config/config.yaml
    python bench/workflow_overhead.py --config config/smoke.yaml --run   # runs it first, in a copy
    python bench/workflow_overhead.py --run --set seeds=[0]   # a one-seed slice of the default grid
    python bench/workflow_overhead.py --presets-only          # the paper presets' dry-runs
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
RULES = ("run_cycle", "train_initial", "run_reference")


def compute_seconds(record: dict) -> float:
    """In-process compute of a job: training plus evaluation, scoring and selection."""
    times = record.get("run", {}).get("wall_time_s") or {}
    if "train" not in times:  # training.json of a shared cycle-0 training
        return float(record["result"]["wall_time_s"])
    if record.get("run", {}).get("trained_in", "this job") != "this job":
        times = {**times, "train": 0.0}  # loaded, not trained, in this job
    return sum(float(times.get(key, 0.0)) for key in ("train", "evaluate", "score", "select"))


def job_rows(workdir: Path, experiment: str) -> list[dict]:
    rows = []
    for rule in RULES:
        for tsv in sorted((workdir / "benchmarks" / experiment / rule).glob("*.tsv")):
            wall = float(tsv.read_text().splitlines()[1].split("\t")[0])
            record = _record(workdir, experiment, rule, tsv.stem)
            if record is not None:
                rows.append(
                    {
                        "rule": rule,
                        "job": tsv.stem,
                        "wall": wall,
                        "compute": compute_seconds(record),
                        "process": record.get("run", {}).get("process", "own"),
                    }
                )
    return rows


def _record(workdir: Path, experiment: str, rule: str, stem: str) -> dict | None:
    # Benchmark names: <dataset>_ir<IR>_seed<S>[_<sampler>_cycle<K> | _<signature>]
    head, _, rest = stem.partition("_ir")
    ratio, _, rest = rest.partition("_seed")
    seed, _, tail = rest.partition("_")
    setting = workdir / "results" / experiment / head / f"ir{ratio}" / f"seed{seed}"
    if rule == "run_reference":
        path = setting / "full" / "metrics.json"
    elif rule == "train_initial":
        path = setting / "initial_training" / tail / "training.json"
    else:
        sampler, _, cycle = tail.rpartition("_cycle")
        path = setting / sampler / f"cycle{cycle}" / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def timed(command: list[str], cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# The least a Snakemake DAG of N jobs can cost: one rule, chained through one input
# function (as the AL cycles are), no params, resources, logs or benchmarks.
FLOOR_SNAKEFILE = """
JOBS = int(config["jobs"])


def previous(wildcards):
    k = int(wildcards.k)
    return [] if k % 10 == 0 else f"out/{k - 1}.txt"


rule all:
    input:
        expand("out/{k}.txt", k=range(JOBS - 1)),


rule step:
    input:
        previous,
    output:
        "out/{k}.txt",
    shell:
        "touch {output}"
"""


def dry_run_jobs(config: Path, cwd: Path) -> int:
    """How many jobs the dry-run of ``config`` lists (the ``total`` of its job stats)."""
    out = subprocess.run(
        [*SNAKEMAKE, "-n", "--quiet", "rules", "--configfile", str(config.resolve())],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    totals = [line.split()[1] for line in out.splitlines() if line.startswith("total ")]
    return int(totals[-1])


def dry_run_ratios(configs: list[Path], cwd: Path, repeats: int) -> None:
    """Per config: median dry-run time against a bare ``snakemake --version``, alternated,
    and the same for the floor workflow (FLOOR_SNAKEFILE) with the config's job count."""
    with tempfile.TemporaryDirectory() as floor_dir:
        floor = Path(floor_dir) / "Snakefile"
        floor.write_text(FLOOR_SNAKEFILE)
        for config in configs:
            jobs = dry_run_jobs(config, cwd)
            dry, version, minimal = [], [], []
            for _ in range(repeats):
                version.append(timed([*SNAKEMAKE, "--version"], cwd, 1))
                dry.append(timed([*SNAKEMAKE, "-n", "--configfile", str(config.resolve())], cwd, 1))
                minimal.append(
                    timed(
                        [*SNAKEMAKE, "-n", "-s", str(floor), "--config", f"jobs={jobs}"],
                        floor.parent,
                        1,
                    )
                )
            ratios = sorted(d / v for d, v in zip(dry, version, strict=True))
            floors = sorted(m / v for m, v in zip(minimal, version, strict=True))
            print(
                f"  dry-run {config.name:28s} {jobs:4d} jobs {statistics.median(dry):5.2f} s "
                f"vs --version {statistics.median(version):5.2f} s = "
                f"{statistics.median(ratios):.2f}x (pairs {ratios[0]:.2f}-{ratios[-1]:.2f}x; "
                f"target <= 1.5x); a minimal {jobs}-job DAG: {statistics.median(minimal):5.2f} s "
                f"= {statistics.median(floors):.2f}x"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--workdir", type=Path, default=REPO, help="where the run lives")
    parser.add_argument("--run", action="store_true", help="run the workflow first, in a copy")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the parse timing")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --run: a `snakemake --config` override (a slice of the grid)",
    )
    parser.add_argument("--presets", action="store_true", help="also dry-run config/paper/*")
    parser.add_argument("--presets-only", action="store_true", help="only the presets' dry-runs")
    args = parser.parse_args()
    presets = sorted((REPO / "config" / "paper").glob("*.yaml"))
    if args.presets_only:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy2(REPO / "Snakefile", tmp)
            for folder in ("workflow", "config"):
                shutil.copytree(REPO / folder, Path(tmp) / folder)
            dry_run_ratios(presets, Path(tmp), args.repeats)
        return 0
    experiment = yaml.safe_load(args.config.read_text())["experiment"]
    workdir = args.workdir
    if args.run:
        workdir = Path(tempfile.mkdtemp(prefix="albench-overhead-"))
        shutil.copy2(REPO / "Snakefile", workdir)
        for folder in ("workflow", "config"):
            shutil.copytree(REPO / folder, workdir / folder)
        print(f"running {args.config} in {workdir} ...", flush=True)
        subprocess.run(
            [*SNAKEMAKE, "--cores", args.cores, "--configfile", str(args.config.resolve())]
            + (["--config", *args.set] if args.set else []),
            cwd=workdir,
            check=True,
        )

    rows = job_rows(workdir, experiment)
    if not rows:
        print(f"no finished training jobs of {experiment!r} under {workdir}", file=sys.stderr)
        return 1
    wall = sum(r["wall"] for r in rows)
    compute = sum(r["compute"] for r in rows)
    overheads = [r["wall"] - r["compute"] for r in rows]
    median_wall = statistics.median(r["wall"] for r in rows)
    counts = ", ".join(f"{rule} {sum(r['rule'] == rule for r in rows)}" for rule in RULES)
    print(f"{len(rows)} training jobs ({counts})")
    forked = sum(r["process"] == "warm fork" for r in rows)
    print(f"  started by the warm server   {forked} of {len(rows)} (the others: own process)")
    print(f"  sum of job wall times        {wall:9.1f} s")
    print(f"  sum of in-process compute    {compute:9.1f} s")
    print(
        f"  overhead (wall - compute)    {wall - compute:9.1f} s  = {100 * (wall - compute) / wall:.1f} % of job time"
    )
    print(f"  median job wall time         {median_wall:9.2f} s")
    print(
        f"  median per-job overhead      {statistics.median(overheads):9.2f} s  = "
        f"{100 * statistics.median(overheads) / median_wall:.1f} % of the median job (target <= 15 %)"
    )

    version = timed([*SNAKEMAKE, "--version"], workdir, args.repeats)
    dry = timed(
        [*SNAKEMAKE, "-n", "--configfile", str(args.config.resolve())], workdir, args.repeats
    )
    print(
        f"  DAG parse: snakemake -n {dry:.2f} s vs snakemake --version {version:.2f} s "
        f"= {dry / version:.2f}x (median of {args.repeats})"
    )
    if args.presets:
        dry_run_ratios(presets, workdir, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
