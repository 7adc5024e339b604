"""Batch inference with the exported models."""

import sys

import tensorflow as tf

model = tf.keras.models.load_model("classifier.keras")
legacy = tf.keras.models.load_model("exported/classifier_v1")

if __name__ == "__main__":
    batch = tf.random.uniform((8, 16))
    print(model.predict(batch), legacy.predict(batch), file=sys.stdout)
