rule simulate:
    """One transient run: domain x climate x parameter sample, moved by the driver instructor,
    every instructor evaluated on each snapshot; written to its own file, atomically: one
    chunk of the data, which an interrupted generation keeps and resumes from."""
    input:
        f"{DATA}/geometries/{{domain}}.nc",
    output:
        f"{DATA}/runs/{{domain}}/{{climate}}/p{{sample}}.nc",
    params:
        climate=lambda wc: config["climates"][wc.climate],
        parameters=config["parameters"],
        instructors=config["instructors"],
        driver=config["driver"],
        simulation=config["simulation"],
        seed=config["seed"],
    log:
        f"{RESULTS}/logs/simulate/{{domain}}_{{climate}}_p{{sample}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/simulate/{{domain}}_{{climate}}_p{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/simulate.py"
