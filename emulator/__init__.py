"""CNN emulators of the instructors' ice flow (Jouvet et al. 2021): Keras 3 model zoo, Zarr
loader, training with MLflow tracking, publishing, and the ``emulator`` FlowModel.

The flow model ``emulator`` is ``emulator.model.load_flow_model`` (named in pyproject.toml's
entry points). Keras and TensorFlow load only when an emulator is built, trained or loaded.
"""
