# albench: the active-learning benchmark as a DAG.
#   prepare data -> build pool + initial set -> one job per AL cycle -> full-pool reference
#   -> aggregate -> report (figures, tables, statistics).  Config: config/config.yaml (override with --configfile).
from snakemake.utils import min_version

min_version("9.0")


# No --configfile: config/config.yaml, with any `--config key=value` layered over it.
# `--configfile other.yaml` replaces the default file (an empty one is an error, not the default).
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/cycle.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


# Local runs: one server keeps PyTorch imported and forks each training job from it
# (albench.warm; same results, ~1.5 s less per job). ALBENCH_WARM=0 turns it off.
onstart:
    start_warm_server()


rule all:
    default_target: True
    input:
        get_final_output(),
