rule geometry:
    """One glacier domain (ice-free bed) on the configured grid, from a real topography window
    or a seeded synthetic bed (valley, cirque, ice cap, dome)."""
    output:
        f"{DATA}/geometries/{{domain}}.nc",
    params:
        spec=lambda wc: {
            k: v
            for k, v in config["domains"][wc.domain].items()
            if k not in ("ela_offset", "years", "runs")  # simulate's and assemble's
        },
        grid=config["grid"],
    log:
        f"{RESULTS}/logs/geometry/{{domain}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/geometry/{{domain}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/make_geometry.py"
