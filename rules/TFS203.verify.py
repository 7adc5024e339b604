"""TFS203: with safe mode off, loading a .keras file runs Python code stored in it (claim C18).

Facts: ``safe_mode`` (False for the finding: safe_mode=False, or enable_unsafe_deserialization()
which turns it off for every load).  A model whose Lambda layer's lambda creates a marker
file is saved; the marker is removed; the file is loaded with that safe_mode.  Confirmed
only when the marker came back: the stored code ran.
"""

import os

import keras
import numpy as np



def check(facts, workdir):
    safe_mode = bool(facts.get("safe_mode", False))
    marker = os.path.join(workdir, "the_stored_code_ran")
    # The marker's path is a constant of the lambda's code, so it travels in the file.
    function = eval(f"lambda x: (open({marker!r}, 'w').close(), x * 2.0)[1]")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(function)])
    path = os.path.join(workdir, "with_lambda.keras")
    model.save(path)
    if os.path.exists(marker):
        os.remove(marker)
    try:
        loaded = keras.models.load_model(path, safe_mode=safe_mode)
    except Exception as exc:
        if os.path.exists(marker):
            return {"status": "confirmed",
                    "evidence": f"load_model(safe_mode={safe_mode}) ran the lambda stored in the file, then failed: {first_line(exc)}"}
        if safe_mode:
            return {"status": "not reproduced", "evidence": f"safe mode refused the stored lambda: {first_line(exc)}"}
        return {"status": "inconclusive", "evidence": f"loading failed for another reason: {first_line(exc)}"}
    when = "while loading"
    if not os.path.exists(marker):
        loaded.predict(np.ones((1, 2), "float32"), verbose=0)
        when = "when the loaded model was called"
    if os.path.exists(marker):
        return {"status": "confirmed",
                "evidence": f"load_model(safe_mode={safe_mode}) ran the Python lambda stored in the file ({when})"}
    return {"status": "not reproduced", "evidence": f"load_model(safe_mode={safe_mode}) did not run the stored lambda"}
