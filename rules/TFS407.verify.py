"""TFS407: probabilities cast to an integer type (claim C13).

Facts: ``cast`` ('cast' for tf.cast, 'astype' for numpy), ``dtype``, ``activation`` ('sigmoid',
'softmax' or None for a predict() output) and ``of`` ('probabilities', or 'comparison' for a
cast of ``p > 0.5``).  Five probabilities that are right 4 times out of 5 are cast as the code
does; the accuracy of the cast values is set against the accuracy of the rounded ones.
"""

import numpy as np
import tensorflow as tf

import keras


def cast(values, facts):
    dtype = facts.get("dtype") or "int32"
    if facts.get("cast") == "astype":
        return values.astype(int if dtype == "int" else dtype)
    return tf.cast(values, "int32" if dtype == "int" else dtype).numpy()


def check(facts, workdir):
    softmax = facts.get("activation") == "softmax"
    if softmax:
        labels = np.array([1, 0, 1, 1, 0])
        probs = np.array([[0.3, 0.7], [0.8, 0.2], [0.4, 0.6], [0.9, 0.1], [0.6, 0.4]], dtype="float32")
        decided = probs.argmax(axis=1)  # what the good code casts
    else:
        labels = np.array([[0], [1], [1], [0], [1]])
        probs = np.array([[0.2], [0.8], [0.6], [0.4], [0.3]], dtype="float32")
        decided = probs > 0.5
    comparison = facts.get("of") == "comparison"
    try:
        casted = cast(decided if comparison else probs, facts)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the cast failed: {in_brief(exc)}"}
    if softmax and not comparison:
        casted = casted.argmax(axis=1)  # all zeros: every row becomes class 0
    metric, right = keras.metrics.BinaryAccuracy(), keras.metrics.BinaryAccuracy()
    if softmax:
        metric, right = keras.metrics.Accuracy(), keras.metrics.Accuracy()
    metric.update_state(labels, casted)
    right.update_state(labels, decided.astype("int32"))
    got, truth = float(metric.result()), float(right.result())
    how = "tf.cast" if facts.get("cast") != "astype" else "astype"
    what = ("p.argmax(-1)" if softmax else "(p > 0.5)") if comparison else "p"
    shown = np.round(probs.astype("float64"), 2)
    shown = shown.tolist() if softmax else shown.ravel().tolist()
    return {
        "status": "confirmed" if abs(got - truth) > 1e-6 else "not reproduced",
        "evidence": f"{how} of {what} with p = {shown} to {facts.get('dtype')}: "
                    f"{np.asarray(casted).ravel().tolist()}, accuracy {got:.2f}; rounded: {truth:.2f}",
    }
