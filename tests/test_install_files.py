"""The install files agree: environment.yml's pip section is requirements/stack.txt."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_pip_section_matches_stack():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    stack = [line.strip() for line in (ROOT / "requirements" / "stack.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert pip == stack


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
