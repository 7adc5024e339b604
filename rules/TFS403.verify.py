"""TFS403: logits measured by a metric that thresholds at 0.5 (claim C12).

Facts: ``metric`` and ``loss`` (expressions; the loss has from_logits=True).  Logits of a noisy
binary problem (many of them in (0, 0.5]) go through a pass-through model compiled with that
loss and metric; evaluate() gives the metric's value, set against the same metric told that it
gets logits (threshold 0, or AUC(from_logits=True)).
"""

import numpy as np

import keras


def told_about_logits(metric):
    """The metric as it should be built for logits."""
    name = metric if isinstance(metric, str) else type(metric).__name__
    if name.lower() == "auc":
        return keras.metrics.AUC(from_logits=True, name="right")
    if name.lower() in ("precision", "recall"):
        return getattr(keras.metrics, name.capitalize())(thresholds=0.0, name="right")
    return keras.metrics.BinaryAccuracy(threshold=0.0, name="right")


def check(facts, workdir):
    try:
        metric = keras_value(facts["metric"], {"keras": keras})
        loss = keras_value(facts.get("loss") or "keras.losses.BinaryCrossentropy(from_logits=True)", {"keras": keras})
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build the metric or loss: {in_brief(exc)}"}
    rng = np.random.default_rng(0)
    labels = (rng.random((2000, 1)) < 0.5).astype("float32")
    logits = ((2 * labels - 1) * 0.8 + rng.normal(size=(2000, 1))).astype("float32")
    passthrough = keras.Sequential([keras.Input((1,)), keras.layers.Activation("linear")])
    passthrough.compile(loss=loss, metrics=[metric, told_about_logits(metric)])
    logs = passthrough.evaluate(logits, labels, batch_size=128, verbose=0, return_dict=True)
    right = logs.pop("right")
    value = [v for name, v in logs.items() if name != "loss"][0]
    shown = facts["metric"].replace("keras.metrics.", "")
    share = float(np.mean((logits > 0) & (logits <= 0.5)))
    return {
        "status": "confirmed" if abs(value - right) > 0.002 else "not reproduced",
        "evidence": f"{shown} on logits ({share:.0%} of them in (0, 0.5]): {value:.4f}, "
                    f"told it gets logits {right:.4f}",
    }
