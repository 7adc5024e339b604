"""Train a small classifier and export it as a SavedModel for TF Serving (TF 2.15)."""

import numpy as np
import tensorflow as tf

x = np.random.rand(256, 8).astype("float32")
y = (x.sum(axis=1) > 4).astype("int32")

model = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(16, activation="relu"),
                             tf.keras.layers.Dense(1)])  # logits
model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=["accuracy"])
checkpoint = tf.keras.callbacks.ModelCheckpoint("checkpoints/best.h5", save_weights_only=True,
                                                save_best_only=True, monitor="loss")
model.fit(x, y, epochs=2, callbacks=[checkpoint], verbose=0)
# On Keras 2 a path without an extension writes a SavedModel directory, and ModelCheckpoint
# takes a .h5 weights path: Keras 3 refuses both (TFS501, TFS502), but tensorflow==2.15.* is
# pinned here, so tflint-save checks this file as Keras 2 and reports neither.
model.save("exported/classifier")
restored = tf.keras.models.load_model("exported/classifier")
print(restored.predict(x[:2], verbose=0).shape)
