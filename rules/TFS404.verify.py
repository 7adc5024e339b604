"""TFS404: a metric read every epoch and never reset (claim C15).

Facts: ``metric`` (the metric expression) and ``reset`` (whether the loop resets it).  Two
epochs go through the metric: one where every prediction is right, one where every prediction
is wrong (for Mean/Sum: values 1 then 3).  The value the loop reads after the second epoch is
set against the second epoch on its own.
"""

import numpy as np

import keras

BINARY = ([[1.0], [0.0], [1.0], [0.0]], [[0.9], [0.1], [0.8], [0.2]], [[0.1], [0.9], [0.2], [0.8]])
SPARSE = ([0, 1, 2, 1], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]],
          [[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1]])
REGRESSION = ([[1.0], [2.0], [3.0]], [[1.0], [2.0], [3.0]], [[3.0], [4.0], [5.0]])


def epochs(metric):
    """The update_state arguments of a right epoch and of a wrong one."""
    name = type(metric).__name__
    if name in ("Mean", "Sum"):
        return ([1.0, 1.0],), ([3.0, 3.0],)
    if name.startswith("Sparse"):
        labels, right, wrong = SPARSE
    elif name.startswith("Categorical") or name.startswith("TopK"):
        labels, right, wrong = SPARSE
        labels = np.eye(3)[labels].tolist()
    elif name in ("MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError"):
        labels, right, wrong = REGRESSION
    else:
        labels, right, wrong = BINARY
    return (labels, right), (labels, wrong)


def check(facts, workdir):
    expression = facts.get("metric")
    if not expression:
        return {"status": "inconclusive", "evidence": "the metric is not a keras.metrics object"}
    try:
        looped, alone = keras_value(expression, {"keras": keras}), keras_value(expression, {"keras": keras})
        first, second = epochs(looped)
        looped.update_state(*first)
        if facts.get("reset"):
            looped.reset_state()
        looped.update_state(*second)
        alone.update_state(*second)
        read, truth = float(looped.result()), float(alone.result())
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot feed {expression}: {in_brief(exc)}"}
    how = "after reset_state()" if facts.get("reset") else "without reset_state()"
    return {
        "status": "confirmed" if abs(read - truth) > 1e-6 else "not reproduced",
        "evidence": f"{expression.replace('keras.metrics.', '')} {how}: the second epoch reads {read:.2f}, "
                    f"that epoch alone is {truth:.2f}",
    }
