"""Saving and resuming training: TFS101-TFS105."""

import textwrap

import pytest

from helpers import codes, lint, lint_files, only


def found(src, code, keras=3):
    return [(f.code, f.line) for f in only(lint(src, keras=keras), code)]


def message(src, code, keras=3):
    hits = only(lint(src, keras=keras), code)
    assert len(hits) == 1, [(f.code, f.line, f.message) for f in lint(src, keras=keras)]
    return hits[0].message


# -- TFS101 save-weights-without-optimizer --------------------------------------------------

# TFS101 reports a weights-only save that the program resumes training from: here a restore()
# whose caller picks the file, and a fit() that continues a run (initial_epoch=).
RESUMES = """


def restore(path):
    model.load_weights(path)


def train_more(start):
    model.fit(x, y, epochs=10, initial_epoch=start)
"""

TRAIN_K3 = """
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(x, y, epochs=3)
{save}
""" + RESUMES


def test_tfs101_save_weights_after_fit():
    src = TRAIN_K3.format(save='model.save_weights("run/model.weights.h5")')
    assert codes(lint(src)) == [("TFS101", 7)]
    text = message(src, "TFS101")
    assert "holds the optimizer variables" in text and "already built" in text and ".keras" in text
    assert lint(src)[0].data == {"path": "run/model.weights.h5"}


@pytest.mark.parametrize("checkpoint", [
    'keras.callbacks.ModelCheckpoint("ck/{epoch:02d}.weights.h5", save_weights_only=True)',
    'keras.callbacks.ModelCheckpoint("ck/best.weights.h5", "val_loss", 0, True, True)',
    'keras.callbacks.ModelCheckpoint(\n    filepath="ck/best.weights.h5",\n    save_weights_only=True,\n)',
])
def test_tfs101_weights_only_checkpoint(checkpoint):
    src = TRAIN_K3.format(save=f"cb = {checkpoint}")
    assert found(src, "TFS101") == [("TFS101", 7)]
    assert "ModelCheckpoint(save_weights_only=True)" in message(src, "TFS101")


@pytest.mark.parametrize("save", [
    'model.save("run/model.keras")',
    'keras.saving.save_model(model, "run/model.keras")',
    'cb = keras.callbacks.ModelCheckpoint("ck/best.keras")',
    'cb = keras.callbacks.BackupAndRestore("backup")',
    'import tensorflow as tf\nckpt = tf.train.Checkpoint(model=model)',
])
def test_tfs101_not_when_full_state_is_saved_too(save):
    src = TRAIN_K3.format(save='model.save_weights("run/model.weights.h5")\n' + save)
    assert found(src, "TFS101") == []


def test_tfs101_not_without_training():
    src = """
    import keras

    model = keras.models.load_model("model.keras")
    model.save_weights("export/model.weights.h5")
    """
    assert lint(src) == []


def test_tfs101_not_for_non_model_fit_and_save():
    src = """
    import keras
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    scaler.fit(features)
    model = keras.models.load_model("model.keras")
    model.save_weights("export/model.weights.h5")
    """
    assert found(src, "TFS101") == []


def test_tfs101_in_function_under_main_guard_with_tf_alias():
    src = """
    import tensorflow as tf


    def train(model, data, start=0):
        if start:
            model.load_weights("checkpoints/final.weights.h5")
        model.fit(data, epochs=5, initial_epoch=start)
        model.save_weights(
            "checkpoints/final.weights.h5",
        )


    if __name__ == "__main__":
        train(tf.keras.Sequential([tf.keras.layers.Dense(1)]), dataset)
    """
    assert found(src, "TFS101") == [("TFS101", 9)]


def test_tfs101_custom_training_loop():
    src = """
    import tensorflow.keras as K

    net = K.Sequential([K.layers.Dense(1)])
    opt = K.optimizers.Adam()
    if resume:
        net.load_weights("net.weights.h5")
    for step in range(100):
        opt.apply_gradients(zip(grads, net.trainable_variables))
    net.save_weights("net.weights.h5")
    """
    assert found(src, "TFS101") == [("TFS101", 10)]


def test_tfs101_custom_step_given_its_optimizer_trains_the_module_model():
    # step(opt) trains whatever net its tape watches: giving it the optimizer does not make it
    # train "the names it is given" only.
    src = """
    import tensorflow.keras as K

    net = K.Sequential([K.layers.Dense(1)])
    opt = K.optimizers.Adam()


    def step(optimizer):
        optimizer.apply_gradients(zip(grads, net.trainable_variables))


    if resume:
        net.load_weights("net.weights.h5")
    for _ in range(100):
        step(opt)
    net.save_weights("net.weights.h5")
    """
    assert found(src, "TFS101") == [("TFS101", 16)]


def test_tfs101_keras3_path_keras3_refuses_is_left_to_tfs502():
    src = TRAIN_K3.format(save='model.save_weights("run/model.h5")')
    assert codes(lint(src)) == [("TFS502", 7)]


def test_tfs101_keras2_h5_weights_hold_no_optimizer():
    src = textwrap.dedent("""
    from tensorflow import keras

    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y)
    model.save_weights("weights.h5")
    """) + RESUMES
    assert codes(lint(src, keras=2)) == [("TFS101", 7)]
    text = message(src, "TFS101", keras=2)
    assert "'weights.h5'" in text and "only the layer weights" in text


def test_tfs101_keras2_weights_h5_name_holds_it_but_skips_it():
    src = TRAIN_K3.format(save='model.save_weights("w.weights.h5")').replace("import keras", "from tensorflow import keras")
    assert "already built" in message(src, "TFS101", keras=2)


@pytest.mark.parametrize("path", ['"checkpoints/weights"', '"ckpt/cp-{epoch:04d}.ckpt"', "args.out", 'f"{name}.h5"'])
def test_tfs101_keras2_tf_checkpoint_or_unknown_paths(path):
    src = TRAIN_K3.format(save=f"model.save_weights({path})").replace("import keras", "from tensorflow import keras")
    assert found(src, "TFS101", keras=2) == []


@pytest.mark.parametrize("keep", [
    # the trained weights kept for serving, beside the architecture
    'open("model.json", "w").write(model.to_json())\nmodel.save_weights("model.h5")',
    # the last statement of a training script
    'model.save_weights("final.weights.h5")',
    # the best epoch, reloaded to evaluate and predict
    'cb = keras.callbacks.ModelCheckpoint("best.weights.h5", save_weights_only=True)\n'
    'model.fit(x, y, callbacks=[cb])\nbest = build()\nbest.load_weights("best.weights.h5")\n'
    'best.evaluate(x, y)\nbest.predict(x)',
])
def test_tfs101_not_for_weights_that_nothing_resumes_from(keep):
    src = TRAIN_K3.replace(RESUMES, "").format(save=keep)
    assert found(src, "TFS101") == []
    assert found(src.replace("import keras", "from tensorflow import keras"), "TFS101", keras=2) == []


def test_tfs101_not_for_best_weights_reloaded_after_fit_in_a_function():
    src = """
    import keras


    def train(model, path="/tmp/best.weights.h5"):
        cb = keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=20, callbacks=[cb])
        model.load_weights(path)
        return model


    models = [train(build()) for _ in range(3)]
    """
    assert found(src, "TFS101") == []


@pytest.mark.parametrize("then, reported", [
    ("other = build()\nother.compile(optimizer='adam', loss='mse')\nother.fit(x, y)", False),
    ("model.fit(x, y)", True),
    ("def more(net):\n    net.compile(optimizer='adam', loss='mse')\n    net.fit(x, y)\nmore(model)", True),
    ("def more(net):\n    net.compile(optimizer='adam', loss='mse')\n    net.fit(x, y)\nmore(build())", True),
    ("def more(path, net):\n    net.compile(optimizer='adam', loss='mse')\n    net.fit(x, y)\n"
     "other = build()\nmore('o.weights.h5', other)", False),
    ("def more():\n    model.fit(x, y)\nmore()", True),  # a function that trains the module's model
])
def test_tfs101_training_after_a_reload_must_train_the_reloaded_model(then, reported):
    # The best weights of one model reloaded to evaluate it, then another model trained: nothing resumes.
    src = TRAIN_K3.replace(RESUMES, "").format(
        save='cb = keras.callbacks.ModelCheckpoint("best.weights.h5", save_weights_only=True)\n'
             'model.fit(x, y, callbacks=[cb])\nmodel.load_weights("best.weights.h5")\nmodel.evaluate(x, y)\n' + then)
    assert found(src, "TFS101") == ([("TFS101", 7)] if reported else [])


def test_tfs101_not_for_a_temporary_file_that_copies_weights():
    src = """
    import os
    import keras


    def change_input_shape(model, shape):
        temp = "model_temp.weights.h5"
        model.save_weights(temp)
        rebuilt = keras.Sequential([keras.Input(shape), keras.layers.Dense(1)])
        rebuilt.load_weights(temp)
        os.remove(temp)
        return rebuilt


    def train(model):
        model.fit(x, y)
    """
    assert found(src, "TFS101") == []


INITIAL_SNAPSHOT = """
import keras


def build():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])


initial_model = build()
initial_model.save_weights("initial.weights.h5")

for augment in (False, True):
    model = build()
    model.load_weights("initial.weights.h5")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=5)
"""


def test_tfs101_tfs102_initial_snapshot_is_a_fresh_start():
    # Saved before any training, so there is no optimizer state; every run starts from it.
    assert lint(INITIAL_SNAPSHOT) == []
    keras2 = INITIAL_SNAPSHOT.replace("import keras", "from tensorflow import keras").replace(".weights.h5", ".h5")
    assert lint(keras2, keras=2) == []


def test_tfs101_tfs102_a_save_after_training_is_no_snapshot():
    trained_first = INITIAL_SNAPSHOT.replace(
        'initial_model = build()\n', 'initial_model = build()\ninitial_model.compile("adam", "mse")\ninitial_model.fit(x, y)\n')
    assert [f.code for f in lint(trained_first)] == ["TFS101", "TFS102"]


def test_tfs101_a_save_inside_the_training_loop_is_no_snapshot():
    src = INITIAL_SNAPSHOT.replace('initial_model.save_weights("initial.weights.h5")\n', "").replace(
        '    model.fit(x, y, epochs=5)', '    model.fit(x, y, epochs=5)\n    model.save_weights("initial.weights.h5")')
    assert found(src, "TFS101") == [("TFS101", 16)]


def test_tfs101_resume_switch_of_a_notebook():
    # A LOAD_MODEL switch reloads the weights the callback writes, then training runs again.
    src = """
    from tensorflow import keras

    LOAD_MODEL = False
    model = keras.Sequential([keras.layers.Dense(1)])
    if LOAD_MODEL:
        model.load_weights("./models/model.h5")


    class SaveModel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            model.save_weights("./models/model.h5")


    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=60, callbacks=[SaveModel()])
    """
    assert found(src, "TFS101", keras=2) == [("TFS101", 12)]
    assert "resumes training from that file" in message(src, "TFS101", keras=2)


def test_tfs101_a_built_optimizer_restores_the_weights_h5_state():
    src = TRAIN_K3.replace("    model.load_weights(path)", "    model.optimizer.build(model.trainable_variables)\n"
                           "    model.load_weights(path)").format(save='model.save_weights("run/model.weights.h5")')
    assert found(src, "TFS101") == []


# -- TFS102 resume-from-load-weights ---------------------------------------------------------

RESUME = """
import os
import keras

CHECKPOINT = "checkpoints/last.weights.h5"


def main():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
{before}    if os.path.exists(CHECKPOINT):
        model.load_weights(CHECKPOINT)
    model.fit(x, y, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint(CHECKPOINT, save_weights_only=True)])
    model.save("final.keras")


if __name__ == "__main__":
    main()
"""


def test_tfs102_resume_from_the_file_the_run_writes():
    src = RESUME.format(before="")
    assert codes(lint(src)) == [("TFS102", 12)]
    text = message(src, "TFS102")
    assert "not built" in text and "Skipping variable loading" in text and "optimizer.build" in text
    assert lint(src)[0].data == {"path": "checkpoints/last.weights.h5", "optimizer_built": False}


@pytest.mark.parametrize("build", [
    "    model.optimizer.build(model.trainable_variables)\n",
    "    opt = model.optimizer\n    opt.build(model.trainable_variables)\n",
    "    model.train_on_batch(x[:1], y[:1])\n",
])
def test_tfs102_not_when_the_optimizer_is_built_first(build):
    assert found(RESUME.format(before=build), "TFS102") == []


def test_tfs102_initial_epoch_marks_a_resume():
    src = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.load_weights(
        filepath=f"checkpoints/epoch_{start:03d}.weights.h5",
    )
    history = model.fit(x, y, initial_epoch=start, epochs=20)
    model.save("model.keras")
    """
    assert codes(lint(src)) == [("TFS102", 6)]


def test_tfs102_not_for_pretrained_weights_that_start_a_run():
    src = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.load_weights("pretrained/encoder.weights.h5")
    model.fit(x, y, epochs=20)
    model.save("model.keras")
    """
    assert lint(src) == []


def test_tfs102_not_when_no_training_follows():
    src = RESUME.format(before="").replace("model.fit(x, y, epochs=10, callbacks=[", "model.evaluate(x, y, callbacks=[")
    assert found(src, "TFS102") == []


def test_tfs102_not_after_training_in_the_same_run():
    src = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=5, callbacks=[keras.callbacks.ModelCheckpoint("best.weights.h5", save_weights_only=True)])
    model.load_weights("best.weights.h5")
    model.fit(x, y, initial_epoch=5, epochs=10)
    model.save("model.keras")
    """
    assert found(src, "TFS102") == []


def test_tfs102_not_across_functions_or_models():
    src = """
    import keras

    def restore(model):
        model.load_weights("last.weights.h5")
        return model

    def train(model):
        model.fit(x, y, initial_epoch=3)

    base = keras.Sequential([keras.layers.Dense(1)])
    model = keras.Sequential([base])
    base.load_weights("last.weights.h5")
    model.fit(x, y, initial_epoch=3)
    """
    assert found(src, "TFS102") == []


def test_tfs102_h5_file_never_restores_the_optimizer_even_when_built():
    src = RESUME.format(before="    model.optimizer.build(model.trainable_variables)\n").replace(
        "last.weights.h5", "best.h5").replace("save_weights_only=True", "save_weights_only=False")
    assert codes(lint(src)) == [("TFS102", 13)]
    assert "never the optimizer state" in message(src, "TFS102")


def test_tfs102_keras2_only_h5_paths():
    k2 = RESUME.format(before="").replace("import keras", "from tensorflow import keras")
    assert found(k2, "TFS102", keras=2) == [("TFS102", 12)]
    tf_checkpoint = k2.replace("last.weights.h5", "ckpt/last")
    assert found(tf_checkpoint, "TFS102", keras=2) == []


def test_tfs102_keras3_unloadable_path_is_left_to_tfs502():
    src = RESUME.format(before="").replace("last.weights.h5", "cp.ckpt")
    assert found(src, "TFS102") == []
    assert ("TFS502", 12) in codes(lint(src))


# -- TFS103 recompile-after-load -------------------------------------------------------------

def test_tfs103_new_optimizer_after_load_model():
    src = """
    import keras

    model = keras.models.load_model("checkpoints/model.keras")
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mean_squared_error")
    model.fit(x, y, epochs=5)
    """
    assert codes(lint(src)) == [("TFS103", 5)]
    text = message(src, "TFS103")
    assert "keras.optimizers.Adam(1e-4)" in text and "optimizer=model.optimizer" in text
    assert lint(src)[0].data == {"optimizer": "keras.optimizers.Adam(1e-4)"}


def test_tfs103_keras2_alias_positional_string_any_path():
    src = """
    from tensorflow.keras.models import load_model as lm

    def resume():
        net = lm("weights/model.h5")
        net.compile(
            "adam",
            "mse",
        )
        net.train_on_batch(x, y)

    if __name__ == "__main__":
        resume()
    """
    assert found(src, "TFS103", keras=2) == [("TFS103", 6)]
    assert '"adam"' in message(src, "TFS103", keras=2)


def test_tfs103_default_optimizer_and_named_instance():
    default = """
    import tensorflow as tf
    model = tf.keras.models.load_model("m.keras")
    model.compile(loss="mse")
    model.fit(x, y)
    """
    assert "the default 'rmsprop'" in message(default, "TFS103")
    named = """
    import tensorflow as tf
    model = tf.keras.models.load_model("m.keras")
    opt = tf.keras.optimizers.SGD(0.01, 0.9)  # momentum: state worth keeping
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y)
    """
    assert found(named, "TFS103") == [("TFS103", 5)]


@pytest.mark.parametrize("body", [
    'model = keras.models.load_model("m.keras")\nmodel.compile(optimizer=model.optimizer, loss="mse")\nmodel.fit(x, y)',
    'model = keras.models.load_model("m.keras", compile=False)\nmodel.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y)',
    'model = keras.models.load_model("m.keras")\nmodel.compile(optimizer="adam", loss="mse")\nmodel.evaluate(x, y)',
    'model = keras.models.load_model("m.keras")\nfor layer in model.layers[:-1]:\n    layer.trainable = False\n'
    'model.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y)',
    'model = keras.models.load_model("m.keras")\nmodel.compile(optimizer=make_optimizer(cfg), loss="mse")\nmodel.fit(x, y)',
    'model = keras.models.load_model("m.h5")\nmodel.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y)',
    'model = keras.models.load_model(path)\nmodel.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y)',
])
def test_tfs103_negatives(body):
    assert found("import keras\n" + body, "TFS103") == []


@pytest.mark.parametrize("optimizer", [
    '"sgd"',
    "keras.optimizers.SGD(learning_rate=1e-3)",
    "keras.optimizers.SGD(0.01, momentum=0.0, nesterov=False)",
    "keras.optimizers.SGD(learning_rate=lr)",
])
def test_tfs103_plain_sgd_has_nothing_to_lose(optimizer):
    src = f'import keras\nmodel = keras.models.load_model("m.keras")\nmodel.compile(optimizer={optimizer}, loss="mse")\n' \
          'model.fit(x, y)\n'
    assert found(src, "TFS103") == []


@pytest.mark.parametrize("optimizer", [
    "keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9)",
    "keras.optimizers.SGD(0.01, 0.9)",
    "keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 1000, 0.9))",
    "keras.optimizers.SGD(use_ema=True)",
    "tf.keras.optimizers.SGD(tf.keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01]))",
])
def test_tfs103_sgd_with_state_still_fires(optimizer):
    src = f'import keras\nimport tensorflow as tf\nmodel = keras.models.load_model("m.keras")\n' \
          f'model.compile(optimizer={optimizer}, loss="mse")\nmodel.fit(x, y)\n'
    assert found(src, "TFS103") == [("TFS103", 4)]


def test_tfs103_initial_model_snapshot_has_no_optimizer_state():
    src = """
    import keras

    def get_model():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])

    get_model().save("initial_model.keras")
    for run in range(3):
        model = keras.models.load_model("initial_model.keras")
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
    """
    assert found(src, "TFS103") == []
    trained = src.replace('get_model().save(', 'first_model = get_model()\n    first_model.compile("adam", "mse")\n'
                          '    first_model.fit(x, y)\n    first_model.save(')
    assert found(trained, "TFS103") == [("TFS103", 13)]


BRANCHES = """
import os
import keras

if os.path.exists("m.keras"):
    model = keras.models.load_model("m.keras")
else:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
{indent}model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
"""


def test_tfs103_not_for_the_fresh_model_of_the_other_branch():
    assert lint(BRANCHES.format(indent="    ")) == []


def test_tfs103_recompile_after_the_branch_fires():
    assert codes(lint(BRANCHES.format(indent=""))) == [("TFS103", 9)]


# TFS103 through command-line options: the path's default says what load_model() reads.
RESUME_SCRIPT = """
import argparse

import keras

parser = argparse.ArgumentParser()
parser.add_argument({argument})
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()
{more}
model = keras.models.load_model(args.model_path)
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
model.fit(x, y, epochs=args.epochs)
model.save(args.model_path)
"""


def test_tfs103_argparse_default_keras_path():
    src = RESUME_SCRIPT.format(argument='"--model-path", default="checkpoints/model.keras"', more="")
    assert found(src, "TFS103") == [("TFS103", 12)]
    assert found(src, "TFS103", keras=2) == [("TFS103", 12)]


@pytest.mark.parametrize("argument, more", [
    ('"--model-path", default="export/saved_model"', ""),  # a SavedModel directory: Keras 3 cannot load it anyway
    ('"--model-path"', ""),  # no default and nothing else says what it is
    ('"--model-path", default=None', ""),
    ('"--model-path", required=True, default="m.keras"', ""),
    ('"--model-path", type=resolve, default="m.keras"', ""),
    ('"--model-path", default="m.keras"', 'if args.legacy:\n    args.model_path = "m.h5"'),  # overridden on a branch
])
def test_tfs103_argparse_path_not_known_to_be_keras(argument, more):
    assert found(RESUME_SCRIPT.format(argument=argument, more=more), "TFS103") == []


def test_tfs103_absl_flag_default():
    src = """
    from absl import app, flags
    import tensorflow as tf

    flags.DEFINE_string("model_path", "gs://bucket/run1/model.keras", "The model to fine-tune.")
    FLAGS = flags.FLAGS


    def main(argv):
        model = tf.keras.models.load_model(FLAGS.model_path)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(train_ds, epochs=3)


    if __name__ == "__main__":
        app.run(main)
    """
    assert found(src, "TFS103") == [("TFS103", 11)]
    assert found(src.replace('"gs://bucket/run1/model.keras"', "None"), "TFS103") == []


def test_tfs103_click_option_default():
    src = """
    import click
    import keras


    @click.command()
    @click.option("--checkpoint", type=click.Path(exists=True), default="runs/best.keras")
    @click.option("--epochs", default=3)
    def finetune(checkpoint, epochs):
        model = keras.models.load_model(checkpoint)
        model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9), loss="mse")
        model.fit(x, y, epochs=epochs)
    """
    assert found(src, "TFS103") == [("TFS103", 11)]
    assert found(src.replace('default="runs/best.keras"', "required=True"), "TFS103") == []


def test_tfs103_os_path_join_with_a_directory_constant_and_pathlib():
    joined = """
    import os
    import keras

    CKPT_DIR = os.environ.get("CKPT_DIR", "checkpoints")
    model = keras.models.load_model(os.path.join(CKPT_DIR, "model.keras"))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y)
    """
    assert found(joined, "TFS103") == [("TFS103", 7)]
    pathlib = """
    from pathlib import Path
    import keras

    run_dir = Path("runs") / run_name
    model = keras.models.load_model(run_dir / "model.h5")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y)
    """
    assert found(pathlib, "TFS103") == []  # Keras 3: a legacy .h5 file; TFS503's business
    assert found(pathlib.replace("model.h5", "model").replace("/ run_name", ""), "TFS103") == []
    assert found(pathlib.replace("model.h5", "model.keras"), "TFS103") == [("TFS103", 7)]


# -- TFS104 checkpoint-without-optimizer -------------------------------------------------------

LOOP = """
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam(1e-3)
{compile}checkpoint = tf.train.Checkpoint({objects})


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
"""


def test_tfs104_checkpoint_of_a_custom_loop_without_its_optimizer():
    src = LOOP.format(compile="", objects="model=model")
    assert codes(lint(src)) == [("TFS104", 6)]
    text = message(src, "TFS104")
    assert "optimizer=optimizer" in text and "never given to model.compile()" in text
    assert lint(src)[0].data == {"keys": ["model"], "optimizer": "optimizer"}
    assert codes(lint(src, keras=2)) == [("TFS104", 6)]


@pytest.mark.parametrize("compile_, objects", [
    ("", "model=model, optimizer=optimizer"),
    ("", "net=model, opt=optimizer"),
    ("", "model=model, state=optimizer"),
    ('model.compile(optimizer=optimizer, loss="mse")\n', "model=model"),
    ("", "**objects"),
    ("", "step=tf.Variable(0)"),
])
def test_tfs104_negatives(compile_, objects):
    assert found(LOOP.format(compile=compile_, objects=objects), "TFS104") == []


def test_tfs104_not_for_compiled_fit():
    src = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y)
    ckpt = tf.train.Checkpoint(model=model)
    """
    assert found(src, "TFS104") == []


def test_tfs104_trainer_class_with_its_own_optimizer():
    src = """
    import tensorflow as tf


    class Trainer:
        def __init__(self, model):
            self.model = model
            self.optimizer = tf.keras.optimizers.Adam()
            self.ckpt = tf.train.Checkpoint(model=self.model)

        def step(self, grads):
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
    """
    assert found(src, "TFS104") == [("TFS104", 9)]


def test_tfs104_not_for_an_optimizer_of_another_function():
    # The checkpoint only restores a model to evaluate; the loop that trains is built elsewhere.
    src = """
    import tensorflow as tf


    def load_checkpoint(model, directory):
        checkpoint = tf.train.Checkpoint(model=model)
        checkpoint.restore(tf.train.latest_checkpoint(directory))
        return model


    def build_train_step_fn(model):
        optimizer = tf.keras.optimizers.Adam()

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x) - y))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        return train_step
    """
    assert found(src, "TFS104") == []


def test_tfs104_optimizer_of_a_function_the_checkpointing_function_calls():
    src = """
    import tensorflow as tf

    optimizer = tf.keras.optimizers.Adam()


    def train_step(model, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))


    def run_epochs(model, data):
        for x, y in data:
            train_step(model, x, y)


    def main(model, data):
        ckpt = tf.train.Checkpoint(model=model)
        for epoch in range(10):
            run_epochs(model, data)
            ckpt.save("ckpt/run")
    """
    assert found(src, "TFS104") == [("TFS104", 20)]


def test_tfs104_not_for_a_model_train_step():
    src = """
    import keras
    import tensorflow as tf


    class MyModel(keras.Model):
        def train_step(self, data):
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            return {}


    model = MyModel()
    model.compile(optimizer="adam")
    ckpt = tf.train.Checkpoint(model=model)
    """
    assert found(src, "TFS104") == []


# -- TFS105 weights-via-numpy ------------------------------------------------------------------

@pytest.mark.parametrize("dump, expected", [
    ('np.save("weights.npy", model.get_weights())', "inhomogeneous shape"),
    ('np.save(file="weights.npy", arr=model.get_weights())', "inhomogeneous shape"),
    ('weights = model.get_weights()\nnp.save("weights.npy", weights)', "inhomogeneous shape"),
    ('np.save("w.npy", np.array(model.get_weights(), dtype=object))', "allow_pickle=False"),
    ('with open("w.pkl", "wb") as f:\n    pickle.dump(model.get_weights(), f)', "set_weights()"),
    ('joblib.dump(model.get_weights(), "w.joblib")', "set_weights()"),
])
def test_tfs105_dumps_of_get_weights(dump, expected):
    src = "import numpy as np\nimport pickle\nimport joblib\nimport keras\n\nmodel = keras.models.load_model('m.keras')\n" + dump
    findings = lint(src)
    assert [f.code for f in findings] == ["TFS105"]
    assert expected in findings[0].message and "model.save('model.keras')" in findings[0].message


def test_tfs105_in_function_with_from_import():
    src = """
    from numpy import save as np_save
    import tensorflow as tf


    def export(model):
        np_save(
            "weights.npy",
            model.get_weights(),
        )
    """
    assert codes(lint(src)) == [("TFS105", 7)]


@pytest.mark.parametrize("dump", [
    'np.save("pred.npy", model.predict(x))',
    'np.save("kernel.npy", dense.get_weights()[0])',
    'pickle.dump(history.history, open("h.pkl", "wb"))',
    'np.save("w.npy", model.get_weights)',
])
def test_tfs105_negatives(dump):
    src = "import numpy as np\nimport pickle\nimport keras\n\nmodel = keras.models.load_model('m.keras')\n" + dump
    assert found(src, "TFS105") == []


def test_saving_rules_see_one_file_at_a_time(tmp_path):
    # The resume is in one file and the writing in another: each file is judged alone.
    findings = lint_files({
        "train.py": """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile("adam", "mse")
            model.fit(x, y)
            model.save_weights("last.weights.h5")

            def restore(path):
                model.load_weights(path)

            def train_more(start):
                model.fit(x, y, initial_epoch=start)
        """,
        "infer.py": """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.load_weights("last.weights.h5")
            model.predict(x)
        """,
    }, str(tmp_path))
    assert [(f.path.rsplit("/", 1)[-1], f.code) for f in findings] == [("train.py", "TFS101")]
