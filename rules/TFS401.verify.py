"""TFS401: keras.metrics.Accuracy() on probabilities (claim C11).

Facts: ``metric`` (the metric expression), ``loss`` (or None), ``activation``, ``units`` and
``labels`` ('binary', 'sparse', 'categorical' or None).  Predictions of the implied shape go
through a pass-through model compiled with that loss and metric, and evaluate() gives the
metric's value, which is set against the accuracy counted by hand.
"""

import numpy as np

import keras



def predictions(labels, activation, units):
    """Labels and the predictions of a model that is right about 90% of the time."""
    rng = np.random.default_rng(0)
    n = 256
    if labels == "binary" or (labels is None and activation == "sigmoid"):
        y = (rng.random((n, 1)) < 0.5).astype("float32")
        z = (2 * y - 1) * 1.5 + rng.normal(size=(n, 1)).astype("float32")
        p = z if activation == "linear" else 1 / (1 + np.exp(-z))
        return y, p.astype("float32"), float(np.mean((z > 0) == (y > 0.5)))
    k = units or 10
    c = rng.integers(0, k, n)
    z = rng.normal(size=(n, k)).astype("float32")
    z[np.arange(n), c] += 2.5
    p = z if activation == "linear" else np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.eye(k, dtype="float32")[c] if labels == "categorical" else c.astype("int32")
    return y, p.astype("float32"), float(np.mean(z.argmax(axis=1) == c))


def check(facts, workdir):
    scope = {"keras": keras}
    try:
        metric = keras_value(facts.get("metric") or "keras.metrics.Accuracy()", scope)
        loss = keras_value(facts["loss"], scope) if facts.get("loss") else None
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build the metric or loss: {in_brief(exc, 160)}"}
    labels = facts.get("labels") or "sparse"
    y, p, truth = predictions(labels, facts.get("activation"), facts.get("units"))
    if loss is None:
        loss = "binary_crossentropy" if labels == "binary" else (
            "categorical_crossentropy" if labels == "categorical" else "sparse_categorical_crossentropy")
    model = keras.Sequential([keras.Input(p.shape[1:]), keras.layers.Activation("linear")])
    model.compile(loss=loss, metrics=[metric])
    label = f"{type(metric).__name__ if not isinstance(metric, str) else repr(metric)} on {labels} labels"
    try:
        logs = model.evaluate(p, y, batch_size=32, verbose=0, return_dict=True)
    except Exception as exc:
        # The shape error the rule names for integer labels; Keras 2 puts it last, after the traceback.
        shape_error = next((line.strip().removeprefix(f"{type(exc).__name__}: ") for line in str(exc).splitlines()
                            if "Dimensions must be equal" in line or "are incompatible" in line), None)
        if labels == "sparse" and shape_error:
            return {"status": "confirmed",
                    "evidence": f"{label}: {type(exc).__name__}: {shape_error[:160]} (true accuracy {truth:.2f})"}
        return {"status": "inconclusive", "evidence": f"{label}: evaluate() failed: {in_brief(exc, 160)}"}
    value = next(v for k, v in logs.items() if k != "loss")
    status = "confirmed" if abs(value - truth) > 0.02 else "not reproduced"
    return {"status": status, "evidence": f"{label}: {value:.2f}, true accuracy {truth:.2f}"}
