"""evaluation/bench_resolution.py and evaluation/error_scales.py: the instructors against
themselves refined, and the grid-scale share of a velocity field."""

import numpy as np

from emulator.testing_data import build_sia_store
from evaluation.bench_resolution import coarsened, refined_state, rows
from evaluation.error_scales import smoothed, table
from glacier.fields import VELOCITY_FIELDS, make_state
from glacier.geometry import halfar_state


def _dome(nx=10):
    """A Halfar dome (up to 300 m on a flat bed, 10 x 10 cells of 200 m) that slides."""
    dome = halfar_state(nx, 1000.0, 300.0, 800.0, 78.0)
    ones = np.ones(dome.thk.shape)
    return make_state(dome.x.values, dome.y.values, thk=dome.thk.values,
                      topg=dome.topg.values, arrhenius=78.0 * ones, slidingco=0.05 * ones,
                      icemask=ones)


def test_the_refined_grid_keeps_the_outline_and_averages_back():
    """Fine ice only under coarse ice, the fine bed and thickness the bilinear ones; block
    means give a field twice upsampled cell by cell back exactly."""
    state = _dome()
    fine = refined_state(state, 2)
    assert fine.thk.shape == (20, 20)
    coarse_ice = state.thk.values > 1.0
    fine_ice = fine.thk.values > 0.0
    assert not (fine_ice & ~np.kron(coarse_ice, np.ones((2, 2), bool))).any()
    np.testing.assert_allclose(fine.usurf.values, fine.topg.values + fine.thk.values)
    field = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(coarsened({"u": np.kron(field, np.ones((2, 2)))}, 2)["u"],
                                  field)


def test_smoothing_keeps_linear_fields_inside_the_ice_and_nothing_off_it(tmp_path):
    """The 3 x 3 ice average leaves a linear field unchanged where the 3 x 3 block is ice and
    is zero off the ice; on a store of grown SIA glaciers the grid-scale detail is a share of
    the speed between 0 and 1."""
    y, x = np.mgrid[0:8, 0:9].astype(float)
    ice = np.zeros((8, 9), bool)
    ice[1:7, 1:8] = True
    out = smoothed({f: 3.0 * x - 2.0 * y for f in VELOCITY_FIELDS}, ice)
    np.testing.assert_allclose(out["ubar"][2:6, 2:7], (3.0 * x - 2.0 * y)[2:6, 2:7])
    assert (out["vbar"][~ice] == 0).all()
    detail = table(str(build_sia_store(tmp_path / "sia.zarr")), "test", None)
    assert set(detail) == {"valley_4", "all"}
    assert 0.0 < detail["all"]["detail"] < 1.0


def test_instructors_against_themselves_refined(tmp_path, capsys):
    """A small real version of the benchmark: on the sliding dome the stored velocities are
    the cold solves (fidelity 1), Stokes with 2 layers is close to 4 layers and the hybrid
    close to itself on a grid twice as fine (each fidelity in (0.8, 1]), and the table
    prints."""
    from glacier.flow import get_flow_model

    state = _dome()
    snap = state.drop_vars(["thk", "usurf"]).assign_coords(time=[0.0])
    for name in ("thk", "usurf"):  # the run file's layout: the geometry per snapshot
        snap[name] = state[name].expand_dims(time=[0.0])
    for name, model in (("hybrid", get_flow_model("hybrid")),
                        ("stokes", get_flow_model("stokes", layers=2))):
        vel = model.velocity(state)
        for f in VELOCITY_FIELDS:
            snap[f"{name}_{f}"] = (("time", "y", "x"), vel[f].values[None])
    snap["stokes_solved"] = ("time", [True])
    snap["stokes_converged"] = ("time", [True])
    path = tmp_path / "runs" / "dome" / "steady" / "p0.nc"
    path.parent.mkdir(parents=True)
    snap.to_netcdf(path)
    (row,) = rows([str(path)], [0], 2, 4, 2, stokes_refine=False, max_cells=1000)
    assert row["stored_stokes"]["velbar"] > 0.999 and row["stored_hybrid"]["velbar"] > 0.999
    for key in ("stokes_layers", "hybrid_grid"):
        assert 0.8 < row[key]["velbar"] <= 1.0, (key, row[key])
    assert np.isnan(row["stokes_grid"]["velbar"])
    assert "/".join(path.parts[-3:]) in capsys.readouterr().out
