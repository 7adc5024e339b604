"""TFS305: Keras 3 does not track a tf.Variable attribute of a Layer, Model or Metric (claim C09).

Facts: ``class``, ``call_args`` ("" for defaults), ``attribute`` (the ``self.<attribute>`` the
rule saw assigned a tf.Variable) and ``source``.  The object is built (a layer or model is
called on a small float input so that build() runs), then the attribute is looked for among
the object's weights; for a layer or model, it is also set to a new value before a ``.keras``
save and load in workdir, and the reloaded value is compared.
"""

import keras
import numpy as np
import tensorflow as tf

SHAPES = ((4,), (3, 4), (8, 8, 3))



def called(obj):
    """The input shape a layer or model can be called on, after calling it; None when none works."""
    for shape in SHAPES:
        try:
            obj(np.zeros((2,) + shape, "float32"))
            return shape
        except Exception:
            continue
    return None


def check(facts, workdir):
    name, attribute = facts.get("class", ""), facts.get("attribute", "")
    call_args = facts.get("call_args", "")
    try:
        namespace = user_code(facts)
        obj = construct(namespace, name, call_args)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"{name}({call_args}) could not be built: {in_brief(exc, 200)}"}
    is_metric = isinstance(obj, keras.metrics.Metric)
    shape = None if is_metric else called(obj)
    variable = getattr(obj, attribute, None)
    if variable is None:
        return {"status": "inconclusive", "evidence": f"{name} has no attribute {attribute!r} after building"}
    tracked = obj.variables if is_metric else obj.weights
    where = "metric.variables" if is_metric else "layer.weights"
    if any(w is variable or getattr(w, "value", None) is variable for w in tracked):
        return {"status": "not reproduced", "evidence": f"self.{attribute} is in {where}"}
    if not isinstance(variable, tf.Variable):
        return {"status": "not reproduced", "evidence": f"self.{attribute} is a {type(variable).__name__}, "
                                                        f"not a tf.Variable"}
    evidence = (f"self.{attribute} ({type(variable).__name__} {variable.name!r}) is not in {where} "
                f"({len(tracked)} variables: {[w.name for w in tracked][:4]})")
    if is_metric or shape is None:
        return {"status": "confirmed", "evidence": evidence}
    marked = variable.numpy() + 7.0
    variable.assign(marked)
    try:
        again = getattr(keras_round_trip(obj, namespace, workdir, shape), attribute)
        evidence += f"; set to {marked.ravel()[:3]}, reloaded from .keras as {np.asarray(again).ravel()[:3]}"
    except Exception as exc:
        evidence += f"; the .keras round trip failed ({in_brief(exc, 200)})"
    return {"status": "confirmed", "evidence": evidence}
