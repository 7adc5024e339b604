"""TFS205: a custom object registered in a module the loading program never imports (claim C06).

Facts: ``objects`` (``{"name", "kind": "layer" | "model"}`` for classes, ``{"name", "role"}`` for
functions), ``compile``, ``source`` (the user's definitions, with their registering decorators) and,
for the good example, ``imports_registering_module``.  Running the definitions registers the objects,
as importing their module does in the training program; a tiny model using each object is saved as
``.keras``.  Then the registrations are taken out of Keras's registry, which is where the serving
program stands when it never imported the module (the decorator never ran there: observed in two
processes by docs/facts/tfs205_registration_not_imported.py), and the file is loaded.  With
``imports_registering_module`` the registrations stay, as the fix says.  The worker puts Keras's
registry back after every check.
"""

import os
import re

import keras
import numpy as np

NOT_FOUND = re.compile(r"(Could not locate (?:class|function) '[^']+'|Unknown (?:layer|loss function|metric "
                       r"function|activation function): |The added layer must be an instance of class Layer)[^\n]*")


def registry():
    try:
        return keras.saving.get_custom_objects()
    except AttributeError:  # Keras 2 before keras.saving
        return keras.utils.get_custom_objects()


def tiny_model(obj, target):
    role, kind = obj.get("role"), obj.get("kind")
    if role is not None:
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(2, activation=target if role == "activation" else None)])
        model.compile(optimizer="sgd", loss=target if role == "loss" else "mse",
                      metrics=[target] if role == "metric" else [])
        return model
    built = construct({obj["name"]: target}, obj["name"], obj.get("call_args", ""))
    if kind == "layer":
        return keras.Sequential([keras.Input((4,)), built])
    built(np.zeros((2, 4), "float32"))
    return built


def check(facts, workdir):
    try:
        namespace = user_code(facts)
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"the user's definitions could not be run: {first_line(exc)}"}
    compiled = bool(facts.get("compile", True))
    confirmed, unclear, loaded = [], [], []
    for obj in facts.get("objects", ()):
        name = obj.get("name", "")
        target = namespace.get(name)
        registered = [key for key, value in registry().items() if value is target]
        if target is None or not registered:
            unclear.append(f"{name} is not registered by its module's definitions")
            continue
        path = os.path.join(workdir, f"{name}.keras")
        try:
            tiny_model(obj, target).save(path)
        except Exception as exc:
            unclear.append(f"a model using {name} could not be built and saved ({first_line(exc)})")
            continue
        if not facts.get("imports_registering_module"):
            for key in registered:
                registry().pop(key, None)
        try:
            keras.models.load_model(path, compile=compiled)
        except Exception as exc:
            found = NOT_FOUND.search(str(exc))
            confirmed.append(f"{type(exc).__name__}: {found.group(0).strip()}" if found else first_line(exc))
        else:
            loaded.append(name)
    if confirmed:
        more = f" (and {len(confirmed) - 1} more)" if len(confirmed) > 1 else ""
        return {"status": "confirmed", "evidence": confirmed[0] + more}
    if unclear:
        return {"status": "inconclusive", "evidence": "; ".join(unclear)}
    if loaded:
        how = "with" if facts.get("imports_registering_module") else "without"
        return {"status": "not reproduced", "evidence": f"a model using {', '.join(loaded)} loaded back {how} "
                                                        f"the registration"}
    return {"status": "inconclusive", "evidence": "the finding names no custom object to check"}
