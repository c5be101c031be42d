rule geometry:
    """One glacier domain (ice-free bed) at the configured resolution, from a real topography
    window or a seeded synthetic valley."""
    output:
        f"{RESULTS}/geometries/{{domain}}.nc",
    params:
        spec=lambda wc: config["domains"][wc.domain],
        resolution=config["resolution"],
    log:
        f"{RESULTS}/logs/geometry/{{domain}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/geometry/{{domain}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/make_geometry.py"
