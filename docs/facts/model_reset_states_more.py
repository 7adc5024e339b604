# Which Keras 3 models lack reset_states(): Sequential, functional, subclassed, loaded; what the
# stateful layers keep; the advised replacement.
import numpy as np, keras, tensorflow as tf
k = tf.keras
print("keras", keras.__version__)
inp = k.Input((2, 3), batch_size=1)
functional = k.Model(inp, k.layers.LSTM(2, stateful=True)(inp))


class Sub(k.Model):
    def __init__(self):
        super().__init__()
        self.rnn = k.layers.LSTM(2, stateful=True)

    def call(self, x):
        return self.rnn(x)


sub = Sub(); sub(np.zeros((1, 2, 3), "float32"))
seq = k.Sequential([k.Input((2, 3), batch_size=1), k.layers.LSTM(2, stateful=True)])
seq.save("s.keras" if keras.__version__ >= "3" else "s.h5")
loaded = k.models.load_model("s.keras" if keras.__version__ >= "3" else "s.h5")
for label, model in (("functional", functional), ("subclassed", sub), ("loaded", loaded)):
    try:
        model.reset_states(); print(label, "model.reset_states(): ok")
    except Exception as e:
        print(label, "model.reset_states():", type(e).__name__, e)
print("model.reset_metrics exists:", hasattr(seq, "reset_metrics"))
layer = seq.layers[0]
seq.predict(np.ones((1, 2, 3), "float32"), verbose=0)
print("LSTM state after predict (nonzero):", bool(np.abs(np.asarray(layer.states[0])).sum() > 0))
for layer in seq.layers:
    if getattr(layer, "stateful", False):
        layer.reset_state() if hasattr(layer, "reset_state") else layer.reset_states()
print("LSTM state after the layers' reset_state():", float(np.abs(np.asarray(seq.layers[0].states[0])).sum()))
print("LSTM layer has reset_states:", hasattr(seq.layers[0], "reset_states"), "reset_state:", hasattr(seq.layers[0], "reset_state"))
