"""TFS502: Keras 3 save_weights()/load_weights()/ModelCheckpoint with a path they refuse."""

import os
import re


def check(facts, workdir):
    keras = keras_in_use()
    # tf.keras's Keras 2 API module (TF_USE_LEGACY_KERAS) has no __version__.
    major = int(str(getattr(keras, "__version__", None) or "2").split(".")[0])
    if major != 3:
        return {"status": "inconclusive", "evidence": f"needs Keras 3, Keras {major} is in use"}
    call = facts.get("call") or "save_weights"
    name = os.path.basename((facts.get("path") or "").rstrip("/")) or "checkpoint"
    if call != "ModelCheckpoint":  # only ModelCheckpoint fills in {epoch}
        name = re.sub(r"\{[^}]*\}", "1", name)
    path = os.path.join(workdir, name)

    def said(exc):
        # The evidence names the user's file, not this check's temporary directory.
        return first_line(exc).replace(path, name)

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    if call == "ModelCheckpoint":
        only = facts.get("save_weights_only")
        errors = []
        for mode in [only] if only is not None else [True, False]:
            try:
                keras.callbacks.ModelCheckpoint(path, save_weights_only=mode)
            except ValueError as exc:
                errors.append(f"save_weights_only={mode}: {said(exc)}")
            else:
                return {"status": "not reproduced", "evidence": f"ModelCheckpoint({name!r}, save_weights_only={mode}) worked"}
        return {"status": "confirmed", "evidence": f"ModelCheckpoint({name!r}): " + "; ".join(errors)}
    try:
        if call == "save_weights":
            model.save_weights(path)
        else:
            # A file of that name, written the way Keras writes such files, when it can be.
            if name.endswith(".weights.h5"):
                model.save_weights(path)
            elif name.endswith((".keras", ".h5", ".hdf5")):
                model.save(path)
            model.load_weights(path)
    except ValueError as exc:
        return {"status": "confirmed", "evidence": f"{call}({name!r}): {said(exc)}"}
    except OSError as exc:
        return {"status": "inconclusive", "evidence": f"{call}({name!r}): {said(exc)}"}
    return {"status": "not reproduced", "evidence": f"{call}({name!r}) worked"}
