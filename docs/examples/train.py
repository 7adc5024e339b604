"""Train a binary classifier on logits and keep the best weights; a second run goes on from them."""

import os

import numpy as np
import tensorflow as tf

from layers import GatedDense, Scale

x_train = np.random.rand(512, 16).astype("float32")
y_train = (x_train.sum(axis=1) > 8).astype("int32")

model = tf.keras.Sequential([
    tf.keras.Input((16,)),
    Scale(3.0),
    GatedDense(32),
    tf.keras.layers.Dense(1),  # logits
])
model.compile(
    optimizer="adam",
    loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
callbacks = [
    tf.keras.callbacks.ModelCheckpoint("checkpoints/best.h5", save_weights_only=True),
    tf.keras.callbacks.EarlyStopping(monitor="val_acc", patience=3),
]
if os.path.exists("final.weights.h5"):  # an interrupted run goes on from its last weights
    model.load_weights("final.weights.h5")
model.fit(x_train, y_train, validation_split=0.2, epochs=20, callbacks=callbacks)
model.save_weights("final.weights.h5")
