# Validation, wildcard constraints and input helpers. No rules here.
# Paths come from albench.layout and the run grid from albench.plan; neither imports torch.
import functools
import os
import sys
from pathlib import Path

from snakemake.utils import validate

from albench import layout
from albench.config import Config, config_hash
from albench.layout import RunKey
from albench.plan import (
    check_config,
    cycle_runs,
    reference_runs,
    run_hash,
    shared_training_of,
    shared_trainings,
)

if workflow.is_main_process:  # a run killed with SIGKILL left its lock: clear it (see module)
    from albench.workflow_lock import clear_stale_lock

    clear_stale_lock(Path.cwd())

if workflow.config_settings.config:  # --config key=value: typed like the YAML file's values
    from snakemake.utils import update_config

    from albench.config import typed_overrides

    update_config(config, typed_overrides(workflow.config_settings.config))

validate(config, schema="../schemas/config.schema.yaml")
ALBENCH_CONFIG = Config.from_dict(config)
PLANS = check_config(ALBENCH_CONFIG)
EXPERIMENT = ALBENCH_CONFIG.experiment
CACHE = ALBENCH_CONFIG.cache_dir
RESULTS = layout.RESULTS
CLI_SCRIPT = Path(workflow.basedir) / "workflow" / "scripts" / "albench_cli.py"
# Job env of the torch rules under --sdm conda: the CPU or the CUDA build (config conda_torch).
TRAIN_ENV = f"../envs/train-{ALBENCH_CONFIG.conda_torch}.yaml"


def uses_conda():
    try:
        from snakemake_interface_executor_plugins.settings import DeploymentMethod

        return DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    except (ImportError, AttributeError):
        return False


def limit_gpu_jobs():
    """Local runs on a GPU machine: at most GPUs x gpu_slots_per_device GPU jobs at once.

    Snakemake enforces the training rules' ``gpu`` resource locally only under a global
    limit, so the limit is set here from the GPUs found now (albench.gpu_slots, torch-free),
    and the jobs are told where their slot lock files are, so each runs on its own GPU.
    A ``--resources gpu=N`` on the command line (or in a profile) wins. No GPU, a CPU
    device or the CPU PyTorch build of --sdm conda: no limit, nothing changes.
    """
    if not (workflow.is_main_process and workflow.local_exec):
        return
    if "gpu" in workflow.global_resources:
        return
    if uses_conda() and ALBENCH_CONFIG.conda_torch == "cpu":
        return
    from albench import gpu_slots

    slots = ALBENCH_CONFIG.gpu_slots_per_device
    limit = gpu_slots.local_gpu_limit(ALBENCH_CONFIG.device, slots)
    if limit is None:
        return
    workflow.register_resource("gpu", limit)
    os.environ[gpu_slots.SLOTS_DIR_ENV] = str(gpu_slots.slots_dir(Path.cwd().absolute()))
    print(
        f"albench: at most {limit} GPU job(s) at once ({limit // slots} GPU(s) x "
        f"gpu_slots_per_device {slots}); --resources gpu=N overrides",
        file=sys.stderr,
    )


def start_warm_server():
    """For local runs outside conda envs: the warm-start server of albench.warm."""
    if workflow.is_main_process and workflow.local_exec and not uses_conda():
        from albench import warm

        warm.start_server(
            Path(".snakemake/albench/warm-server.log"),
            {name: "1" for name in warm.JOB_THREAD_ENV},  # shell() of a threads: 1 job
        )


# Outside conda envs, jobs use the interpreter that runs Snakemake (the project venv).
# A list, so that `{params.cli:q}` in a shell line quotes each word. The script's path is
# relative to the working directory: it is a rule parameter, and an absolute one would make
# Snakemake rerun every job after the project folder is moved or copied.
ALBENCH = [
    "python" if uses_conda() else sys.executable,
    os.path.relpath(CLI_SCRIPT),
]

limit_gpu_jobs()


wildcard_constraints:
    experiment=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    dataset=r"[A-Za-z0-9_]+",
    ir=r"[0-9]+(\.[0-9]+)?",
    sampler=r"[a-z][a-z0-9_]*",
    signature=r"[a-z][a-z0-9_]*",
    seed=r"[0-9]+",
    cycle=r"[0-9]+",


def write_effective_config():
    """The merged config (config file + --config overrides) every job reads; rewritten only on change."""
    import yaml

    from albench.io import write_text

    # Kept under .snakemake/ (not results/) so that results/<experiment>/ holds run outputs only.
    path = Path(".snakemake") / "albench" / f"{EXPERIMENT}.config.yaml"
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.exists() or path.read_text() != text:
        write_text(path, text)
    return str(path)


EFFECTIVE_CONFIG = write_effective_config()


def run_key(wildcards):
    """The RunKey of a job (a cycle, or the reference when there is no sampler wildcard)."""
    sampler = wildcards.get("sampler")
    cycle = int(wildcards.get("cycle", 0))
    return RunKey(wildcards.experiment, wildcards.dataset, float(wildcards.ir),
                  int(wildcards.seed), sampler, cycle)  # fmt: skip


def get_labeled(wildcards):
    """Cycle 0 starts from the shared initial set; cycle k from cycle k-1's query."""
    key = run_key(wildcards)
    if key.cycle == 0:
        return str(key.setting_dir(RESULTS) / "initial.json")
    return str(
        RunKey(**{**key.__dict__, "cycle": key.cycle - 1}).dir(RESULTS) / "labeled_next.json"
    )


def get_checkpoint(wildcards):
    """With warm_start, cycle k also needs cycle k-1's weights."""
    key = run_key(wildcards)
    if key.cycle == 0 or not ALBENCH_CONFIG.datasets[key.dataset].warm_start:
        return []
    return str(
        RunKey(**{**key.__dict__, "cycle": key.cycle - 1}).dir(RESULTS) / "model.safetensors"
    )


def get_cycle_inputs(wildcards):
    """The chained inputs of a cycle: labeled set, warm-start weights, shared cycle-0 training."""
    return {
        "labeled": get_labeled(wildcards),
        "checkpoint": get_checkpoint(wildcards),
        "initial_training": get_initial_training(wildcards),
    }


def get_checkpoint_flag(wildcards, input):
    """``--checkpoint PATH`` as a list of words (empty without warm start), for ``:q``."""
    return ["--checkpoint", str(input.checkpoint)] if input.get("checkpoint") else []


def get_initial_training(wildcards):
    """Cycle 0 of a sampler that shares its training loads the shared model and tracks."""
    key = run_key(wildcards)
    shared = shared_training_of(ALBENCH_CONFIG, key)
    if shared is None:
        return []
    folder = key.initial_training_dir(shared.signature, RESULTS)
    return [str(folder / name) for name in ("model.safetensors", "tracked.safetensors",
                                            "training.json")]  # fmt: skip


def get_initial_training_flag(wildcards, input):
    """``--initial-training DIR`` as a list of words (empty when the cycle trains itself)."""
    files = input.get("initial_training")
    return ["--initial-training", str(Path(files[0]).parent)] if files else []


def get_shared_hash(wildcards):
    """The shared training's rerun trigger: the hash of the first sampler of its group."""
    key = run_key(wildcards)
    group = next(s for s in SHARED_TRAININGS if s.dataset == key.dataset
                 and s.signature == wildcards.signature)  # fmt: skip
    sampler_key = RunKey(key.experiment, key.dataset, key.ir, key.seed, group.samplers[0], 0)
    return run_hash(ALBENCH_CONFIG, sampler_key) + ":" + ",".join(group.track_views)


def get_run_hash(wildcards):
    """Changes when any config value that can change this run changes (a rerun trigger)."""
    return run_hash(ALBENCH_CONFIG, run_key(wildcards))


def get_pool_hash(wildcards):
    return config_hash(
        {key: config["datasets"][wildcards.dataset].get(key) for key in ("pool", "initial")}
    )


def _setting_plan(dataset, ir):
    return next(p for p in PLANS if p.dataset == dataset and p.imbalance_ratio == float(ir))


def _image_shape(dataset):
    from albench.data import get_dataset_spec
    from albench.io import read_json

    meta = Path(CACHE) / dataset / "meta.json"
    if meta.exists():
        return tuple(read_json(meta)["splits"]["train"]["image_shape"])
    return get_dataset_spec(dataset, ALBENCH_CONFIG.custom_datasets).image_shape


def job_estimate(wildcards):
    """This job's runtime and memory (albench.estimate), from the preset's sizes."""
    reference = "sampler" not in wildcards.keys() and "signature" not in wildcards.keys()
    cycle = None if reference else int(wildcards.get("cycle", 0))
    return _estimate(wildcards.dataset, wildcards.ir, cycle)


@functools.cache  # one estimate per dataset x IR x cycle, not one per job and resource
def _estimate(dataset, ir, cycle):
    """``cycle`` None: the full-pool reference run."""
    from albench.estimate import job_estimate as estimate

    settings = ALBENCH_CONFIG.datasets[dataset]
    sizes = _setting_plan(dataset, ir)
    if cycle is None:
        labeled, scored, train = sizes.pool_size or 50_000, 0, settings.reference
    else:
        initial, budget = sizes.initial or 1_000, sizes.budget or 1_000
        labeled, scored, train = initial + cycle * budget, settings.subset, settings.train
    return estimate(settings, train, labeled, scored, _image_shape(dataset))


def get_runtime(wildcards, attempt):
    """Minutes of SLURM --time: the estimate, times the attempt number on a retry."""
    return job_estimate(wildcards).runtime_min * attempt


def get_mem_mb(wildcards, attempt):
    """MB of SLURM --mem: the estimate, times the attempt number on a retry."""
    return job_estimate(wildcards).mem_mb * attempt


def get_final_output():
    """The aggregate tables, the report, and every run they summarise.

    Listing each run as a target (not only through the aggregate) makes Snakemake
    regenerate a run whose outputs were deleted, even though the tables downstream
    of it are still present (Snakemake skips missing intermediates otherwise).
    """
    return [
        f"{RESULTS}/{EXPERIMENT}/summary/cycles.csv",
        f"{RESULTS}/{EXPERIMENT}/summary/reference.csv",
        *REPORT_TARGETS,
        *CYCLE_METRICS,
        *REFERENCE_METRICS,
    ]


SHARED_TRAININGS = shared_trainings(ALBENCH_CONFIG)
CYCLE_METRICS = [str(key.dir(RESULTS) / "metrics.json") for key in cycle_runs(ALBENCH_CONFIG)]
REFERENCE_METRICS = [
    str(key.dir(RESULTS) / "metrics.json") for key in reference_runs(ALBENCH_CONFIG)
]


# Seconds of work that a cluster submission would only delay: run where Snakemake runs.
localrules:
    build_pool,
    aggregate_cycles,
    make_report,
    report_available,
