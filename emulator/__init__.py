"""CNN emulators of the instructors' ice flow (Jouvet et al. 2021): Keras 3 model zoo, Zarr
loader, training with MLflow tracking, publishing, and the ``emulator`` FlowModel.

Importing the package registers the flow model ``emulator`` and nothing heavier: Keras and
TensorFlow load only when an emulator is built, trained or loaded.
"""

from glacier.flow import register


@register("emulator")
def _emulator(path=None, instructor=None, library=None):
    from emulator.model import load_flow_model
    return load_flow_model(path=path, instructor=instructor, library=library)
