"""TFS204: a model loaded with compile=False cannot be fitted or evaluated (claim C02).

Facts: ``method`` (fit, evaluate, train_on_batch or test_on_batch) and optionally
``compile_first`` (compile() is called before it, as the fix says).  A tiny compiled model
is saved, loaded with compile=False and the method is called on a small batch.
"""

import os

import keras
import numpy as np

METHODS = ("fit", "evaluate", "train_on_batch", "test_on_batch")



def check(facts, workdir):
    method = facts.get("method", "evaluate")
    if method not in METHODS:
        return {"status": "inconclusive", "evidence": f"{method}() is not a method this check knows"}
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    path = os.path.join(workdir, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    if facts.get("compile_first"):
        loaded.compile(optimizer="sgd", loss="mean_squared_error")
    x, y = np.ones((4, 4), "float32"), np.ones((4, 1), "float32")
    try:
        if method in ("fit", "evaluate"):
            getattr(loaded, method)(x, y, verbose=0)
        else:
            getattr(loaded, method)(x, y)
    except Exception as exc:
        text = str(exc)
        if "must call `compile()`" in text or "must compile your model" in text:
            return {"status": "confirmed", "evidence": first_line(exc)}
        return {"status": "inconclusive", "evidence": f"{method}() failed for another reason: {first_line(exc)}"}
    done = " after compile()" if facts.get("compile_first") else ""
    return {"status": "not reproduced", "evidence": f"{method}() ran on the model loaded with compile=False{done}"}
