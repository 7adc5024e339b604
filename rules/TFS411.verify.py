"""TFS411: a Normalization layer that nobody adapts normalizes nothing.

Facts: ``layer`` (the layer expression as written, ``keras.layers.Normalization()`` when it
cannot be run here) and ``adapt`` (the layer is adapted on the training features first, as the
fix says).  A small model around the layer is fitted for one epoch on features of mean ~35;
the layer's mean afterwards tells whether it normalizes anything.
"""

import keras
import numpy as np



def check(facts, workdir):
    try:
        # The layer as the user wrote it, rebuilt without eval (docs/verify.md): literal arguments of
        # a keras.layers class only; anything else is checked on the default layer.
        layer = keras_value(facts.get("layer") or "keras.layers.Normalization()", {"keras": keras})
    except Exception:
        layer = keras.layers.Normalization()
    features = np.random.default_rng(0).random((64, 3)).astype("float32") * 50 + 10
    if facts.get("adapt"):
        layer.adapt(features)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer="adam", loss="mse")
    model.fit(features, np.ones((64, 1), "float32"), epochs=1, verbose=0)
    mean = np.asarray(layer.mean).ravel()
    normalized = np.asarray(layer(features)).mean()
    if np.allclose(mean, 0.0):
        return {"status": "confirmed", "evidence": f"after fit() the layer's mean is {mean} and its output still "
                                                   f"averages {normalized:.1f}: the inputs are not normalized"}
    return {"status": "not reproduced", "evidence": f"the layer's mean is {np.round(mean, 1)} and its output averages "
                                                    f"{normalized:.2f}"}
