"""Firedrake really solves here: a nonlinear SNES problem and a Stokes problem on an
ExtrudedMesh, serially and under ``mpiexec -n 2`` (see tests/firedrake_smoke.py)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("firedrake_smoke.py")


def _run(ranks: int) -> dict:
    cmd = [sys.executable, str(SCRIPT)]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec")
        assert mpiexec, "mpiexec (OpenMPI) is missing: run scripts/install.sh"
        cmd = [mpiexec, "--oversubscribe", "-n", str(ranks)] + cmd
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2])
def test_firedrake_solves(ranks):
    r = _run(ranks)
    assert r["ranks"] == ranks
    assert list(r["petsc"][:2]) == [3, 26]
    # Newton converges (positive SNES reason) in a handful of steps on a smooth problem
    assert all(reason > 0 for reason in r["snes_reasons"])
    assert all(1 <= it <= 8 for it in r["snes_iterations"])
    # P2 on a uniform mesh: L2 error O(h^3); the observed rate between h = 1/8 and 1/16
    assert 2.7 < r["poisson_rate"] < 3.3
    # Q2 velocity holds the Poiseuille profile exactly: error at solver tolerance
    assert r["stokes_velocity_rel_error"] < 1e-8
    assert r["stokes_grad_p_error"] < 1e-7
