"""Metric rules TFS401-TFS409: pairings traced back to the model, hand-written loops, custom metrics."""

import pytest

from helpers import codes, lint, only


def found(src, code, keras=3):
    return [(f.code, f.line) for f in only(lint(src, keras=keras), code)]


def messages(src, code, keras=3):
    return [f.message for f in only(lint(src, keras=keras), code)]


# -- TFS401 exact-match-accuracy ---------------------------------------------------------------

SIGMOID_MODEL = """
import keras

model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
"""


def test_401_accuracy_object_with_sigmoid_output():
    src = SIGMOID_MODEL + 'model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.Accuracy()])\n'
    findings = only(lint(src), "TFS401")
    assert [(f.code, f.line) for f in findings] == [("TFS401", 9)]
    assert "exact matches" in findings[0].message and "0.0" in findings[0].message
    assert "BinaryAccuracy()" in findings[0].message
    assert findings[0].data["metric"] == "keras.metrics.Accuracy()"
    assert findings[0].data["loss"] == "'binary_crossentropy'"
    assert findings[0].data["activation"] == "sigmoid" and findings[0].data["units"] == 1


def test_401_tf_keras_spelling_and_class_reference():
    src = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[tf.keras.metrics.Accuracy],
    )
    """
    findings = only(lint(src), "TFS401")
    assert [(f.code, f.line) for f in findings] == [("TFS401", 8)]
    assert "Dimensions must be equal" in findings[0].message
    assert "SparseCategoricalAccuracy()" in findings[0].message


def test_401_keras3_error_only_for_labels_of_shape_n():
    # Keras 3.15 fit()/evaluate() with softmax + sparse loss + Accuracy(): labels (n,) raised
    # "ValueError: Dimensions must be equal", labels (n, 1) gave accuracy 0.0 and no error.
    # Keras 2.15 raised "Shapes (8, 1) and (8, 3) are incompatible" for both.
    sparse = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[keras.metrics.Accuracy()])
    """
    message = messages(sparse, "TFS401")[0]
    assert "integer labels of shape (n,) it fails with 'ValueError: Dimensions must be equal'" in message
    assert "labels of shape (n, 1) it reports 0.0" in message
    assert "(n, 1)" not in messages(sparse, "TFS401", keras=2)[0]
    softmax_only = sparse.replace('loss="sparse_categorical_crossentropy", ', "")
    message = messages(softmax_only, "TFS401")[0]
    assert "integer labels of shape (n,) and reports 0.0 with labels of shape (n, 1)" in message
    assert "(n,)" not in messages(softmax_only, "TFS401", keras=2)[0]


def test_401_keras2_quotes_the_keras2_error():
    src = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=[tf.keras.metrics.Accuracy()])
    """
    assert "Shapes (32, 1) and (32, 3) are incompatible" in messages(src, "TFS401", keras=2)[0]


def test_401_from_import_and_object_bound_to_a_name():
    src = """
    from tensorflow.keras.metrics import Accuracy
    from tensorflow.keras import layers, models

    exact = Accuracy()
    loss_fn = "categorical_crossentropy"
    inputs = layers.Input((8,))
    outputs = layers.Dense(4, activation="softmax")(inputs)
    net = models.Model(inputs, outputs)
    net.compile(loss=loss_fn, metrics=[exact])
    """
    findings = only(lint(src), "TFS401")
    assert [(f.code, f.line) for f in findings] == [("TFS401", 10)]
    assert "one-hot labels never equal probabilities" in findings[0].message


def test_401_sigmoid_output_alone_is_enough():
    src = SIGMOID_MODEL + 'model.compile(loss="mse", metrics=[keras.metrics.Accuracy()])\n'
    assert "ends in a sigmoid" in messages(src, "TFS401")[0]


def test_401_strings_are_fine_in_any_case():
    for metric in ("'accuracy'", "'Accuracy'", "'acc'", "'ACC'"):
        src = SIGMOID_MODEL + f'model.compile(loss="binary_crossentropy", metrics=[{metric}])\n'
        assert not lint(src), metric


def test_401_regression_is_left_alone():
    src = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=[keras.metrics.Accuracy()])
    """
    assert not found(src, "TFS401")


def test_401_unknown_model_and_loss_is_left_alone():
    src = """
    import keras
    from project import build, my_loss

    model = build()
    model.compile(loss=my_loss, metrics=[keras.metrics.Accuracy()])
    """
    assert not found(src, "TFS401")


def test_401_hand_written_loop_on_probabilities():
    src = """
    import tensorflow as tf

    accuracy = tf.keras.metrics.Accuracy()


    @tf.function
    def test_step(model, x, y):
        probs = tf.nn.softmax(model(x, training=False))
        accuracy.update_state(y, probs)
    """
    findings = only(lint(src), "TFS401")
    assert [(f.code, f.line) for f in findings] == [("TFS401", 10)]
    assert "softmax probabilities" in findings[0].message


def test_401_hand_written_loop_on_integer_predictions_is_fine():
    src = """
    import tensorflow as tf

    accuracy = tf.keras.metrics.Accuracy()


    @tf.function
    def test_step(model, x, y):
        probs = tf.nn.softmax(model(x, training=False))
        accuracy.update_state(y, tf.argmax(probs, axis=-1))
        accuracy.update_state(y, tf.cast(probs > 0.5, tf.int32))
    """
    assert not lint(src)


def test_401_shadowed_keras_is_not_keras():
    src = """
    import keras


    def compile_it(model, keras):
        model.compile(loss="binary_crossentropy", metrics=[keras.metrics.Accuracy()])
    """
    assert not found(src, "TFS401")


# -- TFS402 metric-loss-mismatch --------------------------------------------------------------

def compiled(loss, metric, units=10, activation="softmax", keras=3):
    src = f"""
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((20,)), tf.keras.layers.Dense({units}, activation="{activation}")])
    model.compile(optimizer="adam", loss={loss}, metrics=[{metric}])
    """
    return lint(src, keras=keras)


def test_402_categorical_accuracy_with_sparse_loss():
    findings = only(compiled('"sparse_categorical_crossentropy"', "tf.keras.metrics.CategoricalAccuracy()"), "TFS402")
    assert [(f.code, f.line) for f in findings] == [("TFS402", 5)]
    assert "silently wrong" in findings[0].message and "0.055" in findings[0].message
    assert findings[0].data["labels"] == "sparse" and findings[0].data["units"] == 10


def test_402_string_names_and_loss_objects():
    assert codes(compiled("tf.keras.losses.SparseCategoricalCrossentropy()", "'categorical_accuracy'")) == [("TFS402", 5)]
    found_sparse = compiled("tf.keras.losses.CategoricalCrossentropy(from_logits=False)", "'sparse_categorical_accuracy'")
    assert codes(found_sparse) == [("TFS402", 5)] and "Incompatible shapes" in found_sparse[0].message
    inflated = compiled("'categorical_crossentropy'", "tf.keras.metrics.BinaryAccuracy()")
    assert codes(inflated) == [("TFS402", 5)] and "inflated" in inflated[0].message


def test_402_binary_accuracy_with_sparse_loss_depends_on_keras():
    k3 = compiled("'sparse_categorical_crossentropy'", "'binary_accuracy'")
    k2 = compiled("'sparse_categorical_crossentropy'", "'binary_accuracy'", keras=2)
    assert "Incompatible shapes: [32] vs. [32,10]" in k3[0].message
    assert "0.088" in k2[0].message


def test_402_matching_pairs_are_fine():
    for loss, metric in [
        ("'sparse_categorical_crossentropy'", "tf.keras.metrics.SparseCategoricalAccuracy()"),
        ("'categorical_crossentropy'", "'categorical_accuracy'"),
        ("'categorical_crossentropy'", "'accuracy'"),
        ("tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "'accuracy'"),
        ("'binary_crossentropy'", "tf.keras.metrics.BinaryAccuracy()"),
    ]:
        assert not compiled(loss, metric, activation="softmax" if "categorical" in loss else "sigmoid"), (loss, metric)


def test_402_loss_defined_earlier_and_metric_from_import():
    src = """
    from tensorflow import keras
    from tensorflow.keras.metrics import SparseCategoricalAccuracy as SCA

    LOSS = keras.losses.CategoricalCrossentropy()
    METRICS = [SCA(name="acc")]


    def build():
        model = keras.Sequential()
        model.add(keras.layers.Dense(64, activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(
            optimizer="adam",
            loss=LOSS,
            metrics=METRICS,
        )
        return model
    """
    assert codes(lint(src)) == [("TFS402", 6)]


def test_402_per_output_losses_and_unknown_losses_are_left_alone():
    src = """
    import keras
    from mylosses import focal

    model = keras.Model(inputs, [a, b])
    model.compile(loss={"a": "sparse_categorical_crossentropy", "b": "mse"}, metrics=[keras.metrics.CategoricalAccuracy()])
    other = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
    other.compile(loss=focal, metrics=["categorical_accuracy"])
    """
    assert not lint(src)


def test_402_positional_compile_arguments():
    src = """
    import keras

    model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", None, ["categorical_accuracy"])
    """
    assert codes(lint(src)) == [("TFS402", 5)]
    src2 = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["categorical_accuracy"])
    """
    assert codes(lint(src2, keras=2)) == [("TFS402", 5)]


def test_402_re_compile_is_not_a_model():
    src = """
    import re
    import keras

    pattern = re.compile("categorical_accuracy")
    """
    assert not lint(src)


# -- TFS403 logits-thresholded-as-probabilities ------------------------------------------------

LOGITS_MODEL = """
import keras

inputs = keras.Input((8,))
hidden = keras.layers.Dense(16, activation="relu")(inputs)
logits = keras.layers.Dense(1, name="logits")(hidden)
model = keras.Model(inputs=inputs, outputs=logits)
loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
"""


def test_403_functional_logits_with_accuracy_string_and_objects():
    src = LOGITS_MODEL + (
        'model.compile(loss=loss_fn, metrics=["accuracy", keras.metrics.AUC(), keras.metrics.Precision(),\n'
        '                                     keras.metrics.Recall(thresholds=0.5), "binary_accuracy"])\n'
    )
    findings = only(lint(src), "TFS403")
    assert [f.line for f in findings] == [9, 9, 9, 10, 10]
    text = " ".join(f.message for f in findings)
    assert "BinaryAccuracy(threshold=0.0)" in text and "AUC(from_logits=True)" in text
    assert "Precision(thresholds=0.0)" in text and "thresholds=0.5" in text
    assert all(f.data["loss"] == "keras.losses.BinaryCrossentropy(from_logits=True)" for f in findings)


def test_403_fixed_metrics_are_fine():
    src = LOGITS_MODEL + (
        "model.compile(loss=loss_fn, metrics=[keras.metrics.BinaryAccuracy(threshold=0.0), "
        "keras.metrics.AUC(from_logits=True), keras.metrics.Precision(thresholds=0.0), "
        "keras.metrics.Recall(thresholds=0)])\n"
    )
    assert not lint(src)


def test_403_sigmoid_output_or_probability_loss_is_fine():
    src = SIGMOID_MODEL + (
        'model.compile(loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy", keras.metrics.AUC()])\n'
        'model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=False), metrics=["accuracy"])\n'
        'model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])\n'
    )
    assert not lint(src)


def test_403_categorical_logits_with_accuracy_is_exact():
    src = """
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    """
    assert not lint(src)


def test_403_accuracy_string_needs_a_single_unit():
    src = """
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5)])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    unknown = keras.models.load_model("m.keras")
    unknown.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    unknown.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.BinaryAccuracy()])
    """
    assert codes(lint(src)) == [("TFS403", 8)]


def test_403_logits_positional_and_focal():
    src = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(loss=tf.keras.losses.BinaryCrossentropy(True), metrics=[tf.keras.metrics.BinaryAccuracy(threshold=0.5)])
    model.compile(loss=tf.keras.losses.BinaryFocalCrossentropy(from_logits=True), metrics=["acc"])
    """
    assert codes(lint(src, keras=2)) == [("TFS403", 5), ("TFS403", 6)]


def test_403_custom_training_loop():
    src = """
    import tensorflow as tf

    loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    train_acc = tf.keras.metrics.BinaryAccuracy()
    val_auc = tf.keras.metrics.AUC()


    @tf.function
    def train_step(model, optimizer, x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        train_acc.update_state(y, logits)
        return loss


    @tf.function
    def val_step(model, x, y):
        logits = model(x, training=False)
        val_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        val_auc.update_state(y, logits)
        probs = tf.sigmoid(logits)
        train_acc.update_state(y, probs)
        return val_loss
    """
    findings = only(lint(src), "TFS403")
    assert [(f.code, f.line) for f in findings] == [("TFS403", 16), ("TFS403", 24)]
    assert "AUC(from_logits=True)" in findings[1].message


def test_403_custom_loop_with_probabilities_is_fine():
    src = """
    import tensorflow as tf

    loss_fn = tf.keras.losses.BinaryCrossentropy()
    train_acc = tf.keras.metrics.BinaryAccuracy()


    def train_step(model, x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = loss_fn(y, probs)
        train_acc.update_state(y, probs)
    """
    assert not lint(src)


def test_403_and_406_quote_the_value_of_the_files_keras_version():
    # C12: BinaryAccuracy on logits 0.715 (Keras 3.15) / 0.721 (Keras 2.15), Recall 0.92 / 0.90;
    # C16: swapped BinaryCrossentropy 0.26 -> 3.43 / 3.29.
    logits = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(), keras.metrics.Recall()])
    """
    accuracy, recall = messages(logits, "TFS403")
    assert "0.715 where" in accuracy and "Recall 0.92 where" in recall
    accuracy, recall = messages(logits, "TFS403", keras=2)
    assert "0.721 where" in accuracy and "Recall 0.90 where" in recall
    swapped = """
    import keras

    bce = keras.metrics.BinaryCrossentropy()
    bce.update_state(preds, labels)
    """
    assert "(observed: 0.26 becomes 3.43)" in messages(swapped, "TFS406")[0]
    assert "(observed: 0.26 becomes 3.29)" in messages(swapped, "TFS406", keras=2)[0]


# -- TFS404 metric-never-reset ------------------------------------------------------------------

TRAIN_STEP = """
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
optimizer = tf.keras.optimizers.Adam()
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
train_loss = tf.keras.metrics.Mean(name="train_loss")


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    train_acc.update_state(y, logits)
    train_loss(loss)
"""


def test_404_epoch_loop_without_reset():
    src = TRAIN_STEP + """

for epoch in range(10):
    for x, y in train_ds:
        train_step(x, y)
    print(epoch, train_loss.result(), train_acc.result())
"""
    findings = only(lint(src), "TFS404")
    assert [(f.code, f.line) for f in findings] == [("TFS404", 25), ("TFS404", 25)]
    assert {f.data["metric"] for f in findings} == {
        "keras.metrics.SparseCategoricalAccuracy()", "keras.metrics.Mean(name=\"train_loss\")",
    }
    assert "train_acc.reset_state()" in " ".join(f.message for f in findings)
    assert "0.5" in findings[0].message


def test_404_reset_in_the_loop_or_in_a_called_function_is_fine():
    reset_direct = TRAIN_STEP + """

for epoch in range(10):
    train_acc.reset_state()
    train_loss.reset_states()
    for x, y in train_ds:
        train_step(x, y)
    print(epoch, train_loss.result(), train_acc.result())
"""
    reset_loop_var = TRAIN_STEP + """

def reset_all():
    for m in (train_acc, train_loss):
        m.reset_state()


if __name__ == "__main__":
    for epoch in range(10):
        for x, y in train_ds:
            train_step(x, y)
        print(epoch, train_loss.result(), train_acc.result())
        reset_all()
"""
    assert not found(reset_direct, "TFS404", keras=2)
    assert not found(reset_loop_var, "TFS404")


def test_404_reset_before_the_loop_does_not_count():
    src = TRAIN_STEP + """

def train(epochs):
    train_acc.reset_state()
    train_loss.reset_state()
    for epoch in range(epochs):
        for x, y in train_ds:
            train_step(x, y)
        tf.print(train_acc.result())
"""
    assert found(src, "TFS404") == [("TFS404", 28)]


def test_404_update_and_read_in_a_called_epoch_function():
    src = """
    import keras

    val_acc = keras.metrics.BinaryAccuracy()


    def evaluate(model, dataset):
        for x, y in dataset:
            val_acc.update_state(y, model(x))
        return float(val_acc.result())


    def fit(model, train, val, epochs):
        for _ in range(epochs):
            model.fit(train, epochs=1)
            print("val accuracy", evaluate(model, val))
    """
    findings = only(lint(src), "TFS404")
    assert [(f.code, f.line) for f in findings] == [("TFS404", 14)]
    assert findings[0].message.startswith("val_acc is updated every batch")


def test_404_fresh_metric_per_call_or_per_epoch_is_fine():
    src = """
    import keras


    def evaluate(model, dataset):
        acc = keras.metrics.BinaryAccuracy()
        for x, y in dataset:
            acc.update_state(y, model(x))
        return float(acc.result())


    def fit(model, train, val, epochs):
        for epoch in range(epochs):
            print("val accuracy", evaluate(model, val))
            loss_metric = keras.metrics.Mean()
            for x, y in train:
                loss_metric.update_state(model.train_on_batch(x, y))
            print(loss_metric.result())
    """
    assert not lint(src)


def test_404_single_pass_and_running_average_are_fine():
    src = """
    import keras

    acc = keras.metrics.BinaryAccuracy()
    for x, y in dataset:
        acc.update_state(y, model(x))
        print("running", acc.result())
    print("final", acc.result())
    """
    assert not lint(src)


def test_404_fit_only_metrics_are_fine():
    src = """
    import keras

    auc = keras.metrics.AUC()
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", metrics=[auc])
    for epoch in range(3):
        model.fit(x, y, epochs=1)
        print(auc.result())
    """
    assert not lint(src)


def test_404_metric_in_a_trainer_class():
    src = """
    import tensorflow as tf


    class Trainer:
        def __init__(self, model):
            self.model = model
            self.acc = tf.keras.metrics.CategoricalAccuracy()

        def train_epoch(self, dataset):
            for x, y in dataset:
                self.acc.update_state(y, self.model(x))

        def fit(self, dataset, epochs):
            for epoch in range(epochs):
                self.train_epoch(dataset)
                print(self.acc.result())
    """
    assert found(src, "TFS404") == [("TFS404", 17)]
    fixed = src.replace("print(self.acc.result())", "print(self.acc.result())\n                self.acc.reset_state()")
    assert not found(fixed, "TFS404")


# -- TFS405 reset-states-removed -------------------------------------------------------------------

def test_405_reset_states_on_metrics_keras3_only():
    src = """
    import tensorflow as tf
    from tensorflow.keras.metrics import Mean

    train_loss = Mean(name="train_loss")
    acc = tf.keras.metrics.BinaryAccuracy()
    train_loss.reset_states()
    acc.reset_states()
    acc.reset_state()
    """
    findings = only(lint(src), "TFS405")
    assert [(f.code, f.line) for f in findings] == [("TFS405", 7), ("TFS405", 8)]
    assert "'Mean' object has no attribute 'reset_states'" in findings[0].message
    assert "train_loss.reset_state()" in findings[0].message
    assert findings[1].data == {"metric": "keras.metrics.BinaryAccuracy()", "method": "reset_states"}
    assert not found(src, "TFS405", keras=2)


def test_405_model_metrics_loop_and_self_attributes():
    src = """
    import keras


    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.tracker = keras.metrics.Mean(name="loss")

        def end_epoch(self):
            for m in self.metrics:
                m.reset_states()
            self.tracker.reset_states()


    def log(model):
        [metric.reset_states() for metric in model.metrics]
    """
    assert found(src, "TFS405") == [("TFS405", 12), ("TFS405", 13), ("TFS405", 17)]


def test_405_message_names_the_class_that_raises():
    # Keras 3.15 raised "'SparseCategoricalAccuracy' object has no attribute 'reset_states'" for the
    # list below (its first element), and "'Mean' ..." for a compiled model's metrics (the loss tracker).
    src = """
    import keras

    acc = keras.metrics.SparseCategoricalAccuracy()
    loss = keras.metrics.Mean()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")


    def end(other_model):
        for m in [acc, loss]:
            m.reset_states()
        for m in model.metrics:
            m.reset_states()
        for m in other_model.metrics:
            m.reset_states()
    """
    first, compiled, unknown = messages(src, "TFS405")
    assert "AttributeError: 'SparseCategoricalAccuracy' object has no attribute 'reset_states'" in first
    assert "AttributeError: 'Mean' object has no attribute 'reset_states'" in compiled
    assert "'Mean'" not in unknown and "the metric object has no attribute 'reset_states'" in unknown
    assert "m.reset_state()" in unknown


def test_405_rnn_layers_models_and_custom_methods_are_fine():
    src = """
    import keras


    class Smoothed(keras.metrics.Metric):
        def reset_states(self):
            self.reset_state()


    lstm = keras.layers.LSTM(8, stateful=True)
    lstm.reset_states()
    model = keras.Sequential([lstm])
    model.reset_states()
    smooth = Smoothed()
    smooth.reset_states()
    for layer in model.layers:
        layer.reset_states()
    unknown.reset_states()
    """
    assert not found(src, "TFS405")


def test_405_custom_metric_without_override_is_flagged():
    src = """
    import keras


    class Count(keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass


    count = Count()
    count.reset_states()
    """
    assert found(src, "TFS405") == [("TFS405", 11)]


# -- TFS406 update-state-argument-order ----------------------------------------------------------

def test_406_swapped_positional_arguments():
    src = """
    import tensorflow as tf

    auc = tf.keras.metrics.AUC()
    precision = tf.keras.metrics.Precision()


    def evaluate(model, dataset):
        for images, labels in dataset:
            preds = model(images)
            auc.update_state(preds, labels)
            precision(y_pred, y_true)
            auc.update_state(val_logits, batch_y)
    """
    findings = only(lint(src), "TFS406")
    assert [(f.code, f.line) for f in findings] == [("TFS406", 11), ("TFS406", 12), ("TFS406", 13)]
    assert "auc.update_state(labels, preds)" in findings[0].message and "1.0 becomes 0.0" in findings[0].message
    assert "precision(y_true, y_pred)" in findings[1].message
    assert findings[0].data == {"metric": "keras.metrics.AUC()", "first": "prediction", "second": "label"}


def test_406_swapped_keywords():
    src = """
    from keras.metrics import BinaryAccuracy

    acc = BinaryAccuracy()
    acc.update_state(y_true=probs, y_pred=targets)
    acc.update_state(y_pred=probs, y_true=targets)
    """
    assert found(src, "TFS406") == [("TFS406", 5)]


def test_406_right_order_and_symmetric_metrics_are_fine():
    src = """
    import keras

    acc = keras.metrics.BinaryAccuracy()
    mse = keras.metrics.MeanSquaredError()
    cat = keras.metrics.CategoricalAccuracy()
    exact = keras.metrics.Accuracy()
    acc.update_state(labels, preds)
    acc.update_state(y, y_hat)
    mse.update_state(preds, labels)
    cat.update_state(outputs, targets)
    exact.update_state(preds, labels)
    acc.update_state(a, b)
    acc.update_state(pred_y, true_y)
    """
    assert not lint(src)


def test_406_keras2_sparse_categorical_message():
    src = """
    import tensorflow as tf

    acc = tf.keras.metrics.SparseCategoricalAccuracy()
    acc.update_state(logits, labels)
    """
    assert "0.0 on Keras 2" in messages(src, "TFS406", keras=2)[0]


# -- TFS407 probabilities-cast-to-int ----------------------------------------------------------

def test_407_casts_of_sigmoid_and_softmax():
    src = """
    import numpy as np
    import tensorflow as tf


    def decide(logits, scores):
        probs = tf.nn.sigmoid(logits)
        a = tf.cast(probs, tf.int32)
        b = tf.cast(tf.nn.softmax(scores), dtype="int64")
        c = probs.numpy().astype(int)
        d = tf.cast(probs[:, 0], np.int32)
        return a, b, c, d
    """
    findings = only(lint(src), "TFS407")
    assert [(f.code, f.line) for f in findings] == [("TFS407", 8), ("TFS407", 9), ("TFS407", 10), ("TFS407", 11)]
    assert "0.8 becomes 0" in findings[0].message and "tf.round(probs)" in findings[0].message
    assert "tf.argmax" in findings[1].message
    assert findings[2].data == {"cast": "astype", "dtype": "int", "activation": "sigmoid", "of": "probabilities"}


def test_407_predict_outputs():
    src = SIGMOID_MODEL + """
probs = model.predict(x_test)
labels = probs.astype("int32")
regressor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
counts = regressor.predict(x_test).astype(int)
loaded = keras.models.load_model("clf.keras")
guesses = loaded.predict(x_test)[:, 0].astype(int)
"""
    assert found(src, "TFS407") == [("TFS407", 11), ("TFS407", 15)]


def test_407_thresholded_rounded_and_argmax_casts_are_fine():
    src = """
    import numpy as np
    import tensorflow as tf

    probs = tf.nn.sigmoid(logits)
    a = tf.cast(probs > 0.5, tf.int32)
    b = tf.cast(tf.round(probs), tf.int32)
    c = tf.cast(tf.argmax(tf.nn.softmax(logits), axis=-1), tf.int32)
    d = np.round(probs.numpy()).astype(int)
    e = tf.cast(probs, tf.float16)
    f = tf.cast(logits, tf.int32)
    """
    assert not lint(src)


def test_407_shadowed_tf_is_not_tensorflow():
    src = """
    import tensorflow as tf


    def decide(tf, probs):
        return tf.cast(tf.nn.sigmoid(probs), tf.int32)
    """
    assert not lint(src)


# -- TFS408 metric-python-state --------------------------------------------------------------------

def test_408_python_counter_and_list_append():
    src = """
    import tensorflow as tf


    class Counter(tf.keras.metrics.Metric):
        def __init__(self, name="counter", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = 0
            self.seen = []

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.seen.append(y_pred)
            self.count += 1

        def result(self):
            return self.count


    metric = Counter(name="c")
    """
    findings = only(lint(src), "TFS408")
    assert [(f.code, f.line) for f in findings] == [("TFS408", 12)]
    assert "self.seen.append(...)" in findings[0].message and "traced" in findings[0].message
    assert findings[0].data == {"class": "Counter", "call_args": 'name="c"'}


def test_408_message_follows_what_the_attribute_holds():
    # Observed: a Python number freezes in fit() (C21); self.total += tf.reduce_sum(y_pred) made Keras 2.15
    # fit() raise TypeError "... is out of scope and cannot be used here" and Keras 3.15 fit() log graph tensors.
    src = """
    import numpy as np
    import tensorflow as tf


    class Number(tf.keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count += int(np.prod(np.shape(y_true)))


    class Tensor(tf.keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total = self.total + tf.reduce_sum(y_pred)


    class Unknown(tf.keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total += helper(y_pred)
    """
    number, tensor, unknown = messages(src, "TFS408")
    assert "so the value freezes (observed: 32 per epoch" in number and "Tensor" not in number
    assert "graph tensors" in tensor and "freezes" not in tensor and "instead of numbers" in tensor
    assert "a Python number there freezes" in unknown and "for tensors fit() logs graph tensors" in unknown
    k2_number, k2_tensor, k2_unknown = messages(src, "TFS408", keras=2)
    assert "freezes" in k2_number and "TypeError" not in k2_number
    assert "is out of scope and cannot be used here" in k2_tensor and "freezes" not in k2_tensor
    assert "freezes" in k2_unknown and "is out of scope" in k2_unknown


def test_408_rebinding_a_variable():
    src = """
    import keras


    class Total(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight(name="total", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total += keras.ops.sum(y_true)

        def result(self):
            return self.total
    """
    findings = only(lint(src), "TFS408")
    assert [(f.code, f.line) for f in findings] == [("TFS408", 11)]
    assert "assign_add" in findings[0].message and "rebinds" in findings[0].message


def test_408_nonzero_initializer_without_reset_state():
    src = """
    import keras


    class Product(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.product = self.add_weight(name="product", shape=(), initializer="ones")
            self.offset = self.add_variable((), keras.initializers.Constant(5.0), name="offset")
            self.count = self.add_weight(name="count", initializer=keras.initializers.Zeros())

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.product.assign(self.product * keras.ops.mean(y_pred))
    """
    findings = only(lint(src), "TFS408")
    assert [(f.code, f.line) for f in findings] == [("TFS408", 8), ("TFS408", 9)]
    assert "initializer=\"ones\"" in findings[0].message and "override reset_state()" in findings[0].message


def test_408_variables_and_own_reset_state_are_fine():
    src = """
    import keras


    class Product(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.product = self.add_weight(name="product", shape=(), initializer="ones")
            self.count = self.add_weight(name="count", initializer="zeros")
            self.threshold = 0.5

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = keras.ops.sum(keras.ops.cast(y_pred > self.threshold, "float32"))
            self.count.assign_add(hits)
            self.product.assign(self.product * keras.ops.mean(y_pred))

        def reset_state(self):
            self.product.assign(1.0)
            self.count.assign(0.0)


    class NotAMetric:
        def update_state(self, x):
            self.count += 1
    """
    assert not lint(src)


# update_state through tf.py_function runs its Python at every step.  Observed on TF 2.21 / Keras 3.15.1
# and TF 2.15 with a counter of 64 samples per epoch: fit() logged 64.0 each epoch when the class has
# reset_state(), 64.0, 128.0, 192.0 without one (the traced Python counter logged 16.0, 0.0, 0.0).
PY_FUNCTION_METRICS = """
import numpy as np
import tensorflow as tf


def per_step(method):
    def run(self, y_true, y_pred, sample_weight=None):
        return tf.py_function(lambda a, b: method(self, a, b), [y_true, y_pred], [])
    return run


class Wrapped(tf.keras.metrics.Metric):
    def __init__(self, name="wrapped", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        def step(labels):
            self.count += int(np.prod(labels.shape))
            return np.float32(0)
        tf.numpy_function(step, [y_true], tf.float32)

    def result(self):
        return tf.py_function(lambda: float(self.count), [], tf.float32)

    def reset_state(self):
        self.count = 0


class Decorated(Wrapped):
    @per_step
    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count += int(np.prod(y_true.shape))


class Replaced(tf.keras.metrics.Metric):
    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls, *args, **kwargs)
        python_update = obj.update_state
        obj.update_state = lambda y_true, y_pred, sample_weight=None: tf.py_function(
            python_update, [y_true, y_pred], [])
        return obj

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count += int(np.prod(y_true.shape))

    def reset_state(self):
        self.count = 0
"""


def test_408_update_state_through_py_function_is_silent():
    assert not only(lint(PY_FUNCTION_METRICS), "TFS408")
    assert not only(lint(PY_FUNCTION_METRICS, keras=2), "TFS408")


def test_408_update_state_through_py_function_without_reset_state():
    src = PY_FUNCTION_METRICS.replace("""    def reset_state(self):
        self.count = 0
""", "")
    findings = only(lint(src), "TFS408")
    assert [f.line for f in findings] == [19, 31, 43]  # the three self.count += ...
    assert all("through tf.py_function" in f.message and "128.0" in f.message for f in findings)
    assert all("freezes" not in f.message for f in findings)


def test_408_a_py_function_elsewhere_does_not_hide_traced_state():
    src = """
    import tensorflow as tf


    class Counter(tf.keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count += 1

        def result(self):
            return tf.py_function(lambda: float(self.count), [], tf.float32)
    """
    assert found(src, "TFS408") == [("TFS408", 7)]


def test_408_subclass_of_a_module_metric():
    src = """
    from tensorflow.keras.metrics import Metric as BaseMetric


    class Base(BaseMetric):
        pass


    class Child(Base):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.calls = self.calls + 1
    """
    assert found(src, "TFS408", keras=2) == [("TFS408", 11)]


# -- TFS409 callback-monitor-unknown -------------------------------------------------------------

FIT = """
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics={metrics})
callbacks = [{callback}]
model.fit(x, y, epochs=5, {validation}callbacks=callbacks)
"""


def fit(metrics, callback, validation="validation_split=0.2, ", keras=3):
    return only(lint(FIT.format(metrics=metrics, callback=callback, validation=validation), keras=keras), "TFS409")


def test_409_val_acc_with_accuracy_string():
    findings = fit('["accuracy"]', 'keras.callbacks.EarlyStopping(monitor="val_acc")')
    assert [(f.code, f.line) for f in findings] == [("TFS409", 6)]
    assert "'val_accuracy'" in findings[0].message
    assert "isn't able to automatically determine" in findings[0].message
    assert findings[0].data["monitor"] == "val_acc" and findings[0].data["metrics"] == ["'accuracy'"]
    k2 = fit('["accuracy"]', 'keras.callbacks.EarlyStopping(monitor="val_acc")', keras=2)
    assert "never stops training" in k2[0].message


def test_409_keys_as_keras_logs_them_are_fine():
    for metrics, monitor in [
        ('["accuracy"]', "val_accuracy"), ('["acc"]', "val_acc"), ('["Accuracy"]', "val_Accuracy"),
        ('["accuracy"]', "loss"), ('["accuracy"]', "val_loss"), ("[keras.metrics.AUC()]", "val_auc"),
        ("[keras.metrics.AUC()]", "val_auc_1"), ('[keras.metrics.AUC(name="roc")]', "val_roc"),
        ('[keras.metrics.BinaryAccuracy("acc")]', "val_acc"), ("[keras.metrics.Precision()]", "precision"),
        ('["AUC"]', "val_auc"), ("[]", "val_loss"),
    ]:
        assert not fit(metrics, f'keras.callbacks.ModelCheckpoint("m.keras", monitor="{monitor}", save_best_only=True)'), (metrics, monitor)


def test_409_val_key_without_validation_data():
    findings = fit('["accuracy"]', 'keras.callbacks.ReduceLROnPlateau(monitor="val_loss")', validation="")
    assert [(f.code, f.line) for f in findings] == [("TFS409", 6)]
    assert "no validation data" in findings[0].message and "never lowers the learning rate" in findings[0].message
    assert not fit('["accuracy"]', 'keras.callbacks.ReduceLROnPlateau(monitor="val_loss")', validation="validation_data=(xv, yv), ")


def test_409_model_checkpoint_needs_save_best_only_unless_keras3_raises():
    plain = 'keras.callbacks.ModelCheckpoint("m.keras", monitor="val_accuracy")'
    assert not fit('["accuracy"]', plain, validation="")
    raising = 'keras.callbacks.ModelCheckpoint("m.keras", monitor="val_acc")'
    assert [f.line for f in fit('["accuracy"]', raising)] == [6]
    assert not fit('["accuracy"]', raising, keras=2)
    best = 'keras.callbacks.ModelCheckpoint("m.keras", "val_acc", 1, True, mode="max")'
    assert "saves every epoch" in fit('["accuracy"]', best)[0].message
    assert "never saves" in fit('["accuracy"]', best, keras=2)[0].message


def test_409_unknown_metrics_or_models_are_left_alone():
    assert not fit("[f1_score]", 'keras.callbacks.EarlyStopping(monitor="val_f1")')
    assert not fit("METRICS", 'keras.callbacks.EarlyStopping(monitor="val_f1")')
    src = """
    import keras
    from zoo import build

    model = build()
    model.compile(loss="mse", metrics=["mae"])
    model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc")])
    """
    assert not lint(src)


def test_409_multi_output_keys_and_custom_metric_functions():
    src = """
    import tensorflow as tf


    def f1(y_true, y_pred):
        return y_pred


    def build():
        inputs = tf.keras.Input((4,))
        model = tf.keras.Model(inputs, [tf.keras.layers.Dense(1)(inputs), tf.keras.layers.Dense(2)(inputs)])
        model.compile(loss=["mse", "mse"], metrics=["mae", f1])
        return model


    model = build()
    model.fit(x, y, validation_split=0.1, callbacks=[
        tf.keras.callbacks.EarlyStopping(monitor="val_dense_1_mae", mode="min"),
        tf.keras.callbacks.EarlyStopping(monitor="val_f1", mode="max"),
        tf.keras.callbacks.EarlyStopping(monitor="val_dense_loss", mode="min"),
        tf.keras.callbacks.EarlyStopping(monitor="val_acc", mode="max"),
    ])
    """
    findings = only(lint(src), "TFS409")
    assert [(f.code, f.line) for f in findings] == [("TFS409", 21)]
    assert "never stops training" in findings[0].message


def test_409_fit_in_main_block_with_callbacks_by_name():
    src = """
    from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint
    from tensorflow.keras.layers import Dense
    from tensorflow.keras.models import Sequential

    if __name__ == "__main__":
        model = Sequential()
        model.add(Dense(10, activation="softmax"))
        model.compile(loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
        stop = EarlyStopping(monitor="val_accuracy", patience=2, mode="max")
        keep = ModelCheckpoint("best.h5", save_best_only=True, monitor="val_sparse_categorical_accuracy")
        model.fit(x, y, 32, 10, 1, [stop, keep], 0.1)
    """
    findings = only(lint(src, keras=2), "TFS409")
    assert [(f.code, f.line) for f in findings] == [("TFS409", 10)]


# -- the model tracing itself ----------------------------------------------------------------------

def test_conditional_last_layer_is_not_guessed():
    src = """
    import keras

    model = keras.Sequential([keras.Input((4,))])
    if binary:
        model.add(keras.layers.Dense(1, activation="sigmoid"))
    else:
        model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(loss="mse", metrics=[keras.metrics.Accuracy()])
    """
    assert not lint(src)


def test_model_built_in_both_branches_is_not_guessed():
    src = """
    import keras

    if binary:
        model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
    else:
        model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=[keras.metrics.Accuracy()])
    """
    assert not lint(src)


def test_activation_layer_dropout_and_factory_function():
    src = """
    import tensorflow as tf
    from tensorflow.keras import layers


    def make_model():
        model = tf.keras.Sequential([
            layers.Dense(1),
            layers.Activation(tf.nn.sigmoid),
            layers.Dropout(0.2),
        ])
        return model


    clf = make_model()
    clf.compile(loss="mse", metrics=[tf.keras.metrics.Accuracy()])
    probs = clf.predict(x)
    hard = tf.cast(probs, tf.int32)
    """
    assert codes(lint(src)) == [("TFS401", 16), ("TFS407", 18)]


def test_aliases_of_tensorflow_keras():
    src = """
    import tensorflow.keras as K
    try:
        from keras import metrics as M
    except ImportError:
        from tensorflow.keras import metrics as M

    net = K.models.Sequential([K.layers.Dense(10, activation="softmax")])
    net.compile(loss=K.losses.SparseCategoricalCrossentropy(), metrics=[M.CategoricalAccuracy()])
    """
    assert codes(lint(src)) == [("TFS402", 9)]


def test_408_variables_made_lazily_in_update_state_are_fine():
    src = """
    import tensorflow as tf


    class RSquare(tf.keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            if not hasattr(self, "squared_sum"):
                self.squared_sum = self.add_weight(name="squared_sum", shape=y_true.shape[1:], initializer="zeros")
            self.squared_sum.assign_add(tf.reduce_sum(y_true ** 2, axis=0))
    """
    assert not lint(src)


def test_408_plain_assignments_that_do_not_accumulate_are_fine():
    src = """
    import keras


    class Tracked(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight(name="total", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.classes = y_pred.shape[-1]
            self.total.assign_add(keras.ops.sum(y_true))
    """
    assert not lint(src)


def test_407_predict_of_an_unknown_model_says_classifier():
    src = """
    import keras

    model = keras.models.load_model("clf.keras")
    labels = model.predict(x).astype(int)
    """
    assert "a classifier's predictions" in messages(src, "TFS407")[0]


def test_404_while_loop_over_epochs():
    src = """
    import keras

    loss_avg = keras.metrics.Mean()
    epoch = 0
    while epoch < max_epochs:
        loss_avg.update_state(step())
        print(loss_avg.result())
        epoch += 1
    """
    assert found(src, "TFS404") == [("TFS404", 8)]


def test_402_keras2_quotes_keras2_values():
    wrong = compiled("'sparse_categorical_crossentropy'", "tf.keras.metrics.CategoricalAccuracy()", keras=2)
    inflated = compiled("'categorical_crossentropy'", "'binary_accuracy'", keras=2)
    assert "0.097 where the true accuracy is 0.90" in wrong[0].message
    assert "0.981" in inflated[0].message


# -- TFS410 metrics-names-mismatch ---------------------------------------------------------------

COMPILED = """
import numpy as np
import tensorflow as tf

x, y = np.random.rand(16, 3), (np.random.rand(16) > 0.5).astype("float32")
model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=METRICS)
"""
TWO = COMPILED.replace("METRICS", '["accuracy", tf.keras.metrics.AUC(name="auc")]')


@pytest.mark.parametrize("use", [
    "results = dict(zip(model.metrics_names, model.evaluate(x, y)))",
    "for name, value in zip(model.metrics_names, model.evaluate(x, y, verbose=0)):\n    print(name, value)",
    "scores = model.evaluate(x, y)\nfor name, value in zip(model.metrics_names, scores):\n    print(name, value)",
    'print("%s: %.2f%%" % (model.metrics_names[1], model.evaluate(x, y)[1] * 100))',
    "logs = dict(zip(model.metrics_names, model.train_on_batch(x, y)))",
])
def test_410_keras3_names_are_loss_and_compile_metrics(use):
    findings = only(lint(TWO + use + "\n"), "TFS410")
    assert len(findings) == 1, [f.message for f in findings]
    assert "['loss', 'compile_metrics']" in findings[0].message
    assert "return_dict=True" in findings[0].message


def test_410_keras3_index_two_raises():
    [finding] = only(lint(TWO + "print(model.metrics_names[2])\n"), "TFS410")
    assert "IndexError: list index out of range" in finding.message


def test_410_keras3_one_metric_is_mislabelled_too():
    src = COMPILED.replace("METRICS", '["accuracy"]') + "print(dict(zip(model.metrics_names, model.evaluate(x, y))))\n"
    assert found(src, "TFS410") == [("TFS410", 8)]


@pytest.mark.parametrize("use", [
    "results = model.evaluate(x, y, return_dict=True)",
    "for k, v in zip(model.metrics_names, model.evaluate(x, y, return_dict=True).values()):\n    pass",
    "print(model.metrics_names[0])",
    "for name, value in zip(model.metrics_names, history_values):\n    pass",
    "names = [n for n in model.metrics_names]",
])
def test_410_keras3_negatives(use):
    assert not found(TWO + use + "\n", "TFS410")


def test_410_keras3_model_compiled_without_metrics_or_unknown():
    no_metrics = COMPILED.replace(", metrics=METRICS", "") + "print(dict(zip(model.metrics_names, model.evaluate(x, y))))\n"
    assert not found(no_metrics, "TFS410")
    parameter = """
        def report(model, x, y):
            return dict(zip(model.metrics_names, model.evaluate(x, y)))
    """
    assert not found(parameter, "TFS410")


def test_410_keras3_model_from_elsewhere_every_compile_has_metrics():
    src = """
        from tensorflow import keras
        from project import build

        model = build()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        print(dict(zip(model.metrics_names, model.evaluate(x, y))))
    """
    assert found(src, "TFS410") == [("TFS410", 7)]


CUSTOM_410 = """
import keras

loss_tracker = keras.metrics.Mean(name="loss")
mae_metric = keras.metrics.MeanAbsoluteError(name="mae")


class CustomModel(keras.Model):
BODY

inputs = keras.Input(shape=(3,))
model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
model.compile(optimizer="adam", loss="mse", metrics=["mae", "mse"])
print(dict(zip(model.metrics_names, model.evaluate(x, y))))
"""


@pytest.mark.parametrize("body", [
    "    @property\n    def metrics(self):\n        return [loss_tracker, mae_metric]",
    "    def test_step(self, data):\n        return {'loss': loss_tracker.result(), 'mae': mae_metric.result()}",
])
def test_410_keras3_subclass_with_its_own_metrics(body):
    # Keras 3.15.1: with the metrics property, metrics_names is ['loss', 'mae'] and the zip is right.
    assert not found(CUSTOM_410.replace("BODY", body), "TFS410")


def test_410_keras3_subclass_that_keeps_keras_metrics_and_imported_classes():
    # Keras 3.15.1, the same class with only `pass`: {'loss': 0.14, 'compile_metrics': 0.29}.
    assert found(CUSTOM_410.replace("BODY", "    pass"), "TFS410") == [("TFS410", 14)]
    imported = """
        import neural_structured_learning as nsl

        adv_model = nsl.keras.AdversarialRegularization(base_model, adv_config=config)
        adv_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
        print(dict(zip(adv_model.metrics_names, adv_model.evaluate(test_data))))
    """
    assert not found(imported, "TFS410")


def test_410_keras2_fresh_model_zip_and_index():
    src = TWO + "print(dict(zip(model.metrics_names, model.evaluate(x, y))))\n"
    [finding] = only(lint(src, keras=2), "TFS410")
    assert "metrics_names is [] until its first fit() or evaluate()" in finding.message
    [index] = only(lint(TWO + "print(model.metrics_names[1])\n", keras=2), "TFS410")
    assert "IndexError: list index out of range" in index.message


@pytest.mark.parametrize("use", [
    # evaluate() ran first: the names are filled
    "scores = model.evaluate(x, y)\nprint(dict(zip(model.metrics_names, scores)))",
    "model.fit(x, y)\nprint(dict(zip(model.metrics_names, model.evaluate(x, y))))",
    "model.evaluate(x, y)\nprint(model.metrics_names[1])",
])
def test_410_keras2_names_read_after_fit_or_evaluate(use):
    assert not found(TWO + use + "\n", "TFS410", keras=2)


def test_410_keras2_loaded_model_has_its_names():
    src = """
        import tensorflow as tf

        model = tf.keras.models.load_model("model.h5")
        print(dict(zip(model.metrics_names, model.evaluate(x, y))))
    """
    assert not found(src, "TFS410", keras=2)


def test_410_keras2_model_from_an_outer_scope_stays_silent():
    src = TWO + """
def report():
    return dict(zip(model.metrics_names, model.evaluate(x, y)))


model.fit(x, y)
report()
"""
    assert not found(src, "TFS410", keras=2)


@pytest.mark.parametrize("handed", [
    "history = train(model, x, y)",          # a helper, maybe of another module, that fits it
    "trainer = Trainer(model)\ntrainer.run()",
    "run_epochs(model=model, data=(x, y))",
])
def test_410_keras2_model_handed_to_a_function_may_be_fit_there(handed):
    # TF 2.15: a model fit inside a helper has its names: {'loss': ..., 'accuracy': ...}.
    src = TWO + "from helpers import Trainer, run_epochs, train\n"
    src += handed + "\nprint(dict(zip(model.metrics_names, model.evaluate(x, y))))\n"
    assert not found(src, "TFS410", keras=2)
    # Keras 3 names are ['loss', 'compile_metrics'] however the model was trained.
    assert len(found(src, "TFS410")) == 1


def test_410_keras2_printing_the_model_first_keeps_it_fresh():
    src = TWO + "print(model)\nprint(dict(zip(model.metrics_names, model.evaluate(x, y))))\n"
    assert len(found(src, "TFS410", keras=2)) == 1


def test_410_shadowed_zip():
    src = TWO + "def zip(a, b):\n    return a\n\nprint(zip(model.metrics_names, model.evaluate(x, y)))\n"
    assert not found(src, "TFS410")


# -- TFS411 normalization-not-adapted ------------------------------------------------------------

NORM_TRAIN = """
import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

features = np.random.rand(100, 10) * 50 + 10
labels = np.random.randint(0, 2, 100)
"""
NORM_FIT = """
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(features, labels, epochs=1)
"""


@pytest.mark.parametrize("keras", [2, 3])
def test_411_named_layer_never_adapted(keras):
    src = NORM_TRAIN + """
norm = layers.Normalization()
inputs = tf.keras.Input((10,))
model = tf.keras.Model(inputs, layers.Dense(2, activation="softmax")(norm(inputs)))
""" + NORM_FIT
    [finding] = only(lint(src, keras=keras), "TFS411")
    assert finding.line == 9
    assert "norm = Normalization() is never adapted" in finding.message
    assert "mean 0 and variance 1" in finding.message and "norm.adapt(" in finding.message


def test_411_inline_in_sequential_and_experimental_spelling():
    src = NORM_TRAIN + """
model = tf.keras.Sequential([
    tf.keras.layers.experimental.preprocessing.Normalization(input_shape=(10,)),
    layers.Dense(2, activation="softmax"),
])
""" + NORM_FIT
    assert found(src, "TFS411", keras=2) == [("TFS411", 10)]


@pytest.mark.parametrize("setup", [
    # adapt before compile
    "norm = layers.Normalization()\nnorm.adapt(features)\n",
    # mean and variance given, by keyword or position
    "norm = layers.Normalization(mean=35.0, variance=200.0)\n",
    "norm = layers.Normalization(-1, 35.0, 200.0)\n",
    "norm = layers.Normalization(**stats)\n",
    # handed to a function that may adapt it
    "norm = layers.Normalization()\nprepare(norm, features)\n",
    # stored on an object, returned, renamed
    "norm = layers.Normalization()\nconfig.norm = norm\n",
    "norm = layers.Normalization()\nother = norm\n",
])
def test_411_negatives(setup):
    src = NORM_TRAIN + setup + """
inputs = tf.keras.Input((10,))
model = tf.keras.Model(inputs, layers.Dense(2, activation="softmax")(norm(inputs)))
""" + NORM_FIT
    assert not found(src, "TFS411")


def test_411_adapted_in_another_function_of_the_file():
    src = NORM_TRAIN + """
norm = layers.Normalization()


def fit_statistics(data):
    norm.adapt(data)


def build():
    inputs = tf.keras.Input((10,))
    return tf.keras.Model(inputs, layers.Dense(2, activation="softmax")(norm(inputs)))


fit_statistics(features)
model = build()
""" + NORM_FIT
    assert not found(src, "TFS411")


def test_411_inline_layer_adapted_through_the_model():
    src = NORM_TRAIN + """
model = tf.keras.Sequential([layers.Normalization(input_shape=(10,)), layers.Dense(2)])
model.layers[0].adapt(features)
""" + NORM_FIT
    assert not found(src, "TFS411")


def test_411_no_training_in_the_module_or_a_class_layer():
    built_only = NORM_TRAIN + "norm = layers.Normalization()\nmodel = tf.keras.Sequential([norm, layers.Dense(2)])\n"
    assert not found(built_only, "TFS411")
    in_class = NORM_TRAIN + """
class Block(tf.keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.norm = layers.Normalization()
""" + "model = tf.keras.Sequential([Block()])\n" + NORM_FIT
    assert not found(in_class, "TFS411")


@pytest.mark.parametrize("restore", [
    # the weights of an adapted model hold the layer's mean and variance (TF 2.15 and 2.21 alike)
    'model.load_weights("adapted.weights.h5")',
    "model.set_weights(saved_weights)",
    "tf.train.Checkpoint(model=model).restore(manager.latest_checkpoint)",
])
def test_411_statistics_restored_from_weights(restore):
    src = NORM_TRAIN + """
norm = layers.Normalization()
inputs = tf.keras.Input((10,))
model = tf.keras.Model(inputs, layers.Dense(2, activation="softmax")(norm(inputs)))
""" + restore + "\n" + NORM_FIT
    assert not found(src, "TFS411")
    assert found(src.replace(restore, ""), "TFS411") == [("TFS411", 9)]


@pytest.mark.parametrize("layers_in_model", [
    "norm = layers.Normalization()\nmodel = tf.keras.Sequential([tf.keras.Input((10,)), norm, layers.Dense(2)])",
    "model = tf.keras.Sequential([tf.keras.Input((10,)), layers.Normalization(), layers.Dense(2)])",
])
def test_411_adapted_through_a_loop_over_the_model_layers(layers_in_model):
    adapt = """
for layer in model.layers:
    if isinstance(layer, layers.Normalization):
        layer.adapt(features)
"""
    src = NORM_TRAIN + layers_in_model + "\n" + adapt + NORM_FIT
    assert not found(src, "TFS411")
    assert len(found(NORM_TRAIN + layers_in_model + "\n" + NORM_FIT, "TFS411")) == 1


MODELS_411 = """
import tensorflow as tf
from tensorflow.keras import layers


def build():
    inputs = tf.keras.Input((10,))
    return tf.keras.Model(inputs, layers.Dense(2)(layers.Normalization(name="norm")(inputs)))


def train(model, features, labels):
    model.compile(optimizer="adam", loss="mse")
    model.fit(features, labels)
"""


def test_411_adapted_by_another_module_of_the_program(tmp_path):
    from test_programs import lint_project, rows

    main = """
        from models import build, train

        model = build()
        model.get_layer("norm").adapt(features)
        train(model, features, labels)
    """
    findings = lint_project(tmp_path / "adapted", {"models.py": MODELS_411, "main.py": main})
    assert rows(findings, "TFS411") == []
    # Passing only the module gives the same answer (the program is read all the same).
    assert rows(lint_project(tmp_path / "adapted", {"models.py": MODELS_411, "main.py": main},
                             only_these=["models.py"]), "TFS411") == []
    unadapted = main.replace('model.get_layer("norm").adapt(features)\n', "")
    findings = lint_project(tmp_path / "unadapted", {"models.py": MODELS_411, "main.py": unadapted})
    assert rows(findings, "TFS411") == [("models.py", 8, "TFS411")]
    # An adapt() in a module of another program does not count.
    other = {"models.py": MODELS_411, "main.py": unadapted,
             "explore.py": "import numpy as np\nfrom tensorflow.keras import layers\n"
                           "n = layers.Normalization()\nn.adapt(np.ones((4, 10)))\n"}
    assert rows(lint_project(tmp_path / "other", other), "TFS411") == [("models.py", 8, "TFS411")]


# -- TFS412 model-reset-states-removed -----------------------------------------------------------

STATEFUL = """
import keras
import numpy as np

model = keras.Sequential([keras.Input((5, 3), batch_size=1), keras.layers.LSTM(8, stateful=True)])
model.compile(optimizer="adam", loss="mse")
"""


def test_412_sequential_model():
    src = STATEFUL + "for epoch in range(3):\n    model.fit(x, y, epochs=1, shuffle=False)\n    model.reset_states()\n"
    [finding] = only(lint(src), "TFS412")
    assert finding.line == 9
    assert "AttributeError: 'Sequential' object has no attribute 'reset_states'" in finding.message
    assert "for layer in model.layers: if getattr(layer, 'stateful', False): layer.reset_state()" in finding.message
    assert finding.data["model"] == "Sequential"
    assert not only(lint(src, keras=2), "TFS412")
    assert not only(lint(src), "TFS405")


def test_412_functional_loaded_and_built_by_a_function():
    src = """
        import tensorflow as tf


        def build():
            inputs = tf.keras.Input((5, 3), batch_size=1)
            return tf.keras.Model(inputs, tf.keras.layers.LSTM(8, stateful=True)(inputs))


        functional = tf.keras.Model(inputs=a, outputs=b)
        functional.reset_states()
        loaded = tf.keras.models.load_model("rnn.keras")
        loaded.reset_states()
        built = build()
        built.reset_states()
    """
    messages = [f.message for f in only(lint(src), "TFS412")]
    assert len(messages) == 3
    assert "'Functional' object has no attribute 'reset_states'" in messages[0]
    assert "AttributeError (the model has no attribute 'reset_states')" in messages[1]


def test_412_callback_self_model():
    src = """
        from tensorflow import keras


        class ResetStates(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                self.model.reset_states()
    """
    assert found(src, "TFS412") == [("TFS412", 7)]


@pytest.mark.parametrize("call", [
    "model.layers[0].reset_states()",           # a layer kept it
    "lstm = model.layers[0]\nlstm.reset_states()",
    "def reset(m):\n    m.reset_states()",      # a parameter: not known
    "trainer.model.reset_states()",             # an attribute of something else
    "net = MyModel()\nnet.reset_states()",      # a custom class may define it
])
def test_412_negatives(call):
    assert not found(STATEFUL + call + "\n", "TFS412")


def test_412_callback_of_a_module_whose_model_class_defines_reset_states():
    src = """
        from tensorflow import keras


        class StatefulNet(keras.Model):
            def reset_states(self):
                for layer in self.layers:
                    layer.reset_state()


        class ResetStates(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                self.model.reset_states()
    """
    assert not found(src, "TFS412")


def test_412_self_model_outside_a_callback():
    src = """
        class Trainer:
            def end_epoch(self):
                self.model.reset_states()
    """
    assert not found(src, "TFS412")
