"""evaluation/bench_coupling.py: the SIA of the (averaged) driving stress against a store."""

from emulator.testing_data import build_sia_store


def test_local_sia_reproduces_a_store_of_the_closed_form_sia(tmp_path, capsys):
    """On a store whose instructor is the closed-form SIA with sliding, the local SIA channels
    (length 0) give its velocities back (fidelity 1 to float32 round-off, speed ratio 1); an
    averaged driving stress departs from them, the more the longer the length."""
    from evaluation.bench_coupling import rows

    store = build_sia_store(tmp_path / "sia.zarr")
    (row,) = rows(str(store), ["test"], [0, 400, 1600])
    assert row["domain"] == "valley_4" and row["samples"] > 1
    assert abs(row["fidelity"][0] - 1.0) < 1e-4 and abs(row["ratio"][0] - 1.0) < 1e-4
    assert 1.0 > row["fidelity"][0] > row["fidelity"][400] > row["fidelity"][1600]
    assert "valley_4" in capsys.readouterr().out
