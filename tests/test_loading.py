"""TFS201-TFS204: loading models."""

import importlib.util
import subprocess
import sys

import pytest

from helpers import codes, lint, lint_files, only

LAYER = """
import tensorflow as tf

class MyDense(tf.keras.layers.Layer):
    pass
"""
# A model holding MyDense, saved where the loaders of these tests read it.
SAVED = "x = tf.keras.Sequential([MyDense()])\nx.save('m.keras')\n"


# -- TFS201 load-model-without-custom-objects ---------------------------------------------------

@pytest.mark.parametrize(
    "load",
    [
        "from tensorflow.keras.models import load_model as lm\nm = lm('m.keras')",
        "import tensorflow as tf\nm = tf.keras.models.load_model('m.keras')",
        "from tensorflow import keras\nm = keras.models.load_model(\n    'm.keras',\n    compile=False,\n)",
        "import keras\ndef main():\n    return keras.saving.load_model(filepath='m.keras')",
        "import keras\nif __name__ == '__main__':\n    keras.models.load_model('m.keras')",
    ],
)
def test_tfs201_fires_naming_the_unregistered_class(tmp_path, load):
    findings = only(lint_files({"layers.py": LAYER + SAVED, "predict.py": load}, str(tmp_path)), "TFS201")
    assert len(findings) == 1 and findings[0].path.endswith("predict.py")
    assert "MyDense is not registered" in findings[0].message


@pytest.mark.parametrize(
    "load",
    [
        "import keras\nm = keras.models.load_model('m.keras', custom_objects={'MyDense': MyDense})",
        "import keras\nwith keras.saving.custom_object_scope({'MyDense': MyDense}):\n    m = keras.models.load_model('m.keras')",
        "import tensorflow as tf\nwith tf.keras.utils.CustomObjectScope({'MyDense': MyDense}):\n    m = tf.keras.models.load_model('m.keras')",
        "import keras\nkw = {}\nm = keras.models.load_model('m.keras', **kw)",
    ],
)
def test_tfs201_silent_with_custom_objects_or_scope(tmp_path, load):
    assert only(lint_files({"layers.py": LAYER + SAVED, "p.py": load}, str(tmp_path)), "TFS201") == []


def test_tfs201_silent_when_nothing_custom_exists():
    assert lint("import keras\nm = keras.models.load_model('m.keras')\n") == []


def test_tfs201_lambda_layers_are_not_custom_objects():
    source = """
        import keras
        model = keras.Sequential([keras.layers.Lambda(lambda t: t * 2)])
        m = keras.models.load_model('m.keras')
    """
    assert only(lint(source), "TFS201") == []


def test_tfs201_custom_loss_function_needs_compile():
    source = """
        import keras

        def my_loss(y_true, y_pred):
            return keras.ops.mean(y_true - y_pred)

        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(loss=my_loss); model.save('m.keras')
        a = keras.models.load_model('m.keras')
        b = keras.models.load_model('m.keras', compile=False)
    """
    assert codes(only(lint(source), "TFS201")) == [("TFS201", 9)]


def test_tfs201_module_that_builds_what_it_loads_only_counts_its_own_classes(tmp_path):
    files = {
        "other.py": LAYER + "x = MyDense()\n",
        "clean.py": """
            import keras

            @keras.saving.register_keras_serializable()
            class Scale(keras.layers.Layer):
                pass

            model = keras.Sequential([Scale()])
            model.save("s.keras")
            restored = keras.models.load_model("s.keras")
        """,
        "dirty.py": """
            import keras

            class Shift(keras.layers.Layer):
                pass

            model = keras.Sequential([Shift()])
            model.save("s.keras")
            restored = keras.models.load_model("s.keras")
        """,
    }
    findings = only(lint_files(files, str(tmp_path)), "TFS201")
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in findings] == [("dirty.py", 9)]
    assert "Shift is not registered" in findings[0].message and "MyDense" not in findings[0].message


def test_tfs201_keras2_savedmodel_directory_needs_no_classes(tmp_path):
    files = {"layers.py": LAYER + "x = tf.keras.Sequential([MyDense()])\nx.save('export_dir')\n",
             "p.py": "import keras\nm = keras.models.load_model('export_dir')\n"}
    assert only(lint_files(files, str(tmp_path), keras=2), "TFS201") == []
    assert len(only(lint_files(files, str(tmp_path), keras=3), "TFS201")) == 1


# -- TFS202 load-model-savedmodel-dir ---------------------------------------------------------------

@pytest.mark.parametrize(
    "call",
    [
        "keras.models.load_model('exported/model')",
        "keras.saving.load_model(os.path.join(out_dir, 'saved_model'))",
        "keras.models.load_model(f'{out_dir}/model_v2')",
        "keras.models.load_model(pathlib.Path(out_dir) / 'savedmodel')",
        "keras.models.load_model('model.tf')",
        "keras.models.load_model(PATH)",
    ],
)
def test_tfs202_fires_on_keras3_for_directories(call):
    source = f"import os, pathlib\nimport keras\nPATH = 'runs/export'\nm = {call}\n"
    assert codes(lint(source)) == [("TFS202", 4)]
    assert lint(source, keras=2) == []


@pytest.mark.parametrize(
    "call",
    [
        "keras.models.load_model('m.keras')",
        "keras.models.load_model('m.h5')",
        "keras.models.load_model('m.hdf5')",
        "keras.models.load_model(path)",
        "keras.models.load_model(f'{out_dir}/{name}')",
        "keras.saving.load_model('hf://user/model')",
        "tf.saved_model.load('exported/model')",
        "keras.layers.TFSMLayer('exported/model', call_endpoint='serving_default')",
    ],
)
def test_tfs202_silent(call):
    assert lint(f"import tensorflow as tf\nimport keras\nm = {call}\n") == []


def test_tfs202_silent_when_module_writes_orbax_checkpoints():
    source = """
        import keras
        cb = keras.callbacks.OrbaxCheckpoint("ckpt_dir")
        m = keras.saving.load_model("ckpt_dir")
    """
    assert lint(source) == []


@pytest.mark.parametrize(
    "save", ["model.save('export_dir', zipped=False)", "keras.saving.save_model(model, 'export_dir', zipped=zip_it)"]
)
def test_tfs202_silent_when_module_saves_unzipped_directories(save):
    # Keras 3.15 load_model() reads the directory that model.save(dir, zipped=False) writes
    source = f"""
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        {save}
        m = keras.saving.load_model("export_dir")
    """
    assert lint(source) == []


def test_tfs202_fires_when_the_module_saves_zipped():
    source = """
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.save("model.keras", zipped=True)
        m = keras.saving.load_model("export_dir")
    """
    assert codes(lint(source)) == [("TFS202", 5)]


# -- TFS203 unsafe-deserialization -----------------------------------------------------------------

def test_tfs203_safe_mode_false_and_enable_unsafe():
    source = """
        import keras
        from tensorflow.keras.models import load_model
        a = load_model("m.keras", safe_mode=False)
        b = keras.models.load_model("m.keras", safe_mode=True)
        keras.config.enable_unsafe_deserialization()
        c = keras.saving.deserialize_keras_object(config, safe_mode=False)
    """
    assert codes(lint(source)) == [("TFS203", 4), ("TFS203", 6), ("TFS203", 7)]


def test_tfs203_keras2_and_private_spellings_of_enable_unsafe():
    source = """
        import tensorflow as tf
        from keras.src.saving.serialization_lib import enable_unsafe_deserialization
        tf.keras.__internal__.enable_unsafe_deserialization()
        enable_unsafe_deserialization()
    """
    assert codes(lint(source, keras=2)) == [("TFS203", 4), ("TFS203", 5)]


def test_tfs203_ignores_model_from_json():
    # model_from_json has no safe_mode parameter: the call raises TypeError on both versions
    assert lint("import keras\nm = keras.models.model_from_json(text, safe_mode=False)\n") == []


def test_tfs203_ignores_other_safe_mode_arguments():
    assert lint("import keras\nthing.load('x', safe_mode=False)\nmy_load_model('m.keras', safe_mode=False)\n") == []


# -- TFS204 compile-false-then-train --------------------------------------------------------------

def test_tfs204_fires_for_fit_and_evaluate_without_compile():
    source = """
        import tensorflow as tf

        def finetune(x, y):
            model = tf.keras.models.load_model("m.keras", compile=False)
            model.fit(x, y)

        model = tf.keras.models.load_model("m.keras", False, False)
        model.evaluate(x, y)
    """
    found = lint(source)
    assert codes(found) == [("TFS204", 6), ("TFS204", 9)]
    assert "You must call `compile()` before using the model" in found[0].message
    assert "You must compile your model before training/testing" in lint(source, keras=2)[0].message


def test_tfs204_silent_when_compiled_or_only_predicting():
    source = """
        import keras
        a = keras.models.load_model("m.keras", compile=False)
        a.compile(optimizer="adam", loss="mse")
        a.fit(x, y)
        b = keras.models.load_model("m.keras", compile=False)
        b.predict(x)
        c = keras.models.load_model("m.keras")
        c.evaluate(x, y)
        d = keras.models.load_model("m.keras", compile=False)
        d = build()
        d.fit(x, y)
    """
    assert lint(source) == []


# -- TFS201: the advice is spelled for the file's imports and Keras version --------------------

ADVICE_CASES = [  # (imports of the loading file, Keras version, the advised decorator)
    ("import keras", 3, "keras.saving.register_keras_serializable"),
    ("import keras", 2, "keras.saving.register_keras_serializable"),
    ("from tensorflow import keras", 3, "keras.utils.register_keras_serializable"),
    ("from tensorflow import keras", 2, "keras.utils.register_keras_serializable"),
    ("import tensorflow as tf", 3, "tf.keras.utils.register_keras_serializable"),
    ("import tensorflow.keras as K", 3, "K.utils.register_keras_serializable"),
    ("import tensorflow as tf\nfrom tensorflow.keras.saving import register_keras_serializable", 3,
     "register_keras_serializable"),
]


def _load_with(imports):
    module = "keras" if imports == "import keras" else "tf.keras" if "as tf" in imports else \
        "K" if "as K" in imports else "keras"
    return f"{imports}\nm = {module}.models.load_model('m.keras')\n"


@pytest.mark.parametrize("imports,keras,advice", ADVICE_CASES)
def test_tfs201_advises_a_spelling_that_exists_here(tmp_path, imports, keras, advice):
    files = {"layers.py": LAYER + SAVED, "predict.py": _load_with(imports)}
    [finding] = only(lint_files(files, str(tmp_path), keras=keras), "TFS201")
    assert finding.message.endswith(f"decorate them with @{advice}()")
    # Following the advice, in a module with the same imports, registers the class and does not
    # trigger TFS504 (tf.keras.saving does not exist on Keras 3).
    layer = (f"{imports}\nimport keras as _k\n\n\n@{advice}(package='demo')\n"
             "class MyDense(_k.layers.Layer):\n    def call(self, x):\n        return x\n\n\n"
             "x = _k.Sequential([MyDense()])\nx.save('m.keras')\n")
    fixed = lint_files({"layers.py": layer, "predict.py": _load_with(imports)}, str(tmp_path / "after"), keras=keras)
    assert [f.code for f in fixed if f.code in ("TFS201", "TFS504")] == []


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs TensorFlow")
def test_tfs201_advised_spellings_exist_in_the_installed_keras():
    # Seen on TF 2.21 / Keras 3.15 and on TF 2.15 / Keras 2.15: each exists on both.
    checks = "\n".join(sorted({f"{imports}\nassert callable({advice}), {advice!r}"
                               for imports, _, advice in ADVICE_CASES}))
    result = subprocess.run([sys.executable, "-c", checks], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


# -- TFS206 latest-checkpoint-keras-files -------------------------------------------------------

RESUME = """
import os
import tensorflow as tf
from tensorflow import keras

checkpoint_dir = "training_checkpoints"
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
"""


@pytest.mark.parametrize("resume", [
    "latest = tf.train.latest_checkpoint(checkpoint_dir)\nif latest:\n    model.load_weights(latest)",
    "model.load_weights(tf.train.latest_checkpoint(checkpoint_dir))",
    "from tensorflow.train import latest_checkpoint\nmodel.load_weights(filepath=latest_checkpoint(checkpoint_dir))",
    "restored = keras.models.load_model(tf.train.latest_checkpoint(checkpoint_dir))",
])
def test_206_latest_checkpoint_into_keras_3(resume):
    src = RESUME + resume + "\n"
    findings = only(lint(src), "TFS206")
    assert len(findings) == 1
    message = findings[0].message
    assert "returns None" in message and "File format not supported" in message and "glob" in message


def test_206_keras_2_reads_tf_checkpoints():
    src = RESUME + "latest = tf.train.latest_checkpoint(checkpoint_dir)\nmodel.load_weights(latest)\n"
    assert not only(lint(src, keras=2), "TFS206")


@pytest.mark.parametrize("resume", [
    # tf.train.Checkpoint reads the prefix it finds
    "ckpt = tf.train.Checkpoint(model=model)\nckpt.restore(tf.train.latest_checkpoint(checkpoint_dir))",
    # the newest file found another way
    "import glob\nmodel.load_weights(max(glob.glob(os.path.join(checkpoint_dir, '*.weights.h5'))))",
    # a fallback makes the value unknown
    "path = tf.train.latest_checkpoint(checkpoint_dir) or 'init.weights.h5'\nmodel.load_weights(path)",
    # not a Keras model
    "agent = Agent()\nagent.load_weights(tf.train.latest_checkpoint(checkpoint_dir))",
    # Orbax directories are read by Keras 3
    "saver = keras.callbacks.OrbaxCheckpoint(checkpoint_dir)\nmodel.load_weights(tf.train.latest_checkpoint(checkpoint_dir))",
    # the name is rebound before the load
    "latest = tf.train.latest_checkpoint(checkpoint_dir)\nlatest = os.path.join(checkpoint_dir, 'best.weights.h5')\n"
    "model.load_weights(latest)",
])
def test_206_negatives(resume):
    assert not only(lint(RESUME + resume + "\n"), "TFS206")
