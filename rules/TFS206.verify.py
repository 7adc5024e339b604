"""TFS206: tf.train.latest_checkpoint() over a folder of Keras 3 checkpoint files.

Facts: ``loader`` (load_weights or load_model) and ``finder`` (``latest_checkpoint``, what the
code does; ``glob``, the newest file by modification time, as the fix says).  Two epochs of
ModelCheckpoint write ``.weights.h5`` (or ``.keras``) files into workdir; the finder looks for
the newest and the loader reads it into a fresh model.
"""

import glob
import os

import keras
import numpy as np
import tensorflow as tf



def check(facts, workdir):
    loader = facts.get("loader") or "load_weights"
    suffix = ".weights.h5" if loader == "load_weights" else ".keras"
    folder = os.path.join(workdir, "checkpoints")
    os.makedirs(folder, exist_ok=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    saver = keras.callbacks.ModelCheckpoint(os.path.join(folder, "cp-{epoch:02d}" + suffix),
                                            save_weights_only=loader == "load_weights")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=2, verbose=0, callbacks=[saver])
    files = sorted(os.listdir(folder))
    if facts.get("finder") == "glob":
        found = glob.glob(os.path.join(folder, "*" + suffix))
        latest = max(found, key=os.path.getmtime) if found else None
    else:
        latest = tf.train.latest_checkpoint(folder)
    if latest is None:
        return {"status": "confirmed", "evidence": f"tf.train.latest_checkpoint() returned None for a folder of "
                                                   f"{', '.join(files)}: the resume loads nothing"}
    try:
        if loader == "load_weights":
            fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            fresh.load_weights(latest)
        else:
            keras.models.load_model(latest)
    except Exception as exc:
        return {"status": "confirmed", "evidence": f"{loader}({os.path.basename(latest)!r}): {in_brief(exc, 260)}"}
    return {"status": "not reproduced", "evidence": f"{loader}() read {os.path.basename(latest)}, the newest of "
                                                    f"{', '.join(files)}"}
