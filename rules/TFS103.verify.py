"""TFS103: compile() with a new optimizer after load_model() throws the restored optimizer state away."""

import os

# The iteration of an optimizer that restarted at 0, after the one step the check takes.
RESTARTED = 1


def check(facts, workdir):
    keras = keras_in_use()
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x, y = rng.random((32, 4), dtype="float32"), rng.random((32, 1), dtype="float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = os.path.join(workdir, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    restored = int(loaded.optimizer.iterations.numpy())
    source = facts.get("optimizer")
    namespace = {name: getattr(keras.optimizers, name) for name in dir(keras.optimizers) if not name.startswith("_")}
    namespace.update(keras=keras, tf=tf, optimizers=keras.optimizers, model=loaded)
    try:
        if source:
            # Built without eval: literals, optimizer classes and model.optimizer only.
            optimizer = safe_value(source, namespace, trusted=("model",), calls=lambda f: (
                isinstance(f, type) and issubclass(f, keras.optimizers.Optimizer)))
            loaded.compile(optimizer=optimizer, loss="mean_squared_error")
        else:
            loaded.compile(loss="mean_squared_error")  # the default optimizer
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build optimizer {source!r}: {in_brief(exc)}"}
    loaded.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)
    after = int(loaded.optimizer.iterations.numpy())
    evidence = (f"load_model() restored iteration {restored}; after compile(optimizer={source or '<default>'}) and one "
                f"step: {type(loaded.optimizer).__name__} at iteration {after}")
    if after == restored + 1:
        return {"status": "not reproduced", "evidence": evidence}
    if after == RESTARTED:
        return {"status": "confirmed", "evidence": evidence}
    return {"status": "inconclusive", "evidence": evidence + " (neither kept nor restarted)"}
