# icebench: topographies -> transient runs with the instructors -> Zarr training sets ->
# CNN emulators (MLflow) -> scores, speed-ups, summary -> published emulator library.
# Run: snakemake --cores 2  (config/config.yaml, the small embedded default)
import os

from snakemake.utils import min_version, validate

min_version("9.0")


if not config:  # --configfile replaces the default instead of merging into it

    configfile: "config/config.yaml"


validate(config, "glacier/resources/config.schema.yaml")  # also fills in the schema's defaults

RESULTS = config["results_dir"]
DATA = os.path.expanduser(config["data_dir"] or RESULTS)
"""Where the geometries, runs/ and the stores (data/) go: the config's data_dir, which may lie
outside the work tree, or results_dir."""
DOMAINS = sorted(config["domains"])
CLIMATES = sorted(config["climates"])
INSTRUCTORS = sorted(config["instructors"])


include: "workflow/rules/geometries.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/assemble.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/century.smk"


rule all:
    input:
        rules.data.input,
        expand(f"{RESULTS}/published/{{instructor}}.json", instructor=INSTRUCTORS),
        rules.evaluation.input,
