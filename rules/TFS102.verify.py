"""TFS102: load_weights() into a model whose optimizer is not built skips the saved optimizer state."""

import os
import re
import warnings

# The iteration of an optimizer that restarted at 0, after the one step the check takes.
RESTARTED = 1


def check(facts, workdir):
    keras = keras_in_use()
    import numpy as np

    name = re.sub(r"\{[^}]*\}", "1", os.path.basename(facts.get("path") or "")) or "model.weights.h5"
    path = os.path.join(workdir, name)
    built = bool(facts.get("optimizer_built"))
    rng = np.random.default_rng(1)
    x, y = rng.random((32, 4), dtype="float32"), rng.random((32, 1), dtype="float32")

    def build():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
        return model

    model = build()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    saved = int(model.optimizer.iterations.numpy())
    # The file as the training run would have written it.
    keras3 = str(getattr(keras, "__version__", None) or "2").startswith("3")
    if name.endswith(".keras") or (keras3 and name.endswith((".h5", ".hdf5")) and not name.endswith(".weights.h5")):
        model.save(path)
    else:
        model.save_weights(path)
    resumed = build()
    if built:
        resumed.optimizer.build(resumed.trainable_variables)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            resumed.load_weights(path)
        except Exception as exc:
            return {"status": "inconclusive", "evidence": f"load_weights failed: {first_line(exc)}"}
    resumed.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)
    after = int(resumed.optimizer.iterations.numpy())
    skipped = [str(w.message).split(",")[0] for w in caught if "Skipping variable loading" in str(w.message)]
    evidence = (f"{name}, optimizer {'built' if built else 'not built'} before load_weights: trained to iteration "
                f"{saved}, resumed run at iteration {after} after one step" + (f"; warning: {skipped[0]}" if skipped else ""))
    if after == saved + 1:
        return {"status": "not reproduced", "evidence": evidence}
    if after == RESTARTED:
        return {"status": "confirmed", "evidence": evidence}
    return {"status": "inconclusive", "evidence": evidence + " (neither kept nor restarted)"}
