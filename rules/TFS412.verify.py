"""TFS412: Keras 3 models have no reset_states().

Facts: ``model`` (the class the finding names: Sequential, Functional, or None) and ``method``
(``reset_states``, what the code calls; ``layers``, the stateful layers reset one by one, as the
fix says).  A model of one stateful LSTM is built, run once, and reset.
"""

import keras
import numpy as np



def check(facts, workdir):
    if facts.get("model") == "Functional":
        inputs = keras.Input((2, 3), batch_size=1)
        model = keras.Model(inputs, keras.layers.LSTM(2, stateful=True)(inputs))
    else:
        model = keras.Sequential([keras.Input((2, 3), batch_size=1), keras.layers.LSTM(2, stateful=True)])
    model.predict(np.ones((1, 2, 3), "float32"), verbose=0)
    try:
        if facts.get("method") == "layers":
            for layer in model.layers:
                if getattr(layer, "stateful", False):
                    layer.reset_state()
        else:
            model.reset_states()
    except AttributeError as exc:
        return {"status": "confirmed", "evidence": f"{type(model).__name__}.reset_states(): {first_line(exc)}"}
    state = float(np.abs(np.asarray(model.layers[-1].states[0])).sum())
    return {"status": "not reproduced", "evidence": f"the stateful layers were reset (state sum {state}) on Keras "
                                                    f"{keras.__version__}"}
