"""TFS503: a Keras 3 legacy .h5 model that cannot be loaded back, or trained again after loading."""

import os
import re


def check(facts, workdir):
    keras = keras_in_use()
    # tf.keras's Keras 2 API module (TF_USE_LEGACY_KERAS) has no __version__.
    major = int(str(getattr(keras, "__version__", None) or "2").split(".")[0])
    if major != 3:
        return {"status": "inconclusive", "evidence": f"needs Keras 3, Keras {major} is in use"}
    import numpy as np

    name = re.sub(r"\{[^}]*\}", "1", os.path.basename(facts.get("path") or "")) or "model.h5"
    path = os.path.join(workdir, name)
    loss = facts.get("loss") or "mean_squared_error"
    rng = np.random.default_rng(5)
    x, y = rng.random((32, 4), dtype="float32"), rng.random((32, 1), dtype="float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(path)
    step = "load_model"
    try:
        loaded = keras.models.load_model(path)
        if facts.get("retrained"):
            step = "fit after load_model"
            loaded.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)
    except ValueError as exc:
        return {"status": "confirmed", "evidence": f"{name} saved with loss={loss!r}: {step}: {in_brief(exc, 200)}"}
    return {"status": "not reproduced", "evidence": f"{name} saved with loss={loss!r}: {step} worked"}
