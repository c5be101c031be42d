rule simulate:
    """Grow a glacier on one domain under one climate with the configured flow model; the
    run's snapshots (state + velocities) go to their own file."""
    input:
        f"{RESULTS}/geometries/{{domain}}.nc",
    output:
        f"{RESULTS}/simulations/{{domain}}/{{climate}}.nc",
    params:
        climate=lambda wc: config["climates"][wc.climate],
        simulation=config["simulation"],
    log:
        f"{RESULTS}/logs/simulate/{{domain}}_{{climate}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/simulate/{{domain}}_{{climate}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/simulate.py"


rule simulation_summary:
    """One line per run: domain, climate, final volume and area, max thickness and speed."""
    input:
        expand(f"{RESULTS}/simulations/{{domain}}/{{climate}}.nc", domain=DOMAINS, climate=CLIMATES),
    output:
        f"{RESULTS}/simulations/summary.csv",
    log:
        f"{RESULTS}/logs/simulation_summary.log",
    script:
        "../scripts/summarise_simulations.py"
