from glacier.datagen import draw_estimate
from glacier.dataset import START_DRAWS
from glacier.smb import shift_ela


def instructor_spec(name):
    """An instructor's config without its domains list: an edit of that list reruns only the
    jobs of the domains it adds or removes."""
    return {k: v for k, v in config["instructors"][name].items() if k != "domains"}


def domain_instructors(domain):
    """The instructors that solve ``domain``, each as ``instructor_spec`` gives it."""
    return {
        name: instructor_spec(name)
        for name, spec in config["instructors"].items()
        if name == config["driver"] or domain in spec.get("domains", DOMAINS)
    }


def start_estimate(domain, sample):
    """The thickness-estimate keywords of a start sample on a bed of its own, drawn from
    ``start_thickness``; None for the first ``start_states`` samples (the geometry's own bed), so
    that an edit of ``start_thickness`` reruns only the samples it draws."""
    if sample < config["start_states"]:
        return None
    spec = config["domains"][domain]["estimate"]  # present: glacier/dataset.py start_domains
    return draw_estimate(config["start_thickness"], spec, config["seed"], domain, sample)


rule simulate:
    """One transient run: domain x climate x parameter sample, moved by the driver instructor,
    every instructor evaluated on each snapshot; written to its own file, atomically: one
    chunk of the data, which an interrupted generation keeps and resumes from."""
    input:
        f"{DATA}/geometries/{{domain}}.nc",
    output:
        f"{DATA}/runs/{{domain}}/{{climate}}/p{{sample}}.nc",
    params:
        climate=lambda wc: shift_ela(
            config["climates"][wc.climate], config["domains"][wc.domain]["ela_offset"]
        ),
        parameters=config["parameters"],
        instructors=lambda wc: domain_instructors(wc.domain),
        driver=config["driver"],
        simulation=lambda wc: {
            **config["simulation"],
            "years": config["domains"][wc.domain].get("years", config["simulation"]["years"]),
        },
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


rule start_state:
    """One start-state sample of a glacier of estimated thickness: the state as the
    geometry gives it (samples k >= start_states: on a bed estimated again, ``thickness``), under
    an A and c of its own (parameter draw START_DRAWS + k), solved once by every instructor of
    the domain, with no evolution."""
    input:
        f"{DATA}/geometries/{{domain}}.nc",
    output:
        f"{DATA}/starts/{{domain}}/p{{sample}}.nc",
    params:
        parameters=config["parameters"],
        instructors=lambda wc: domain_instructors(wc.domain),
        driver=config["driver"],
        seed=config["seed"],
        draw=lambda wc: START_DRAWS + int(wc.sample),
        thickness=lambda wc: start_estimate(wc.domain, int(wc.sample)),
    log:
        f"{RESULTS}/logs/start_state/{{domain}}_p{{sample}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/start_state/{{domain}}_p{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/start_state.py"
