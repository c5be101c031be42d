# Evaluation: fidelity of each emulator on its instructor's test split (per glacier, with error
# maps), the cross-instructor row, transient fidelity, the speed benchmark and results/summary.md.
# Uses the Snakefile's globals RESULTS, DATA, INSTRUCTORS, CLIMATES and config (its defaults filled in
# from the schema) and DATA_CONFIG of assemble.smk; the emulators are read from
# RESULTS/models/<instructor> (the training rules write them there), and shift_ela of simulate.smk.

DERIVED = {
    "transient_instructors": [config["driver"]],
    "transient_domains": sorted(config["splits"]["test"]),
    "transient_years": None,  # each domain's run length (rule transient)
    "transient_climate": CLIMATES[0],
    "speed_domain": config["splits"]["test"][0],
    "century_domains": sorted(config["splits"]["test"]),
    "century_drivers": INSTRUCTORS + [f"emulator_{i}" for i in INSTRUCTORS],
    "century_reference": "stokes" if "stokes" in INSTRUCTORS else config["driver"],
    "century_climate": config["evaluation"]["transient_climate"] or CLIMATES[0],
}
"""What the null defaults of the schema's evaluation section stand for."""
EVALUATION = {
    key: DERIVED[key] if value is None else value for key, value in config["evaluation"].items()
}
SCORE_CONFIG = {**DATA_CONFIG, "training": config["training"]}
"""The config slice a score is made from (the store's data, the emulator's training): the scores
record it as provenance, so an evaluation edit leaves them up to date."""
SUMMARY_CONFIG = {**SCORE_CONFIG, "evaluation": EVALUATION}
TEST_DOMAINS = sorted(config["splits"]["test"])
CROSS_PAIRS = (
    [(i, "stokes") for i in INSTRUCTORS if i != "stokes"] if "stokes" in INSTRUCTORS else []
)


rule score:
    """The emulator of one instructor against the instructor's velocities on the test split,
    per glacier and field, with error maps of each test glacier's latest snapshot."""
    input:
        store=f"{DATA}/data/{{instructor}}.zarr",
        model=f"{RESULTS}/models/{{instructor}}",
    output:
        scores=f"{RESULTS}/eval/score/{{instructor}}.json",
        table=report(
            f"{RESULTS}/eval/score/{{instructor}}.csv",
            category="Evaluation",
            subcategory="Fidelity",
            caption="../report/score.rst",
        ),
        maps=[
            report(
                f"{RESULTS}/eval/maps/{{instructor}}/{domain}.png",
                category="Evaluation",
                subcategory="Error maps",
                caption="../report/error_maps.rst",
            )
            for domain in TEST_DOMAINS
        ],
    params:
        domains=TEST_DOMAINS,
        config=SCORE_CONFIG,
    log:
        f"{RESULTS}/logs/eval/score_{{instructor}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval/score_{{instructor}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/eval_score.py"


rule cross_instructor:
    """One instructor against another (e.g. hybrid against Stokes) on the very same test
    snapshots: how much the physics differs, beside the emulator error."""
    input:
        store=f"{DATA}/data/{{model}}.zarr",
        reference=f"{DATA}/data/{{reference}}.zarr",
    output:
        scores=f"{RESULTS}/eval/cross/{{reference}}/{{model}}.json",
        table=report(
            f"{RESULTS}/eval/cross/{{reference}}/{{model}}.csv",
            category="Evaluation",
            subcategory="Fidelity",
            caption="../report/cross_instructor.rst",
        ),
    params:
        config=DATA_CONFIG,
    log:
        f"{RESULTS}/logs/eval/cross_{{model}}_vs_{{reference}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval/cross_{{model}}_vs_{{reference}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/eval_cross.py"


rule transient:
    """On one held-out glacier, the emulator and its instructor evolve the same initial state
    (the first snapshot of the glacier's first run) under the same climate (shifted by the
    domain's ela_offset) for the same years: volume, area and thickness compared, both runs
    timed."""
    input:
        run=f"{DATA}/runs/{{domain}}/{EVALUATION['transient_climate']}/p0.nc",
        model=f"{RESULTS}/models/{{instructor}}",
    output:
        numbers=f"{RESULTS}/eval/transient/{{instructor}}/{{domain}}.json",
        volume=report(
            f"{RESULTS}/eval/transient/{{instructor}}/{{domain}}_volume.png",
            category="Evaluation",
            subcategory="Transient",
            caption="../report/transient.rst",
        ),
        thickness=report(
            f"{RESULTS}/eval/transient/{{instructor}}/{{domain}}_thickness.png",
            category="Evaluation",
            subcategory="Transient",
            caption="../report/transient_thickness.rst",
        ),
    params:
        instructor=lambda wc: config["instructors"][wc.instructor],
        climate=lambda wc: shift_ela(
            config["climates"][EVALUATION["transient_climate"]],
            config["domains"][wc.domain]["ela_offset"],
        ),
        simulation=lambda wc: {
            **config["simulation"],
            "years": EVALUATION["transient_years"]
            or config["domains"][wc.domain].get("years", config["simulation"]["years"]),
        },
    log:
        f"{RESULTS}/logs/eval/transient_{{instructor}}_{{domain}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval/transient_{{instructor}}_{{domain}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/eval_transient.py"


rule speed:
    """Wall time of one velocity field of every instructor and emulator over a ladder of grid
    sizes (the latest snapshot of a test glacier, resampled), speed-ups, emulator FLOP/s
    against sgemm. Takes every core so that no other job runs beside the timings."""
    input:
        run=f"{DATA}/runs/{EVALUATION['speed_domain']}/{CLIMATES[0]}/p0.nc",
        models=expand(f"{RESULTS}/models/{{instructor}}", instructor=INSTRUCTORS),
    output:
        results=f"{RESULTS}/bench/speed.json",
        plot=report(
            f"{RESULTS}/bench/speed.png",
            category="Speed",
            caption="../report/speed.rst",
        ),
    params:
        instructors={i: config["instructors"][i] for i in INSTRUCTORS},
        sizes=EVALUATION["speed_sizes"],
        repeats=EVALUATION["speed_repeats"],
        max_size=EVALUATION["speed_max_size"],
    log:
        f"{RESULTS}/logs/eval/speed.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval/speed.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/eval_speed.py"


rule summary:
    """results/summary.md: datasets, fidelity, transient, speed and provenance in one file."""
    input:
        datasets=expand(f"{RESULTS}/data/{{instructor}}_summary.txt", instructor=INSTRUCTORS),
        scores=expand(f"{RESULTS}/eval/score/{{instructor}}.json", instructor=INSTRUCTORS),
        cross=[f"{RESULTS}/eval/cross/{ref}/{model}.json" for model, ref in CROSS_PAIRS],
        transient=expand(
            f"{RESULTS}/eval/transient/{{instructor}}/{{domain}}.json",
            instructor=EVALUATION["transient_instructors"],
            domain=EVALUATION["transient_domains"],
        ),
        speed=f"{RESULTS}/bench/speed.json",
    output:
        report(f"{RESULTS}/summary.md", category="Summary", caption="../report/summary.rst"),
    params:
        config=SUMMARY_CONFIG,
    log:
        f"{RESULTS}/logs/eval/summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval/summary.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/eval_summary.py"


rule evaluation:
    """Target: every evaluation output and the summary."""
    input:
        rules.summary.output,
