"""TFS104: tf.train.Checkpoint(model=...) of a custom training loop saves no optimizer variables."""

import os



def check(facts, workdir):
    keras = keras_in_use()
    import numpy as np
    import tensorflow as tf

    keys = list(facts.get("keys") or ["model"])
    rng = np.random.default_rng(3)
    x, y = rng.random((32, 4), dtype="float32"), rng.random((32, 1), dtype="float32")

    def objects(model, optimizer):
        found = {k: (optimizer if "opt" in k.lower() else model) for k in keys}
        if all(v is not model for v in found.values()):
            found["model"] = model
        return found

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    saved = int(optimizer.iterations.numpy())
    path = tf.train.Checkpoint(**objects(model, optimizer)).save(os.path.join(workdir, "ckpt"))
    stored = [name for name, _ in tf.train.list_variables(path) if "optimizer" in name]
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    fresh_optimizer = keras.optimizers.Adam(0.01)
    fresh_optimizer.build(fresh.trainable_variables)
    tf.train.Checkpoint(**objects(fresh, fresh_optimizer)).restore(path)
    after = int(fresh_optimizer.iterations.numpy())
    evidence = (f"Checkpoint({', '.join(sorted(objects(model, optimizer)))}) after {saved} apply_gradients steps: "
                f"{len(stored)} optimizer variables saved, restored optimizer at iteration {after}")
    if after == saved:
        return {"status": "not reproduced", "evidence": evidence}
    if after == 0:
        return {"status": "confirmed", "evidence": evidence}
    return {"status": "inconclusive", "evidence": evidence + " (neither restored nor restarted)"}
