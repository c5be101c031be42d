# Century runs (issue 21): held-out glaciers evolved for evaluation.century_years under a warming
# climate by every driver (instructors and emulators) with the data's velocity-renewal schedule,
# in resumable chunks under DATA/century/, then compared with the reference driver. Target:
# `snakemake --cores N century`. Uses the globals of the Snakefile, EVALUATION of evaluate.smk
# (with the derived defaults of the century keys), shift_ela and instructor_spec of simulate.smk.

CENTURY_CLIMATE = EVALUATION["century_climate"]
CENTURY_DOMAINS = EVALUATION["century_domains"]
CENTURY_DRIVERS = EVALUATION["century_drivers"]
CENTURY_REFERENCE = EVALUATION["century_reference"]
CENTURY_SETTINGS = {
    **{k: config["simulation"][k] for k in ("cfl", "dt_max", "velocity_interval",
                                            "velocity_displacement")},
    "years": EVALUATION["century_years"],
    "output_interval": EVALUATION["century_output_interval"],
}
"""The evolve settings of every century run: the data's time stepping and velocity renewal."""


def century_instructor(driver):
    """The instructor a century driver is, or whose emulator it is."""
    return driver.removeprefix("emulator_")


for _driver in CENTURY_DRIVERS:
    if century_instructor(_driver) not in INSTRUCTORS:
        raise ValueError(
            f"evaluation.century_drivers: '{_driver}' is neither an instructor {INSTRUCTORS} "
            "nor emulator_<instructor>"
        )
if CENTURY_REFERENCE not in CENTURY_DRIVERS:
    raise ValueError(
        f"evaluation.century_reference '{CENTURY_REFERENCE}' is not among the century drivers "
        f"{CENTURY_DRIVERS}"
    )


rule century_run:
    """One held-out glacier evolved by one driver from the last snapshot of its first run of
    the century climate, the ELA rising from there; written in chunks to a partial file that
    an interrupted run resumes from, moved into place when complete."""
    input:
        run=f"{DATA}/runs/{{domain}}/{CENTURY_CLIMATE}/p0.nc",
        model=lambda wc: (
            [f"{RESULTS}/models/{century_instructor(wc.driver)}"]
            if wc.driver.startswith("emulator_")
            else []
        ),
    output:
        f"{DATA}/century/{{domain}}/{{driver}}.nc",
    params:
        instructor=lambda wc: (
            None  # an emulator: its model file is the input
            if wc.driver.startswith("emulator_")
            else instructor_spec(wc.driver)
        ),
        climate=lambda wc: shift_ela(
            config["climates"][CENTURY_CLIMATE], config["domains"][wc.domain]["ela_offset"]
        ),
        ela_rise=EVALUATION["century_ela_rise"],
        simulation=CENTURY_SETTINGS,
        chunk_years=EVALUATION["century_chunk_years"],
    log:
        f"{RESULTS}/logs/century/{{domain}}_{{driver}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/century/{{domain}}_{{driver}}.tsv"
    threads: 1
    resources:
        mem_mb=6000,
    script:
        "../scripts/century_run.py"


rule century_compare:
    """One glacier's century runs against the reference driver's: the table (wall time and
    speed-ups beside volume, area and thickness differences), the numbers and the figure."""
    input:
        runs=expand(f"{DATA}/century/{{{{domain}}}}/{{driver}}.nc", driver=CENTURY_DRIVERS),
    output:
        numbers=f"{RESULTS}/eval/century/{{domain}}.json",
        table=f"{RESULTS}/eval/century/{{domain}}.md",
        figure=report(
            f"{RESULTS}/eval/century/{{domain}}.png",
            category="Century runs",
            caption="../report/century.rst",
        ),
    params:
        drivers=CENTURY_DRIVERS,
        reference=CENTURY_REFERENCE,
    log:
        f"{RESULTS}/logs/century/{{domain}}_compare.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/century_compare.py"


rule century:
    """Target: the century runs and comparisons of every chosen held-out glacier."""
    input:
        expand(f"{RESULTS}/eval/century/{{domain}}.md", domain=CENTURY_DOMAINS),
