RUNS = expand(
    f"{RESULTS}/runs/{{domain}}/{{climate}}/p{{sample}}.nc",
    domain=DOMAINS,
    climate=CLIMATES,
    sample=SAMPLES,
)


rule assemble:
    """All runs -> one Zarr store per instructor (non-converged snapshots left out and counted),
    split by glacier, with normalisation statistics and a content hash."""
    input:
        RUNS,
    output:
        directory(f"{RESULTS}/data/{{instructor}}.zarr"),
    params:
        config=config,
    log:
        f"{RESULTS}/logs/assemble/{{instructor}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/assemble/{{instructor}}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    script:
        "../scripts/assemble.py"


rule inspect_data:
    """Text summary and sample figure of one store (for the report)."""
    input:
        f"{RESULTS}/data/{{instructor}}.zarr",
    output:
        summary=f"{RESULTS}/data/{{instructor}}_summary.txt",
        figure=report(
            f"{RESULTS}/data/{{instructor}}_samples.png",
            category="Data",
            caption="../report/samples.rst",
        ),
    log:
        f"{RESULTS}/logs/inspect/{{instructor}}.log",
    script:
        "../scripts/inspect_data.py"


rule data:
    """Target: both instructors' datasets and their summaries."""
    input:
        expand(f"{RESULTS}/data/{{instructor}}_summary.txt", instructor=INSTRUCTORS),
