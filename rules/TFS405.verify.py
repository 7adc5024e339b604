"""TFS405: Metric.reset_states() on Keras 3 (claim C14).

Facts: ``metric`` (the metric expression, None when only known to be a metric) and ``method``
(the method the code calls).  The metric is built, updated once, and the method is called.
"""

import keras


def check(facts, workdir):
    expression = facts.get("metric") or "keras.metrics.Mean()"
    method = facts.get("method") or "reset_states"
    try:
        metric = keras_value(expression, {"keras": keras})
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build {expression}: {in_brief(exc)}"}
    try:
        getattr(metric, method)()
    except AttributeError as exc:
        return {"status": "confirmed", "evidence": f"{type(metric).__name__}.{method}(): {first_line(exc)}"}
    works = f"{type(metric).__name__}.{method}() works on Keras {keras.__version__}"
    return {"status": "not reproduced", "evidence": works}
