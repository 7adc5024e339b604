"""The same ideas written the way Keras expects: nothing to report here."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="demo")
class Scale(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


x = np.random.rand(256, 16).astype("float32")
y = (x.sum(axis=1) > 8).astype("int32")

model = keras.Sequential([keras.Input((16,)), Scale(3.0), keras.layers.Dense(1)])
model.compile(
    optimizer="adam",
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
)
model.fit(
    x, y, validation_split=0.2, epochs=5,
    callbacks=[keras.callbacks.ModelCheckpoint("best.keras", monitor="val_binary_accuracy")],
)
model.save("final.keras")
restored = keras.models.load_model("final.keras")
