# Validation, wildcard constraints and input helpers. No rules here.
import sys
from pathlib import Path

from snakemake.utils import validate

from albench.config import Config, config_hash
from albench.cycle import cycle_settings, run_config_hash
from albench.layout import format_ratio
from albench.plan import check_config

validate(config, schema="../schemas/config.schema.yaml")
ALBENCH_CONFIG = Config.from_dict(config)
PLANS = check_config(ALBENCH_CONFIG)
EXPERIMENT = ALBENCH_CONFIG.experiment
CACHE = ALBENCH_CONFIG.cache_dir
SETTINGS = {name: cycle_settings(ALBENCH_CONFIG, name) for name in ALBENCH_CONFIG.datasets}
RESULTS = "results"
CLI_SCRIPT = Path(workflow.basedir) / "workflow" / "scripts" / "albench_cli.py"


def uses_conda():
    try:
        from snakemake_interface_executor_plugins.settings import DeploymentMethod

        return DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    except (ImportError, AttributeError):
        return False


# Outside conda envs, jobs use the interpreter that runs Snakemake (the project venv).
# A list, so that `{params.cli:q}` in a shell line quotes each word.
ALBENCH = ["python" if uses_conda() else sys.executable, str(CLI_SCRIPT)]


wildcard_constraints:
    experiment=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    dataset=r"[A-Za-z0-9_]+",
    ir=r"[0-9]+(\.[0-9]+)?",
    sampler=r"[a-z0-9_]+",
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


def setting_root():
    return f"{RESULTS}/{{experiment}}/{{dataset}}/ir{{ir}}/seed{{seed}}"


def get_settings(wildcards):
    return SETTINGS[wildcards.dataset]


def get_labeled(wildcards):
    """Cycle 0 starts from the shared initial set; cycle k from cycle k-1's query."""
    root = f"{RESULTS}/{wildcards.experiment}/{wildcards.dataset}/ir{wildcards.ir}/seed{wildcards.seed}"
    cycle = int(wildcards.cycle)
    if cycle == 0:
        return f"{root}/initial.json"
    return f"{root}/{wildcards.sampler}/cycle{cycle - 1}/labeled_next.json"


def get_checkpoint(wildcards):
    """With warm_start, cycle k also needs cycle k-1's weights."""
    cycle = int(wildcards.cycle)
    if cycle == 0 or not get_settings(wildcards).warm_start:
        return []
    root = f"{RESULTS}/{wildcards.experiment}/{wildcards.dataset}/ir{wildcards.ir}/seed{wildcards.seed}"
    return f"{root}/{wildcards.sampler}/cycle{cycle - 1}/model.safetensors"


def get_checkpoint_flag(wildcards, input):
    """``--checkpoint PATH`` as a list of words (empty without warm start), for ``:q``."""
    return ["--checkpoint", str(input.checkpoint)] if input.get("checkpoint") else []


def get_run_hash(wildcards):
    """Changes when any config value that can change this run changes (a rerun trigger)."""
    return run_config_hash(ALBENCH_CONFIG, wildcards.dataset, wildcards.get("sampler"))


def get_pool_hash(wildcards):
    return config_hash(
        {key: config["datasets"][wildcards.dataset].get(key) for key in ("pool", "initial")}
    )


def get_final_output():
    """The aggregate tables, and every run they summarise.

    Listing each run as a target (not only through the aggregate) makes Snakemake
    regenerate a run whose outputs were deleted, even though the tables downstream
    of it are still present (Snakemake skips missing intermediates otherwise).
    """
    return [
        f"{RESULTS}/{EXPERIMENT}/summary/cycles.csv",
        f"{RESULTS}/{EXPERIMENT}/summary/reference.csv",
        *REPORT_TARGETS,
        *cycle_metrics(EXPERIMENT),
        *reference_metrics(EXPERIMENT),
    ]


def all_cycle_metrics(wildcards):
    return cycle_metrics(wildcards.experiment)


def all_reference_metrics(wildcards):
    return reference_metrics(wildcards.experiment)


def cycle_metrics(experiment):
    return [
        f"{RESULTS}/{experiment}/{dataset}/ir{format_ratio(ir)}/seed{seed}/{sampler}/cycle{cycle}/metrics.json"
        for dataset, dcfg in ALBENCH_CONFIG.datasets.items()
        for ir in dcfg.imbalance_ratios
        for seed in ALBENCH_CONFIG.seeds
        for sampler in ALBENCH_CONFIG.samplers
        for cycle in range(SETTINGS[dataset].cycles)
    ]


def reference_metrics(experiment):
    return [
        f"{RESULTS}/{experiment}/{dataset}/ir{format_ratio(ir)}/seed{seed}/full/metrics.json"
        for dataset, dcfg in ALBENCH_CONFIG.datasets.items()
        for ir in dcfg.imbalance_ratios
        for seed in ALBENCH_CONFIG.seeds
    ]
