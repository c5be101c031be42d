from glacier.dataset import DATA_KEYS, START, data_files

DATA_CONFIG = {key: config[key] for key in DATA_KEYS}

DATA_FILES = data_files(config, DATA)
"""Every file of the generation, keyed (domain, climate, sample): the runs and the start-state
samples (climate START)."""


rule assemble:
    """All runs and start states -> one Zarr store per instructor (non-converged snapshots and, unless
    assembly.keep_border_ice, those with ice on the domain border left out and counted), split
    by glacier, with normalisation statistics and a content hash."""
    input:
        [str(path) for path in DATA_FILES.values()],
    output:
        directory(f"{DATA}/data/{{instructor}}.zarr"),
    params:
        data=DATA_CONFIG,
        files=[list(key) for key in DATA_FILES],
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
    """Text summary, sample figure and coverage figure (histograms over the ice per split and
    held-out glacier) of one store (for the report and the model card)."""
    input:
        f"{DATA}/data/{{instructor}}.zarr",
    output:
        summary=f"{RESULTS}/data/{{instructor}}_summary.txt",
        figure=report(
            f"{RESULTS}/data/{{instructor}}_samples.png",
            category="Data",
            caption="../report/samples.rst",
        ),
        coverage=report(
            f"{RESULTS}/data/{{instructor}}_coverage.png",
            category="Data",
            caption="../report/coverage.rst",
        ),
    log:
        f"{RESULTS}/logs/inspect/{{instructor}}.log",
    script:
        "../scripts/inspect_data.py"


rule data:
    """Target: both instructors' datasets and their summaries."""
    input:
        expand(f"{RESULTS}/data/{{instructor}}_summary.txt", instructor=INSTRUCTORS),


rule starts:
    """Target: the start-state samples alone (``start_states``), the cheap part of the data; a
    store of them is ``icebench data assemble`` of what exists."""
    input:
        [str(path) for key, path in DATA_FILES.items() if key[1] == START],
