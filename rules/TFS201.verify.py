"""TFS201: a model using an unregistered custom object cannot be loaded (claims C06, C18).

Facts: ``objects`` (``{"name", "kind": "layer" | "model" | "loss" | "metric"}`` for classes,
``{"name", "role": "loss" | "metric" | "activation"}`` for functions), ``compile`` (how the
finding's load_model() loads) and ``source`` (the user's definitions).  Each object is built
with its defaults (or ``call_args``), put in a tiny model, saved as ``.keras`` in workdir and
loaded back without custom_objects.
"""

import os
import re

import keras
import numpy as np

# The sentence of Keras's message that says it cannot find a custom object by name: the
# evidence (Keras 3 wraps it in a longer "could not be deserialized properly" error).
NOT_FOUND = re.compile(
    r"(Could not locate (?:class|function) '[^']+'|Unknown (?:layer|loss function|metric function"
    r"|activation function): |Cannot deserialize object of type )[^\n]*"
)
# Small inputs to build a layer on: float features, sequences, images, then integer ids.
INPUTS = (((4,), "float32"), ((3, 4), "float32"), ((8, 8, 3), "float32"), ((4,), "int32"))


class Unbuildable(Exception):
    """The object cannot be exercised: the reason makes the result inconclusive."""



def instance(name, call_args, namespace):
    try:
        return construct(namespace, name, call_args)
    except TypeError as exc:
        text = str(exc)
        if "missing" in text and "required" in text:
            # "Embed.__init__() missing 2 required positional arguments: 'vocabulary' and 'dim'"
            needed = text.split(": ", 1)[1] if ": " in text else text
            raise Unbuildable(f"{name}() needs constructor arguments that could not be inferred: {needed}")
        raise Unbuildable(f"{name}() could not be built: {first_line(exc)}")
    except Exception as exc:
        raise Unbuildable(f"{name}() could not be built: {first_line(exc)}")


def with_input(name, make):
    """Call make(shape, dtype) for a few small inputs until one builds."""
    error = None
    for shape, dtype in INPUTS:
        try:
            return make(shape, dtype)
        except Unbuildable:
            raise
        except Exception as exc:
            error = exc
    raise Unbuildable(f"{name} could not be run on small float or integer inputs ({first_line(error)})")


def tiny_model(name, obj, target, namespace):
    role, kind, call_args = obj.get("role"), obj.get("kind"), obj.get("call_args", "")
    if role is not None:
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(2, activation=target if role == "activation" else None),
        ])
        loss = target if role == "loss" else "mse"
        metrics = [target] if role == "metric" else []
        model.compile(optimizer="sgd", loss=loss, metrics=metrics)
        return model
    if kind == "layer":
        return with_input(name, lambda shape, dtype: keras.Sequential(
            [keras.Input(shape, dtype=dtype), instance(name, call_args, namespace)]))
    if kind == "model":
        def build(shape, dtype):
            model = instance(name, call_args, namespace)
            model(np.zeros((2,) + shape, dtype))
            return model
        return with_input(name, build)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    built = instance(name, call_args, namespace)
    if kind == "loss":
        model.compile(optimizer="sgd", loss=built)
    elif kind == "metric":
        model.compile(optimizer="sgd", loss="mse", metrics=[built])
    else:
        raise Unbuildable(f"{name} is a {kind!r}, which this check does not know how to use in a model")
    return model


def check(facts, workdir):
    try:
        namespace = user_code(facts)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the user's definitions could not be run: {first_line(exc)}"}
    confirmed, unclear, loaded = [], [], []
    for obj in facts.get("objects", ()):
        name = obj.get("name", "")
        target = namespace.get(name)
        if target is None:
            unclear.append(f"{name} is not defined by its module-level source")
            continue
        try:
            model = tiny_model(name, obj, target, namespace)
        except Unbuildable as exc:
            unclear.append(str(exc))
            continue
        path = os.path.join(workdir, f"{name}.keras")
        try:
            model.save(path)
        except Exception as exc:
            unclear.append(f"a model using {name} could not be saved ({first_line(exc)})")
            continue
        compiled = bool(facts.get("compile", True))
        try:
            keras.models.load_model(path, compile=compiled)
        except Exception as exc:
            failure = exc
        else:
            loaded.append(name)
            continue
        # The failure is the missing registration only if naming the object fixes it.
        try:
            keras.models.load_model(path, compile=compiled, custom_objects={name: target})
        except Exception as exc:
            unclear.append(f"loading a model using {name} fails even with custom_objects ({first_line(exc)})")
            continue
        found = NOT_FOUND.search(str(failure))
        confirmed.append(f"{type(failure).__name__}: {found.group(0).strip()}" if found else first_line(failure))
    if confirmed:
        more = f" (and {len(confirmed) - 1} more)" if len(confirmed) > 1 else ""
        return {"status": "confirmed", "evidence": confirmed[0] + more}
    if unclear:
        return {"status": "inconclusive", "evidence": "; ".join(unclear)}
    if loaded:
        return {"status": "not reproduced",
                "evidence": f"a model using {', '.join(loaded)} loaded back without custom_objects"}
    return {"status": "inconclusive", "evidence": "the finding names no custom object to check"}
