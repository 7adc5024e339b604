"""TFS101: weights saved by save_weights() bring the model back but not its optimizer state."""

import os
import re

# The iteration of an optimizer that restarted at 0, after the one step the check takes.
RESTARTED = 1


def check(facts, workdir):
    keras = keras_in_use()
    import numpy as np

    name = re.sub(r"\{[^}]*\}", "1", os.path.basename(facts.get("path") or "")) or "model.weights.h5"
    path = os.path.join(workdir, name)
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 4), dtype="float32"), rng.random((32, 1), dtype="float32")

    def build():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
        return model

    model = build()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    saved = int(model.optimizer.iterations.numpy())
    try:
        if name.endswith(".keras"):
            how = "model.save() + load_model()"
            model.save(path)
            again = keras.models.load_model(path)
        else:
            how = "save_weights() + load_weights() into a fresh compiled model"
            model.save_weights(path)
            again = build()
            again.load_weights(path)
        again.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{how} failed: {first_line(exc)}"}
    after = int(again.optimizer.iterations.numpy())
    evidence = f"{name}: trained to iteration {saved}; after {how} and one more step: iteration {after}"
    if after == saved + 1:
        return {"status": "not reproduced", "evidence": evidence + " (optimizer state kept)"}
    if after == RESTARTED:
        return {"status": "confirmed", "evidence": evidence + " (optimizer restarted)"}
    return {"status": "inconclusive", "evidence": evidence + " (neither kept nor restarted)"}
