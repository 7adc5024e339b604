"""TFS409: a callback monitoring a key the model never logs (observations on metric names).

Facts: ``callback`` (EarlyStopping, ReduceLROnPlateau or ModelCheckpoint), ``monitor``,
``mode``, ``save_best_only``, ``validation`` (whether fit gets validation data), ``metrics``
(expressions), ``loss``, ``activation``, ``units`` and ``labels``.  A small model of that output
is compiled with that loss and those metrics and fitted for 3 epochs with the callback; the
keys it logged and what the callback said (warning or error) are the evidence.
"""

import logging
import os
import warnings

import numpy as np

import keras


class Captured(logging.Handler):
    """Keras 2 callbacks warn through the 'tensorflow' logger, Keras 3 through warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def data(facts):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    units = facts.get("units") or 1
    labels = facts.get("labels") or ("binary" if units == 1 else "sparse")
    if labels == "binary":
        return x, (x[:, :1] > 0).astype("float32"), units, facts.get("activation") or "sigmoid", "binary_crossentropy"
    classes = rng.integers(0, units, 64)
    y = np.eye(units, dtype="float32")[classes] if labels == "categorical" else classes
    loss = "categorical_crossentropy" if labels == "categorical" else "sparse_categorical_crossentropy"
    return x, y, units, facts.get("activation") or "softmax", loss


def check(facts, workdir):
    scope = {"keras": keras}
    if any(m is None for m in facts.get("metrics") or []):
        return {"status": "inconclusive", "evidence": "a metric of the model is not a Keras expression"}
    try:
        metrics = [keras_value(m, scope) for m in facts.get("metrics") or []]
        x, y, units, activation, default_loss = data(facts)
        loss = keras_value(facts["loss"], scope) if facts.get("loss") else default_loss
    except Exception as exc:
        return {"status": "inconclusive", "evidence": f"cannot build the metrics or loss: {in_brief(exc)}"}
    name, monitor = facts.get("callback", "EarlyStopping"), facts["monitor"]
    options = {"monitor": monitor, "mode": facts.get("mode") or "auto"}
    if name == "ModelCheckpoint":
        extension = ".keras" if keras.__version__.startswith("3") else ".h5"
        callback = keras.callbacks.ModelCheckpoint(os.path.join(workdir, "best" + extension),
                                                   save_best_only=bool(facts.get("save_best_only")), **options)
    else:
        callback = getattr(keras.callbacks, name)(**options)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    validation = {"validation_split": 0.25} if facts.get("validation") is not False else {}
    captured = Captured()
    logging.getLogger("tensorflow").addHandler(captured)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback], **validation)
    except Exception as exc:
        said = f"fit() with {name}(monitor={monitor!r}): {in_brief(exc, 220)}"
        # Keras 3's ValueError names the key: "EarlyStopping callback received monitor=val_acc, ..."
        if monitor in str(exc):
            return {"status": "confirmed", "evidence": said}
        return {"status": "inconclusive", "evidence": f"{said} (an error that does not name {monitor!r})"}
    finally:
        logging.getLogger("tensorflow").removeHandler(captured)
    keys = sorted(history.history)
    said = [str(w.message) for w in caught if monitor in str(w.message)] + [m for m in captured.lines if monitor in m]
    if monitor in keys:
        return {"status": "not reproduced", "evidence": f"{monitor!r} is logged: {', '.join(keys)}"}
    note = f"; {name} said: {' '.join(said[0].split())[:200]}" if said else ""
    return {"status": "confirmed", "evidence": f"{monitor!r} is never logged (keys: {', '.join(keys)}){note}"}
