# metrics_names read by index, and zipped with evaluate() in one expression, on a freshly
# compiled model (one metric, then two), before any fit/evaluate.
import numpy as np, keras, tensorflow as tf
k = tf.keras
print("keras", keras.__version__)
x, y = np.random.rand(16, 3), (np.random.rand(16) > 0.5).astype("float32")
for metrics in (["accuracy"], ["accuracy", k.metrics.AUC(name="auc")]):
    m = k.Sequential([k.Input((3,)), k.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics)
    print(len(metrics), "metric(s): dict(zip(m.metrics_names, m.evaluate(x, y))) =",
          dict(zip(m.metrics_names, m.evaluate(x, y, verbose=0))))
    m2 = k.Sequential([k.Input((3,)), k.layers.Dense(1, activation="sigmoid")])
    m2.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics)
    for i in (1, 2):
        try:
            print(len(metrics), f"metric(s): fresh metrics_names[{i}] =", m2.metrics_names[i])
        except Exception as e:
            print(len(metrics), f"metric(s): fresh metrics_names[{i}]:", type(e).__name__, e)
    scores = m2.evaluate(x, y, verbose=0)
    for i in (1, 2):
        try:
            print(len(metrics), f"metric(s): after evaluate metrics_names[{i}] =", m2.metrics_names[i], "value", scores[i])
        except Exception as e:
            print(len(metrics), f"metric(s): after evaluate metrics_names[{i}]:", type(e).__name__, e)
    print(len(metrics), "metric(s): evaluate(return_dict=True) =", m2.evaluate(x, y, verbose=0, return_dict=True))
