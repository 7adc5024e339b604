"""TFS307: a Lambda layer around a Python lambda does not load back in safe mode (claim C18).

Facts: ``layer`` (the source of the layer expression, ``keras.layers.Lambda(lambda t: ...)``),
``imports`` (the module's import statements) and, when the finding names a class, ``source``.
``how`` says how the code brings the model back: ``save`` (the default: saved as ``.keras`` in
workdir and loaded with the default safe mode), ``model_from_json``, ``from_config`` or
``clone_model`` (the model is rebuilt that way, in safe mode). The layer is put in a small
Sequential model; the predictions of the rebuilt model are compared.
"""

import ast
import os

import keras
import numpy as np

SHAPES = ((4,), (3, 4), (8, 8, 3))



def run_definitions(source, namespace):
    """Run the imports, functions and classes of ``source`` one by one (an example's script code
    is not run); the project's own imports may fail here, and a lambda seldom needs them."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            try:
                exec(compile(ast.Module([node], []), "<user code>", "exec"), namespace)
            except Exception:
                continue


def check(facts, workdir):
    namespace = {"__name__": "user_code", "keras": keras}
    try:
        run_definitions(facts.get("imports", ""), namespace)
        run_definitions(facts.get("source", ""), namespace)
    except SyntaxError as exc:
        return {"status": "inconclusive", "evidence": f"the module's source could not be read: {in_brief(exc, 260)}"}
    model = None
    for shape in SHAPES:
        try:
            # Built without eval: a layer class called with literals, names of the definitions and
            # lambdas (whose body runs when the layer is called on the probe input).
            layer = keras_value(facts.get("layer", ""), namespace, lambdas=True)
            model = keras.Sequential([keras.Input(shape), layer])
            probe = np.random.default_rng(0).random((2,) + shape).astype("float32")
            expected = np.asarray(model(probe))
            break
        except Exception as exc:
            error, model = exc, None
    if model is None:
        return {"status": "inconclusive", "evidence": f"{facts.get('layer', '')} could not be run on a small float "
                                                      f"input: {in_brief(error, 260)}"}
    customs = {k: v for k, v in namespace.items() if isinstance(v, type)}
    how = facts.get("how") or "save"
    if how == "save":
        path = os.path.join(workdir, "lambda_check.keras")
        try:
            model.save(path)
        except Exception as exc:
            return {"status": "inconclusive", "evidence": f"the model could not be saved: {in_brief(exc, 260)}"}
        rebuild, done = (lambda: keras.models.load_model(path, custom_objects=customs)), "load_model() in safe mode"
    elif how == "model_from_json":
        rebuild, done = (lambda: keras.models.model_from_json(model.to_json(), custom_objects=customs)), how + "()"
    elif how == "from_config":
        rebuild = lambda: keras.Sequential.from_config(model.get_config(), custom_objects=customs)  # noqa: E731
        done = "Sequential.from_config()"
    else:
        rebuild, done = (lambda: keras.models.clone_model(model)), "clone_model()"
    try:
        loaded = rebuild()
    except Exception as exc:
        if "lambda" in str(exc).lower():
            return {"status": "confirmed", "evidence": f"{done}: {in_brief(exc, 260)}"}
        return {"status": "inconclusive", "evidence": f"{done} failed for another reason: {in_brief(exc, 260)}"}
    if not np.allclose(expected, np.asarray(loaded(probe)), atol=1e-5):
        return {"status": "confirmed", "evidence": "the reloaded model gives different predictions"}
    return {"status": "not reproduced", "evidence": f"{done} gave back the model, with the same predictions"}
