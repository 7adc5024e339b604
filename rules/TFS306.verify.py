"""TFS306: a subclassed Model saved to HDF5 cannot be loaded back (Keras 3) or saved (Keras 2)
(claim C19).

Facts: ``class``, ``call_args`` ("" for defaults), ``path`` (the file the finding saves to) and
``source``.  The model is built, called on a small float input, saved under the file name of
``path`` in workdir and loaded back with the class in custom_objects; the predictions of the
reloaded model are compared.
"""

import os

import keras
import numpy as np

SHAPES = ((4,), (3, 4), (8, 8, 3))
# What the rule says Keras raises: Keras 2 refuses to save, Keras 3 to load.
REFUSED_SAVE = "requires the model to be a Functional model or a Sequential model"
REFUSED_LOAD = "Layer count mismatch"



def check(facts, workdir):
    name, call_args = facts.get("class", ""), facts.get("call_args", "")
    try:
        namespace = user_code(facts)
        namespace[name]  # a KeyError: the definitions do not hold the class
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the user's definitions could not be run: {in_brief(exc)}"}
    model = probe = None
    for shape in SHAPES:
        try:
            model = construct(namespace, name, call_args)
            probe = np.random.default_rng(0).random((2,) + shape).astype("float32")
            expected = np.asarray(model(probe))
            break
        except Exception as exc:
            error, model = exc, None
    if model is None:
        return {"status": "inconclusive", "evidence": f"{name}({call_args}) could not be built and run on a small "
                                                      f"float input: {in_brief(error)}"}
    path = os.path.join(workdir, os.path.basename(facts.get("path") or "model.h5"))
    try:
        model.save(path)
    except Exception as exc:
        return {"status": "confirmed" if REFUSED_SAVE in " ".join(str(exc).split()) else "inconclusive",
                "evidence": f"model.save({os.path.basename(path)!r}): {in_brief(exc)}"}
    customs = {k: v for k, v in namespace.items() if isinstance(v, type)}
    try:
        loaded = keras.models.load_model(path, custom_objects=customs, compile=False)
    except Exception as exc:
        return {"status": "confirmed" if REFUSED_LOAD in " ".join(str(exc).split()) else "inconclusive",
                "evidence": f"saved without error; load_model({os.path.basename(path)!r}): {in_brief(exc)}"}
    if not np.allclose(expected, np.asarray(loaded(probe)), atol=1e-5):
        return {"status": "confirmed", "evidence": f"{os.path.basename(path)} reloaded with different predictions"}
    return {"status": "not reproduced",
            "evidence": f"{name} saved to {os.path.basename(path)} and loaded back with the same predictions"}
