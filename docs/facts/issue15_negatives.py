"""The idioms that look like TFS307/TFS410/TFS411/TFS412 findings and are not (or fail earlier)."""
import os

import numpy as np
import tensorflow as tf
from tensorflow import keras

print("tensorflow", tf.__version__)
rng = np.random.default_rng(0)
x, y = rng.random((16, 3)).astype("float32"), (rng.random((16, 1)) > 0.5).astype("float32")
keras3 = int(tf.__version__.split(".")[1]) >= 16


def attempt(label, fn):
    try:
        print(label, "->", fn())
    except Exception as exc:
        print(label, "-> raises", type(exc).__name__ + ":", str(exc).splitlines()[0][:200])


# TFS411: a Normalization layer's mean and variance are weights that load_weights() restores.
def normalized():
    inputs = keras.Input((3,))
    norm = keras.layers.Normalization()
    model = keras.Model(inputs, keras.layers.Dense(1)(norm(inputs)))
    model.compile(optimizer="adam", loss="mse")
    return model, norm


features = rng.random((64, 3)).astype("float32") * 50 + 10
adapted, norm = normalized()
norm.adapt(features)
weights = "adapted.weights.h5" if keras3 else "adapted.h5"
adapted.save_weights(weights)
fresh, fresh_norm = normalized()
fresh.load_weights(weights)
fresh.fit(features, np.ones((64, 1), "float32"), epochs=1, verbose=0)
print("TFS411 unadapted layer, load_weights of an adapted model, fit: mean", np.round(np.asarray(fresh_norm.mean).ravel(), 2),
      "(adapted:", np.round(np.asarray(norm.mean).ravel(), 2), ")")


# TFS410: a model fit by a helper has its names on Keras 2; a model with its own `metrics` property names them.
def compiled():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(model):
    model.fit(x, y, epochs=1, verbose=0)


model = compiled()
train(model)
print("TFS410 after a helper's fit:", dict(zip(model.metrics_names, model.evaluate(x, y, verbose=0))))

loss_tracker, mae_metric = keras.metrics.Mean(name="loss"), keras.metrics.MeanAbsoluteError(name="mae")


class OwnMetrics(keras.Model):
    def test_step(self, data):
        features_, labels = data
        predictions = self(features_, training=False)
        loss_tracker.update_state(tf.reduce_mean(tf.square(labels - predictions), axis=-1))
        mae_metric.update_state(labels, predictions)
        return {"loss": loss_tracker.result(), "mae": mae_metric.result()}

    @property
    def metrics(self):
        return [loss_tracker, mae_metric]


inputs = keras.Input((3,))
own = OwnMetrics(inputs, keras.layers.Dense(1)(inputs))
own.compile(optimizer="adam", loss="mse", metrics=["mae", "mse"])
print("TFS410 metrics property: metrics_names", own.metrics_names,
      dict(zip(own.metrics_names, own.evaluate(x, y, verbose=0))))

# TFS307 on Keras 3: a save to a path without .keras/.h5 fails before any file holds the lambda.
lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)])
lam.compile(optimizer="adam", loss="mse")
attempt("TFS307 model.save('saved/lambda_model')", lambda: lam.save(os.path.join("saved", "lambda_model")))
attempt("TFS307 ModelCheckpoint('ckpt_{epoch}')",
        lambda: lam.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint("ckpt_{epoch}")]) and
        sorted(os.listdir(".")))

# TFS206 on Keras 2: what tf.train.latest_checkpoint() finds.
for name in ["w", "w.h5"]:
    folder = "ckpt_" + name.replace(".", "_")
    os.makedirs(folder)
    attempt(f"TFS206 save_weights('{folder}/{name}')", lambda: compiled().save_weights(os.path.join(folder, name)))
    latest = tf.train.latest_checkpoint(folder)
    print("   files", sorted(os.listdir(folder)), "latest_checkpoint ->", latest)
    attempt("   load_weights(latest)", lambda: compiled().load_weights(latest) and "loaded")
