"""TFS501: Keras 3 model.save() with a path it refuses, save_format=, or a .weights.h5 name."""

import logging
import os
import re


def check(facts, workdir):
    keras = keras_in_use()
    # tf.keras's Keras 2 API module (TF_USE_LEGACY_KERAS) has no __version__.
    major = int(str(getattr(keras, "__version__", None) or "2").split(".")[0])
    if major != 3:
        return {"status": "inconclusive", "evidence": f"needs Keras 3, Keras {major} is in use"}
    name = re.sub(r"\{[^}]*\}", "1", os.path.basename((facts.get("path") or "").rstrip("/"))) or "saved_model"
    path = os.path.join(workdir, name)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    kwargs = {"save_format": facts["save_format"]} if facts.get("save_format") else {}
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logger = logging.getLogger("absl")
    logger.addHandler(handler)
    try:
        model.save(path, **kwargs)
    except ValueError as exc:
        # The evidence names the user's file, not this check's temporary directory.
        return {"status": "confirmed", "evidence": f"model.save({name!r}): {first_line(exc).replace(path, name)}"}
    finally:
        logger.removeHandler(handler)
    deprecated = [m for m in logged if "save_format" in m]
    if deprecated:
        return {"status": "confirmed", "evidence": f"model.save({name!r}, save_format=...) logged: {deprecated[0][:120]}"}
    if name.endswith(".weights.h5"):
        import h5py

        with h5py.File(path, "r") as handle:
            full = "model_config" in handle.attrs
        fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        try:
            fresh.load_weights(path)
        except Exception as exc:
            return {"status": "confirmed", "evidence": (f"model.save({name!r}) wrote a full HDF5 model (model_config "
                                                       f"{'present' if full else 'absent'}); load_weights: "
                                                       f"{first_line(exc).replace(path, name)}")}
        return {"status": "not reproduced", "evidence": f"model.save({name!r}) then load_weights() worked"}
    return {"status": "not reproduced", "evidence": f"model.save({name!r}) worked"}
