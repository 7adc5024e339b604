"""TFS105: model.get_weights() dumped with NumPy, pickle or joblib."""

import os
import pickle




def check(facts, workdir):
    keras = keras_in_use()
    import numpy as np

    rng = np.random.default_rng(4)
    x, y = rng.random((16, 4), dtype="float32"), rng.random((16, 3), dtype="float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    weights = model.get_weights()
    function = facts.get("function")
    if function == "numpy.save":
        path = os.path.join(workdir, "weights.npy")
        value = np.array(weights, dtype=object) if facts.get("object_array") else weights
        try:
            np.save(path, value)
            np.load(path)
        except ValueError as exc:
            return {"status": "confirmed", "evidence": f"np.save/np.load of {len(weights)} weight arrays: {first_line(exc)}"}
        return {"status": "not reproduced", "evidence": "np.save and np.load of the weights worked"}
    if function in ("pickle.dump", "joblib.dump"):
        path = os.path.join(workdir, "weights.pkl")
        if function == "joblib.dump":
            try:
                import joblib
            except ImportError:
                return {"status": "inconclusive", "evidence": "joblib is not installed"}
            joblib.dump(weights, path)
            back = joblib.load(path)
        else:
            with open(path, "wb") as handle:
                pickle.dump(weights, handle)
            with open(path, "rb") as handle:
                back = pickle.load(handle)
        kinds = sorted({type(item).__name__ for item in back})
        optimizer_variables = len(model.optimizer.variables)
        evidence = (f"{function} wrote a {type(back).__name__} of {len(back)} {'/'.join(kinds)} "
                    f"(shapes {[getattr(a, 'shape', None) for a in back]}): no model config and none of the "
                    f"optimizer's {optimizer_variables} variables")
        if all(isinstance(item, np.ndarray) for item in back) and len(back) == len(weights):
            return {"status": "confirmed", "evidence": evidence}
        return {"status": "not reproduced", "evidence": evidence}
    if function != "keras.Model.save":
        return {"status": "inconclusive", "evidence": f"{function!r} is not a dump this check knows"}
    # The fix: model.save() keeps architecture, weights and optimizer.
    path = os.path.join(workdir, "model.keras")
    model.save(path)
    again = keras.models.load_model(path)
    same = int(again.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    evidence = f"model.save()+load_model(): {type(again).__name__} with optimizer at iteration {int(again.optimizer.iterations.numpy())}"
    # A .keras file that loses the optimizer is a problem, but not the one this rule names.
    return {"status": "not reproduced" if same else "inconclusive", "evidence": evidence}
