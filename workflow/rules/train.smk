# Emulator training and publishing. Training works in RESULTS/training/<instructor> (not a
# declared output, so Snakemake never deletes it: a killed training resumes from its last
# checkpoint) and the finished folder is moved into RESULTS/models/<instructor> atomically.

TRACKING_URI = config["training"].get(
    "tracking_uri", f"sqlite:///{RESULTS}/mlflow/mlflow.db"
)
LIBRARY = config.get("library_dir", f"{RESULTS}/library")


rule mlflow_init:
    """Create the MLflow store once, so parallel trainings never race on its creation."""
    output:
        touch(f"{RESULTS}/mlflow/.initialised"),
    params:
        uri=TRACKING_URI,
    log:
        f"{RESULTS}/logs/mlflow_init.log",
    script:
        "../scripts/mlflow_init.py"


rule train:
    """Train the configured CNN on one instructor's store (MLflow run, checkpoints, resumable)."""
    input:
        store=f"{DATA}/data/{{instructor}}.zarr",
        tracking=rules.mlflow_init.output,
    output:
        directory(f"{RESULTS}/models/{{instructor}}"),
    params:
        training={**config["training"], "tracking_uri": TRACKING_URI},
        workdir=f"{RESULTS}/training/{{instructor}}",
    log:
        f"{RESULTS}/logs/train/{{instructor}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{instructor}}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/train.py"


rule publish:
    """A versioned bundle per emulator in the library: model, manifest, model card, IGM export."""
    input:
        model=f"{RESULTS}/models/{{instructor}}",
        store=f"{DATA}/data/{{instructor}}.zarr",
    output:
        f"{RESULTS}/published/{{instructor}}.json",
    params:
        library=LIBRARY,
    log:
        f"{RESULTS}/logs/publish/{{instructor}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/publish/{{instructor}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/publish.py"
