"""TFS202: Keras 3 load_model() cannot read a SavedModel directory (claim C20).

Facts: ``path`` (the literal path; only its last part is used, inside workdir) and
optionally ``loader = "TFSMLayer"`` (the recommended way to reload such a directory).
A SavedModel directory is written there (``model.save`` on Keras 2; on Keras 3
``model.export`` for TFSMLayer, else the smallest ``tf.saved_model.save``), or a tiny model
file when the name has a model extension, and loaded back.
"""

import os

import keras
import numpy as np

MODEL_EXTENSIONS = (".keras", ".h5", ".hdf5")



def check(facts, workdir):
    name = str(facts.get("path") or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "saved_model"
    path = os.path.join(workdir, name)
    loader = facts.get("loader", "load_model")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    if name.endswith(MODEL_EXTENSIONS):
        model.save(path)
        written = f"the model file {name}"
    elif int(keras.__version__.split(".")[0]) < 3:
        model.save(path)
        written = "a SavedModel directory written by model.save()"
    elif loader == "TFSMLayer":
        model.export(path, verbose=False)
        written = "a SavedModel directory written by model.export()"
    else:
        # Keras 3 decides from the path alone (no .keras/.h5, no Keras or Orbax files inside),
        # so the smallest SavedModel shows it as well as an exported model, at a fifth of the cost.
        import tensorflow as tf

        tf.saved_model.save(tf.Module(), path)
        written = "a SavedModel directory written by tf.saved_model.save()"
    try:
        if loader == "TFSMLayer":
            layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
            layer(np.ones((1, 4), "float32"))
        else:
            keras.models.load_model(path)
    except Exception as exc:
        if "File format not supported" in str(exc):
            # The evidence names the user's path, not this check's temporary directory.
            return {"status": "confirmed", "evidence": first_line(exc).replace(path, name)}
        return {"status": "inconclusive", "evidence": f"{loader}() failed for another reason: {first_line(exc)}"}
    return {"status": "not reproduced", "evidence": f"{loader}() read {written}"}
