"""TFS402: an accuracy metric that does not fit the labels the loss implies (claim C12).

Facts: ``metric``, ``loss``, ``activation``, ``units`` and ``labels`` ('sparse' integer labels,
'categorical' one-hot labels, 'binary').  A 10-class softmax output that is right about 90% of
the time is fed, with labels in the form the loss takes, through a pass-through model compiled
with that loss and metric; evaluate() (batches of 32, as fit uses) gives the metric's value,
set against the argmax accuracy counted by hand, or the error it raised.
"""

import numpy as np

import keras


def check(facts, workdir):
    try:
        metric = keras_value(facts["metric"], {"keras": keras})
        loss = keras_value(facts["loss"], {"keras": keras})
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build the metric or loss: {in_brief(exc)}"}
    rng = np.random.default_rng(0)
    classes = facts.get("units") or 10
    if classes < 2:
        return {"status": "inconclusive", "evidence": "a single output unit: no class labels to mismatch"}
    truth_ids = rng.integers(0, classes, 600)
    scores = rng.normal(size=(600, classes)).astype("float32")
    scores[np.arange(600), truth_ids] += 3.3
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    true_accuracy = float(np.mean(probs.argmax(axis=1) == truth_ids))
    kind = facts.get("labels")
    targets = np.eye(classes, dtype="float32")[truth_ids] if kind == "categorical" else truth_ids.astype("int32")
    passthrough = keras.Sequential([keras.Input((classes,)), keras.layers.Activation("linear")])
    passthrough.compile(loss=loss, metrics=[metric])
    shown = f"{getattr(metric, '__name__', type(metric).__name__) if not isinstance(metric, str) else repr(metric)}"
    shown += f" on {'one-hot' if kind == 'categorical' else 'integer'} labels"
    try:
        result = passthrough.evaluate(probs, targets, batch_size=32, verbose=0, return_dict=True)
    except Exception as exc:
        error = in_brief(exc, 200)
        for line in str(exc).splitlines():  # graph errors put the useful line last
            if "Incompatible shapes" in line or "must be equal" in line or "squeeze" in line:
                error = f"{type(exc).__name__}: {line.strip()[:200]}"
        return {"status": "confirmed", "evidence": f"{shown}: {error}"}
    value = [v for name, v in result.items() if name != "loss"][0]
    differs = abs(value - true_accuracy) > 0.02
    return {
        "status": "confirmed" if differs else "not reproduced",
        "evidence": f"{shown}: {value:.2f}, true accuracy {true_accuracy:.2f}",
    }
