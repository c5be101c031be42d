"""The config schema, glacier/resources/config.schema.yaml, and the defaults it declares.

The schema is the one place where config defaults are written: the Snakefile validates every
config against it (which fills the defaults in), and library code that needs one of them
(``glacier.evolve.EvolveSettings``, ``emulator.config.TrainConfig``, ``icebench evolve``)
reads it with ``defaults``.
"""

import copy
from functools import cache
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parent / "resources" / "config.schema.yaml"


@cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def defaults(section: str) -> dict:
    """The defaults that the schema declares for the keys of the config section ``section``
    (e.g. ``simulation``, ``training``), as a new dict; for a section that maps names to
    entries (``climates``), those of one entry."""
    spec = _schema()["properties"][section]
    properties = spec["properties"] if "properties" in spec else \
        spec["additionalProperties"]["properties"]
    return {key: copy.deepcopy(prop["default"]) for key, prop in properties.items()
            if "default" in prop}
