"""TFS410: metrics_names does not name the values evaluate() returns.

Facts: ``form`` (``zip``: ``dict(zip(model.metrics_names, model.evaluate(x, y)))``, ``index``:
``metrics_names[i]`` read before any evaluate(); ``return_dict``: the fix) and ``metrics``
(runnable metric expressions; the accuracy and an AUC when missing).  A fresh binary model is
compiled with them and evaluated once; the names it pairs with the values are compared with
those of ``evaluate(..., return_dict=True)``.
"""

import keras
import numpy as np



def check(facts, workdir):
    metrics = []
    for source in facts.get("metrics") or ["'accuracy'", "keras.metrics.AUC(name='auc')"]:
        try:
            metrics.append(keras_value(source, {"keras": keras}))  # never eval: see docs/verify.md
        except Exception as exc:
            return {"status": "inconclusive", "evidence": f"cannot build the metric {source}: {in_brief(exc)}"}
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 3)).astype("float32"), (rng.random(16) > 0.5).astype("float32")
    form = facts.get("form") or "zip"
    try:
        if form == "return_dict":
            got = model.evaluate(x, y, verbose=0, return_dict=True)
        elif form == "index":
            got = {i: model.metrics_names[i] for i in range(1, len(metrics) + 1)}
        else:
            got = dict(zip(model.metrics_names, model.evaluate(x, y, verbose=0)))
    except IndexError as exc:
        return {"status": "confirmed", "evidence": f"metrics_names of the freshly compiled model: IndexError: {exc}"}
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    names = sorted(got.values()) if form == "index" else sorted(got)
    if names != sorted(expected):
        shown = ", ".join(f"{k!r}" for k in (got.values() if form == "index" else got)) or "nothing"
        return {"status": "confirmed", "evidence": f"the values are labelled {shown}, while evaluate() computed "
                                                   f"{', '.join(repr(k) for k in sorted(expected))}"}
    return {"status": "not reproduced", "evidence": f"labelled {', '.join(repr(k) for k in sorted(got))}, as "
                                                    f"evaluate(return_dict=True) names them"}
