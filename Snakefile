# icebench: topographies -> glaciers grown by a flow model (the instructors' training runs).
# Run: snakemake --cores 2  (config/config.yaml, the small embedded default)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

RESULTS = config["results_dir"]
DOMAINS = sorted(config["domains"])
CLIMATES = sorted(config["climates"])


include: "workflow/rules/geometries.smk"
include: "workflow/rules/simulate.smk"


rule all:
    input:
        f"{RESULTS}/simulations/summary.csv",
