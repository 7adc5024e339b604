"""TFS408: a custom Metric with Python state, or a non-zero initial value (claim C21).

Facts: ``class``, ``call_args`` ("" for the defaults) and ``source`` (the class and its
imports).  The metric is built; (1) it is updated twice, reset with reset_state() and its
result compared with a fresh metric's; (2) one copy is updated three times eagerly and
another three times through tf.function, as fit() runs it, and the results compared.
"""

import numpy as np
import tensorflow as tf



def number(value):
    return float(np.asarray(value, dtype="float64").ravel()[0])


def check(facts, workdir):
    name = facts.get("class", "")
    try:
        namespace = user_code(facts)
        args = facts.get("call_args") or ""
        build = lambda: construct(namespace, name, args)  # noqa: E731
        fresh = number(build().result())
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build {name}: {in_brief(exc, 160)}"}
    y_true = np.ones((4, 1), dtype="float32")
    y_pred = np.full((4, 1), 0.7, dtype="float32")
    try:
        metric = build()
        metric.update_state(y_true, y_pred)
        metric.update_state(y_true, y_pred)
        metric.reset_state()
        after_reset = number(metric.result())
        eager = build()
        for _ in range(3):
            eager.update_state(y_true, y_pred)
        eager_value = number(eager.result())
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name} fails eagerly: {in_brief(exc, 160)}"}
    if abs(after_reset - fresh) > 1e-6:
        return {"status": "confirmed",
                "evidence": f"{name}: after reset_state() result() is {after_reset:g}, a fresh metric gives {fresh:g}"}
    traced = build()

    @tf.function
    def step(a, b):
        traced.update_state(a, b)

    try:
        for _ in range(3):
            step(tf.constant(y_true), tf.constant(y_pred))
        traced_value = number(traced.result())
    except Exception as exc:
        return {"status": "confirmed", "evidence": f"{name} inside tf.function (as in fit): {in_brief(exc, 160)}"}
    if abs(traced_value - eager_value) > 1e-6:
        return {"status": "confirmed", "evidence": f"{name}: 3 updates inside tf.function (as in fit) give "
                                                   f"{traced_value:g}, eagerly {eager_value:g}"}
    return {"status": "not reproduced",
            "evidence": f"{name}: reset_state() gives {after_reset:g} like a fresh metric; tf.function and eager "
                        f"both give {eager_value:g}"}
