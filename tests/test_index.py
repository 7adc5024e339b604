"""The project index: what a class is across files, and what the project registers."""

from helpers import lint_files, only

BASE = """
import tensorflow as tf

class BaseLayer(tf.keras.layers.Layer):
    def get_config(self):
        return super().get_config()
"""


def _tfs201(findings):
    return [f.message for f in only(findings, "TFS201")]


def test_subclass_through_project_base_in_other_file(tmp_path):
    files = {
        "layers/__init__.py": "",
        "layers/base.py": BASE,
        "layers/attention.py": """
            from .base import BaseLayer

            class Attention(BaseLayer):
                pass
        """,
        "train.py": """
            import keras
            from layers.attention import Attention

            model = keras.Sequential([Attention()])
            model.save("m.keras")
            restored = keras.models.load_model("m.keras")
        """,
    }
    messages = _tfs201(lint_files(files, str(tmp_path)))
    assert len(messages) == 1
    assert "Attention is not registered" in messages[0]
    assert "BaseLayer" not in messages[0]  # never instantiated by model-building code


def test_registered_by_decorator_alias_and_get_custom_objects(tmp_path):
    files = {
        "model.py": """
            import tensorflow as tf
            from tensorflow import keras
            from keras.saving import register_keras_serializable as reg

            @tf.keras.utils.register_keras_serializable(package="p")
            class A(keras.layers.Layer):
                pass

            @reg()
            class B(keras.layers.Layer):
                pass

            class C(keras.layers.Layer):
                pass

            class D(keras.layers.Layer):
                pass

            keras.utils.get_custom_objects()["C"] = C
            keras.utils.get_custom_objects().update({"D": D})
            model = keras.Sequential([A(), B(), C(), D()])
            keras.models.load_model("m.keras")
        """,
    }
    assert _tfs201(lint_files(files, str(tmp_path))) == []


def test_registering_helper_decorator(tmp_path):
    # keras-hub's pattern: an export decorator that registers through a helper function.
    files = {
        "api_export.py": """
            from keras.saving import register_keras_serializable

            def maybe_register(symbol):
                register_keras_serializable(package="x")(symbol)

            class export:
                def __init__(self, path):
                    self.path = path

                def __call__(self, symbol):
                    maybe_register(symbol)
                    return symbol
        """,
        "layer.py": """
            import keras
            from api_export import export

            @export("x.Thing")
            class Thing(keras.layers.Layer):
                pass

            model = keras.Sequential([Thing()])
            keras.saving.load_model("m.keras")
        """,
    }
    assert _tfs201(lint_files(files, str(tmp_path))) == []


def test_sublayers_built_inside_a_layer_do_not_need_registration(tmp_path):
    files = {
        "blocks.py": """
            import keras

            class Inner(keras.layers.Layer):
                pass

            @keras.saving.register_keras_serializable()
            class Outer(keras.layers.Layer):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.inner = Inner()

            model = keras.Sequential([Outer()])
            keras.models.load_model("m.keras")
        """,
    }
    assert _tfs201(lint_files(files, str(tmp_path))) == []


def test_non_keras_classes_are_not_custom_objects(tmp_path):
    files = {
        "data.py": """
            import keras

            class Loader:
                def get_config(self):
                    return {}

            class Callback(keras.callbacks.Callback):
                pass

            loader = Loader()
            cb = Callback()
            keras.models.load_model("m.keras")
        """,
    }
    assert _tfs201(lint_files(files, str(tmp_path))) == []


def test_unregistered_function_used_as_loss_and_compile_false(tmp_path):
    files = {
        "losses.py": """
            import tensorflow as tf

            def focal_loss(y_true, y_pred):
                return tf.reduce_mean(y_true - y_pred)
        """,
        "train.py": """
            import tensorflow as tf
            from losses import focal_loss

            model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss=focal_loss); model.save("m.keras")
            a = tf.keras.models.load_model("m.keras")
            b = tf.keras.models.load_model("m.keras", compile=False)
        """,
    }
    findings = only(lint_files(files, str(tmp_path)), "TFS201")
    assert [(f.path.endswith("train.py"), f.line) for f in findings] == [(True, 7)]
    assert "focal_loss is not registered" in findings[0].message


def test_cycle_in_project_bases_does_not_hang(tmp_path):
    files = {
        "a.py": """
            import keras
            class A(B):
                pass
            class B(A):
                pass
            x = A()
            keras.models.load_model("m.keras")
        """,
    }
    assert _tfs201(lint_files(files, str(tmp_path))) == []
