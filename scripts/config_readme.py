"""Write config/README.md, the reference of every config key, from the workflow's schema.

The schema (workflow/schemas/config.schema.yaml) is the one place config keys are described;
this renders it for the Snakemake workflow catalog's standardized usage. A test fails when
config/README.md is out of date:  python scripts/config_readme.py  (rewrites it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
TARGET = REPO / "config" / "README.md"

HEADER = """# Configuration

`config/config.yaml` is the default benchmark (`make run`); `config/smoke.yaml` the offline
smoke test; `config/paper/*.yaml` the papers' GPU protocols. Run another file with
`snakemake --configfile path.yaml` (it replaces the default), or change single keys of the
default with `snakemake --config key=value` (nested: `--config 'datasets={fashion_mnist:
{cycles: 2}}'`). Every key is validated before any job runs; the table below is generated
from `workflow/schemas/config.schema.yaml` by `scripts/config_readme.py`.
"""


def _type(spec: dict) -> str:
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "$ref" in spec:
        return "mapping (see `" + spec["$ref"].rsplit("/", 1)[-1] + "` below)"
    kind = spec.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _rows(properties: dict, prefix: str) -> list[str]:
    rows = []
    for key, spec in properties.items():
        default = f"`{spec['default']}`" if "default" in spec else ""
        text = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
        rows.append(f"| `{prefix}{key}` | {_type(spec)} | {default} | {text} |")
    return rows


def render() -> str:
    schema = yaml.safe_load(SCHEMA.read_text())
    table = ["| key | type | default | meaning |", "|---|---|---|---|"]
    top = dict(schema["properties"])
    datasets = top.pop("datasets")
    table += _rows(top, "")
    sections = [HEADER, "## Top level\n", *table, ""]
    entry = datasets["additionalProperties"]["properties"]
    sections += ["## `datasets.<name>`\n", table[0], table[1], *_rows(entry, ""), ""]
    for name, section in (("report", top.get("report")),):
        if section and "properties" in section:
            sections += [f"## `{name}`\n", table[0], table[1], *_rows(section["properties"], "")]
            sections.append("")
    train = schema["$defs"]["train"]["properties"]
    sections += ["## `train` (and `reference_train`)\n", table[0], table[1], *_rows(train, "")]
    return "\n".join(sections).rstrip("\n") + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET.relative_to(REPO)}\n")
