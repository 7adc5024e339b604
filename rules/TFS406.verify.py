"""TFS406: update_state(predictions, labels) on a metric where the order matters (claim C16).

Facts: ``metric`` (the metric expression), ``first`` and ``second`` (the roles of the values
the code passes: 'prediction' or 'label').  The metric is updated once with the arguments in
the code's order and once with labels first; the two values are compared.
"""

import numpy as np

import keras

# Labels and probabilities that are mostly right; one exact 0.0, as after a ReLU or a clip.
LABELS = np.array([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0], [1.0], [0.0]], dtype="float32")
PROBS = np.array([[0.9], [0.3], [0.2], [0.0], [0.8], [0.6], [0.4], [0.1]], dtype="float32")


def data(metric):
    """Labels and predictions of the shapes the metric takes."""
    name = type(metric).__name__
    if name in ("SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "CategoricalCrossentropy"):
        classes = np.array([0, 1, 2, 1, 0, 2])
        scores = np.eye(3, dtype="float32")[classes] * 2.0 + np.linspace(0, 1, 18, dtype="float32").reshape(6, 3)
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        if name == "CategoricalCrossentropy":
            return np.eye(3, dtype="float32")[classes], probs
        return classes.astype("float32"), probs
    return LABELS, PROBS


def value(expression, y_true, y_pred):
    metric = keras_value(expression, {"keras": keras})
    metric.update_state(y_true, y_pred)
    return float(metric.result())


def check(facts, workdir):
    expression = facts.get("metric")
    if not expression:
        return {"status": "inconclusive", "evidence": "the metric is not a keras.metrics object"}
    try:
        labels, preds = data(keras_value(expression, {"keras": keras}))
        right = value(expression, labels, preds)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot feed {expression}: {in_brief(exc)}"}
    shown = expression.replace("keras.metrics.", "")
    swapped = facts.get("first") == "prediction" and facts.get("second") == "label"
    if not swapped:
        return {"status": "not reproduced", "evidence": f"{shown}(labels, predictions): {right:.4f}"}
    try:
        given = value(expression, preds, labels)
    except Exception as exc:
        return {"status": "confirmed",
                "evidence": f"{shown}(predictions, labels): {first_line(exc)}; (labels, predictions): {right:.4f}"}
    return {
        "status": "confirmed" if abs(given - right) > 1e-4 else "not reproduced",
        "evidence": f"{shown}(predictions, labels): {given:.4f}, (labels, predictions): {right:.4f}",
    }
