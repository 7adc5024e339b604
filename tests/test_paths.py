"""Keras 3 file names and removed APIs: TFS501-TFS504."""

import pytest

from helpers import codes, lint, only


def found(src, code, keras=3):
    return [(f.code, f.line) for f in only(lint(src, keras=keras), code)]


MODEL = """
import os
import pathlib
import tensorflow as tf
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
{call}
"""


# -- TFS501 save-path-extension ------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    'model.save("saved/my_model")',
    'model.save(filepath="model.tf")',
    'tf.keras.models.save_model(model, "exports/serving")',
    'keras.saving.save_model(model, filepath="exports/serving")',
    'model.save(f"{out_dir}/model")',
    'model.save(os.path.join(out_dir, "saved_model"))',
    'model.save(pathlib.Path(out_dir) / "model")',
    'model.save(str(pathlib.Path(out_dir, "model.pb")))',
    'model.save(\n    "saved/my_model",\n    overwrite=True,\n)',
])
def test_tfs501_path_keras3_refuses(call):
    findings = lint(MODEL.format(call=call))
    assert codes(findings) == [("TFS501", 8)]
    assert "Invalid filepath extension" in findings[0].message and ".keras" in findings[0].message


def test_tfs501_receiver_from_another_librarys_star_import_is_unknown():
    # A fastai-style learner: the factory comes from a star import of a library that is not
    # Keras, so neither its name ("...net...") nor anything else makes the result a Keras model.
    src = """
    from fastai.vision import *
    import keras

    learn = unet_learner(data, models.resnet34)
    learn.fit_one_cycle(10)
    learn.save("stage-1")
    """
    assert not found(src, "TFS501")


def test_tfs501_local_factory_still_makes_a_model_beside_a_star_import():
    src = """
    from helpers_lib import *
    import keras


    def build_unet():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])


    net = build_unet()
    net.save("saved/unet")
    """
    assert found(src, "TFS501") == [("TFS501", 11)]


def test_tfs501_message_and_data():
    findings = lint(MODEL.format(call='model.save(os.path.join(out_dir, "saved_model"))'))
    assert "'.../saved_model'" in findings[0].message and "'saved_model.keras'" in findings[0].message
    assert findings[0].data == {"path": "/saved_model"}


@pytest.mark.parametrize("call, expected", [
    ('model.save("model.keras", save_format="keras")', "ignored"),
    ('model.save("exported", save_format="tf")', "with this path"),
    ('tf.keras.models.save_model(model, path, save_format=fmt)', "unless the path ends in .keras or .h5"),
])
def test_tfs501_save_format(call, expected):
    findings = lint(MODEL.format(call=call))
    assert codes(findings) == [("TFS501", 8)]
    assert "save_format=" in findings[0].message and expected in findings[0].message


def test_tfs501_weights_h5_name_writes_a_full_model():
    findings = lint(MODEL.format(call='model.save("best.weights.h5")'))
    assert codes(findings) == [("TFS501", 8)]
    assert "full legacy HDF5 model" in findings[0].message and "save_weights()" in findings[0].message


@pytest.mark.parametrize("call", [
    'model.save("saved/model.keras")',
    'model.save("model.h5")',
    'model.save("model.hdf5")',
    'model.save(f"{run}/{name}.keras")',
    'model.save(os.path.join(out_dir, f"model_{epoch}.keras"))',
    'model.save(args.output)',
    'model.save(f"{run}/{name}")',
    'model.save("saved/my_model", zipped=False)',
    'model.save("hf://user/my-model")',
    'model.save("model.keras", save_format=None)',
    'model.export("exports/serving")',
    'tf.saved_model.save(model, "exports/serving")',
])
def test_tfs501_negatives(call):
    assert found(MODEL.format(call=call), "TFS501") == []


@pytest.mark.parametrize("src", [
    "from PIL import Image\nimport keras\nimg = Image.open('in.png')\nimg.save('out.png')\nimg.save('thumb')",
    "import tensorflow as tf\nckpt = tf.train.Checkpoint(step=tf.Variable(1))\nckpt.save('ckpt/x')",
    "import tensorflow as tf\nmanager = tf.train.CheckpointManager(ckpt, 'ckpt', 3)\nmanager.save()",
    "import keras\nimport pandas as pd\nframe = pd.DataFrame()\nframe.save('table')",
])
def test_tfs501_not_for_other_objects_that_save(src):
    assert lint(src) == []


def test_tfs501_keras2_and_aliases():
    src = """
    import tensorflow.keras as K


    def export(model):
        model.save("saved_model_dir")


    if __name__ == "__main__":
        net = K.Sequential([K.layers.Dense(1)])
        net.save("exported", save_format="tf")
    """
    assert codes(lint(src)) == [("TFS501", 6), ("TFS501", 11)]
    assert lint(src, keras=2) == []


# -- TFS502 weights-path-extension ---------------------------------------------------------------

@pytest.mark.parametrize("call, expected", [
    ('model.save_weights("checkpoints/weights.h5")', "'checkpoints/weights.weights.h5'"),
    ('model.save_weights(filepath="ckpt/cp-0001")', "'ckpt/cp-0001.weights.h5'"),
    ('model.save_weights(os.path.join(out, "model.keras"))', "'model.weights.h5'"),
    ('model.load_weights("checkpoints/cp-0010.ckpt")', "File format not supported"),
    ('model.load_weights(pathlib.Path(out) / "latest")', "File format not supported"),
    ('cb = keras.callbacks.ModelCheckpoint("best.h5", save_weights_only=True)', "created"),
    ('cb = keras.callbacks.ModelCheckpoint("best.h5", "val_loss", 1, True, True)', "'best.weights.h5'"),
    ('cb = keras.callbacks.ModelCheckpoint("ckpt/{epoch:02d}")', "must end in `.keras`"),
    ('cb = keras.callbacks.ModelCheckpoint(filepath="best.hdf5", save_best_only=True)', "'best.keras'"),
    ('cb = keras.callbacks.ModelCheckpoint("cp.ckpt", save_weights_only=weights_only)', "neither for weights"),
])
def test_tfs502_paths_keras3_refuses(call, expected):
    findings = lint(MODEL.format(call=call))
    assert codes(findings) == [("TFS502", 8)]
    assert expected in findings[0].message


def test_tfs502_data():
    findings = lint(MODEL.format(call='cb = keras.callbacks.ModelCheckpoint("best.h5", save_weights_only=True)'))
    assert findings[0].data == {"call": "ModelCheckpoint", "path": "best.h5", "save_weights_only": True}


@pytest.mark.parametrize("call", [
    'model.save_weights("checkpoints/model.weights.h5")',
    'model.save_weights(f"{run}/epoch_{epoch}.weights.h5")',
    'model.save_weights(f"{run}.h5")',
    'model.save_weights(os.path.join(out, f"{name}.h5"))',
    'model.save_weights("big.weights.json", max_shard_size=2)',
    'model.save_weights(path)',
    'model.load_weights("model.weights.h5")',
    'model.load_weights("model.h5")',
    'model.load_weights("model.hdf5")',
    'model.load_weights("model.keras")',
    'model.load_weights("gs://bucket/ckpt/latest")',
    'model.load_weights(tf.train.latest_checkpoint("ckpt"))',
    'cb = keras.callbacks.ModelCheckpoint("best.h5")',
    'cb = keras.callbacks.ModelCheckpoint("best.weights.h5")',
    'cb = keras.callbacks.ModelCheckpoint("ep{epoch:02d}.weights.h5", save_weights_only=True)',
    'cb = keras.callbacks.ModelCheckpoint("ep{epoch:02d}-{val_loss:.2f}.keras", monitor="val_loss")',
    'cb = keras.callbacks.ModelCheckpoint("best.keras", save_weights_only=weights_only)',
    'cb = keras.callbacks.ModelCheckpoint(checkpoint_path, save_weights_only=True)',
])
def test_tfs502_negatives(call):
    assert found(MODEL.format(call=call), "TFS502") == []


def test_tfs502_orbax_checkpoints_are_directories():
    src = MODEL.format(call='cb = keras.callbacks.OrbaxCheckpoint("ckpt")\nmodel.load_weights("ckpt/3")')
    assert found(src, "TFS502") == []


def test_tfs502_aliases_functions_and_keras2():
    src = """
    from tensorflow.keras.callbacks import ModelCheckpoint as MC


    def callbacks():
        return [
            MC(
                "checkpoints/best.h5",
                save_weights_only=True,
            ),
        ]


    if __name__ == "__main__":
        detector.load_weights("yolo.weights")
    """
    assert codes(lint(src)) == [("TFS502", 7)]
    assert lint(src, keras=2) == []


# -- TFS503 legacy-h5-format ---------------------------------------------------------------------

def test_tfs503_short_loss_alias():
    src = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y)
    model.save("model.h5")
    """
    findings = lint(src)
    assert codes(findings) == [("TFS503", 7)]
    assert "keras.metrics.mse" in findings[0].message and "'model.keras'" in findings[0].message
    assert findings[0].data == {"path": "model.h5", "loss": "mse", "retrained": False}


def test_tfs503_alias_in_a_builder_function_and_loss_dict():
    src = """
    import tensorflow as tf


    def build():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        model.compile(
            optimizer="adam",
            loss={"out": "MAE"},
        )
        return model


    if __name__ == "__main__":
        model = build()
        model.fit(x, y)
        tf.keras.models.save_model(model, "model.hdf5")
    """
    assert codes(lint(src)) == [("TFS503", 17)]
    assert "loss='MAE'" in lint(src)[0].message


def test_tfs503_not_for_a_model_compiled_in_another_function():
    src = """
    import tensorflow as tf


    def test_training():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)


    def test_save_load(tmpdir):
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        model.predict(x)
        model.save(str(tmpdir / "test.h5"))
        new_model = tf.keras.models.load_model(str(tmpdir / "test.h5"))
    """
    assert found(src, "TFS503") == []


def test_tfs503_loaded_back_and_trained_again():
    src = """
    import os
    import keras

    CHECKPOINT = os.path.join("runs", "model.h5")
    if os.path.exists(CHECKPOINT):
        model = keras.models.load_model(CHECKPOINT)
    else:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(x, y, epochs=10)
    model.save(CHECKPOINT)
    """
    findings = lint(src)
    assert codes(findings) == [("TFS503", 12)]
    assert "Unknown variable" in findings[0].message and findings[0].data["retrained"] is True


@pytest.mark.parametrize("src", [
    # full loss names, never trained again
    'model.compile(optimizer="adam", loss="mean_squared_error")\nmodel.fit(x, y)\nmodel.save("model.h5")',
    # loss objects
    'model.compile(optimizer="adam", loss=keras.losses.MeanSquaredError())\nmodel.save("model.h5")',
    # the .keras format
    'model.compile(optimizer="adam", loss="mse")\nmodel.save("model.keras")',
    # compiled again after loading: the workaround
    'model.compile("adam", "mean_squared_error")\nmodel.save("m.h5")\nm2 = keras.models.load_model("m.h5")\n'
    'm2.compile("adam", "mean_squared_error")\nm2.fit(x, y)',
    # compile=False
    'model.compile("adam", "mean_squared_error")\nmodel.save("m.h5")\nm2 = keras.models.load_model("m.h5", compile=False)\n'
    'm2.fit(x, y)',
    # another file is loaded and trained
    'model.compile("adam", "mean_squared_error")\nmodel.save("m.h5")\nm2 = keras.models.load_model("other.h5")\nm2.fit(x, y)',
    # one of the compiles of that name uses a full name: not known which model is saved
    'model.compile("adam", "mse")\nmodel.compile("adam", "mean_squared_error")\nmodel.save("m.h5")',
    # .weights.h5 is TFS501's
    'model.compile("adam", "mse")\nmodel.save("m.weights.h5")',
])
def test_tfs503_negatives(src):
    src = "import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n" + src
    assert found(src, "TFS503") == []


@pytest.mark.parametrize("loss, fires", [("MSE", True), ("msle", True), ("Mse", False), ("Mae", False)])
def test_tfs503_aliases_in_lower_or_upper_case_only(loss, fires):
    # Keras 3.15: 'MSE' compiles and the .h5 fails to load; 'Mse' is no loss ('Could not interpret
    # loss identifier: Mse' at compile), so the save is never reached
    src = (
        "import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        f"model.compile(optimizer='adam', loss={loss!r})\nmodel.save('model.h5')\n"
    )
    assert found(src, "TFS503") == ([("TFS503", 4)] if fires else [])


def test_tfs503_keras2():
    src = """
    from tensorflow import keras
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save("model.h5")
    """
    assert lint(src, keras=2) == []
    assert codes(lint(src)) == [("TFS503", 5)]


# -- TFS504 removed-keras-api ---------------------------------------------------------------------

@pytest.mark.parametrize("src, line, member", [
    ("import tensorflow as tf\n\n@tf.keras.saving.register_keras_serializable()\nclass A:\n    pass", 3,
     "register_keras_serializable"),
    ("from tensorflow import keras\n\ndef load(p):\n    return keras.saving.load_model(\n        p,\n    )", 4, "load_model"),
    ("import tensorflow.keras as K\nif __name__ == '__main__':\n    K.saving.save_model(m, 'm.keras')", 3, "save_model"),
    ("import tensorflow as tf\nsaving = tf.keras.saving", 2, "X"),
    ("import tensorflow as tf\nf = tf.compat.v2.keras.saving.load_model", 2, "load_model"),
])
def test_tfs504_saving_through_tf_keras(src, line, member):
    findings = lint(src)
    assert codes(findings) == [("TFS504", line)]
    assert "has no attribute 'saving'" in findings[0].message and f"keras.saving.{member}" in findings[0].message


def test_tfs504_data():
    findings = lint("import tensorflow as tf\ntf.keras.saving.register_keras_serializable()")
    assert findings[0].data == {"attribute": "tensorflow.keras.saving.register_keras_serializable"}


def test_tfs504_data_with_a_function_local_import():
    src = "def load(p):\n    import tensorflow as tf\n    return tf.keras.saving.load_model(p)\n"
    findings = lint(src)
    assert codes(findings) == [("TFS504", 3)]
    assert findings[0].data == {"attribute": "tensorflow.keras.saving.load_model"}
    bare = lint("def f():\n    from tensorflow import keras as K\n    return K.saving\n")
    assert bare[0].data == {"attribute": "tensorflow.keras.saving"}


@pytest.mark.parametrize("src", [
    "import keras\nkeras.saving.load_model('m.keras')",
    "from tensorflow.keras.saving import load_model\nload_model('m.keras')",
    "import tensorflow as tf\nfrom tensorflow.keras.saving import load_model\ntf.keras.saving.save_model(m, 'm.keras')",
    "import tensorflow as tf\nimport tensorflow.keras.saving\ntf.keras.saving.load_model('m.keras')",
    "import tensorflow as tf\nfrom tensorflow.keras import saving\ntf.keras.saving.load_model('m.keras')",
    "import tensorflow as tf\ntf.keras.utils.register_keras_serializable()",
    "import tensorflow as tf\ndef f(tf):\n    return tf.keras.saving.load_model('m.keras')",
    "import tensorflow as tf\nx = obj.keras.saving",
    "import tensorflow as tf\ntry:\n    register = tf.keras.saving.register_keras_serializable\n"
    "except AttributeError:\n    register = tf.keras.utils.register_keras_serializable",
    "import tensorflow as tf\nif hasattr(tf.keras, 'saving'):\n    load = tf.keras.saving.load_model",
    "import tensorflow as tf\nload = tf.keras.saving.load_model if tf.__version__ < '2.16' else None",
])
def test_tfs504_negatives(src):
    assert found(src, "TFS504") == []


def test_tfs504_unrelated_try_and_if_do_not_hide_it():
    src = """
    import tensorflow as tf

    try:
        register = tf.keras.saving.register_keras_serializable
    except ImportError:
        register = None
    if debug:
        load = tf.keras.saving.load_model
    """
    assert found(src, "TFS504") == [("TFS504", 5), ("TFS504", 9)]


def test_tfs504_keras2():
    assert lint("import tensorflow as tf\ntf.keras.saving.load_model('m.keras')", keras=2) == []


# -- paths from command-line options (pathvalues) -------------------------------------------------

OPTIONS_SCRIPT = """
import argparse
import keras

parser = argparse.ArgumentParser()
parser.add_argument("--out", {out})
parser.add_argument("--weights", default=os.path.join(CKPT_DIR, "best.h5"))
args = parser.parse_args()
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.save(args.out)
model.save_weights(args.weights)
"""


def test_tfs501_tfs502_argparse_defaults_keras3_refuses():
    src = "import os\nCKPT_DIR = 'ckpt'\n" + OPTIONS_SCRIPT.format(out='default="export/saved_model"')
    hits = only(lint(src), "TFS501") + only(lint(src), "TFS502")
    assert [(f.code, f.line) for f in hits] == [("TFS501", 12), ("TFS502", 13)]
    assert "'export/saved_model' raises" in hits[0].message
    assert "'ckpt/best.h5' raises" in hits[1].message


@pytest.mark.parametrize("out", ['default="m.keras"', "", "default=None", 'required=True, default="x"'])
def test_tfs501_argparse_default_accepted_or_unknown(out):
    src = "import os\nCKPT_DIR = 'ckpt'\n" + OPTIONS_SCRIPT.format(out=out)
    assert found(src, "TFS501") == []
