"""The install files agree: environment.yml's pip section is requirements/stack.txt; the
Makefile runs scripts/install.sh quietly, and a failed install stage names the stage and the log."""

import os
import subprocess
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


# ---- scripts/install.sh and the Makefile: a quiet install that names its log on failure ----
INSTALL = ROOT / "scripts" / "install.sh"


def test_install_script_parses():
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)


def test_makefile_runs_the_install_quietly_before_run_and_test():
    make = (ROOT / "Makefile").read_text()
    assert "install:\n\t@bash scripts/install.sh\n" in make  # no echo of the command by make
    for target in ("run", "test"):
        assert f"\n{target}: install\n" in make


def _stages(tmp_path, script):
    """Source install.sh (defines the stages, runs nothing) and run `script` in that shell."""
    log = tmp_path / "install.log"
    code = f'source "{INSTALL}"\nLOG="{log}"; : >"$LOG"; PROGRESS_EVERY=0.3\n{script}\n'
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "ICEBENCH_ENV": str(tmp_path / "env")})
    return out, log


def test_stage_output_goes_to_the_log_and_one_line_to_the_terminal(tmp_path):
    out, log = _stages(tmp_path, 'demo() { echo "compiling foo.c"; sleep 3; }\n'
                                 'stage demo "demo stage" demo')
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1].startswith("[install] demo stage") and lines[-1].endswith(" s")
    # while it runs: a progress line with the log's last line
    assert any("demo stage:" in line and "compiling foo.c" in line for line in lines[:-1])
    assert "compiling foo.c" not in lines[-1]
    assert "compiling foo.c" in log.read_text()
    assert out.stderr == ""


def test_failed_stage_names_itself_and_the_log(tmp_path):
    broken = "bash -c 'echo \"error: no cc\"; exit 3'"
    out, log = _stages(tmp_path, f"stage ok 'first stage' true\nstage bad 'broken stage' {broken}\n"
                                 "echo never here")
    assert out.returncode == 3
    assert "FAILED: broken stage" in out.stdout
    assert f"full log: {log}" in out.stdout
    assert "    error: no cc" in out.stdout  # the log's last lines, indented
    assert "never here" not in out.stdout
