"""Custom layers for the demo classifier: each one trains fine and breaks on reload."""

import tensorflow as tf
from tensorflow import keras


class Scale(keras.layers.Layer):
    """Multiplies by a constant; get_config forgets it, so 3.0 reloads as 1.0."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return super().get_config()


class GatedDense(keras.layers.Layer):
    """A callable default and no get_config: Keras cannot write its config."""

    def __init__(self, units, gate=tf.nn.sigmoid, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gate = gate
        self.dense = keras.layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs) * self.gate(inputs[..., :1])


class Bias(keras.layers.Layer):
    """No **kwargs, and a tf.Variable that Keras 3 neither trains nor saves."""

    def __init__(self, size):
        super().__init__()
        self.size = size
        self.b = tf.Variable(tf.zeros([size]))

    def call(self, inputs):
        return inputs + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size})
        return config
