"""Custom layers and models (TFS301-TFS307): get_config, **kwargs, tf.Variable, .h5, Lambda.

These tests judge what the rules decide about a class definition, so they lint with
``custom-classes = "all"``; whether a class reaches a save at all (the default, "saved") is
tested in test_programs.py.
"""

import functools
import os
import subprocess
import sys
import textwrap

import pytest

import helpers
from helpers import only
from tflint_save import run
from tflint_save.config import Settings
from tflint_save.index import ProjectIndex

lint = functools.partial(helpers.lint, custom_classes="all")
lint_files = functools.partial(helpers.lint_files, custom_classes="all")
CUSTOM = ("TFS301", "TFS302", "TFS303", "TFS304", "TFS305", "TFS306", "TFS307")


def line_of(src, text, nth=1):
    """1-based line of the nth line of the dedented source that contains text."""
    hits = [i for i, line in enumerate(textwrap.dedent(src).splitlines(), 1) if text in line]
    return hits[nth - 1]


def found(src, keras=3, path="example.py"):
    """(code, line) of the custom-class findings only."""
    return [(f.code, f.line) for f in lint(src, keras=keras, path=path) if f.code in CUSTOM]


def one(src, code, keras=3):
    findings = only(lint(src, keras=keras), code)
    assert len(findings) == 1, [(f.code, f.line, f.message) for f in lint(src, keras=keras)]
    return findings[0]


# -- TFS301 missing-get-config -------------------------------------------------------------

GATED = """
    import keras
    import tensorflow as tf


    class Gated(keras.layers.Layer):
        def __init__(self, units=8, gate=tf.nn.sigmoid, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.gate = gate
"""


def test_301_callable_default_keras3():
    finding = one(GATED, "TFS301")
    assert finding.line == line_of(GATED, "class Gated")
    assert "'gate' defaults to tf.nn.sigmoid" in finding.message
    assert "NotImplementedError ('Object Gated was created by passing" in finding.message
    assert finding.data["class"] == "Gated" and finding.data["call_args"] == ""
    assert found(GATED) == [("TFS301", line_of(GATED, "class Gated"))]


def test_301_callable_default_not_passed_is_fine_on_keras2():
    # Keras 2 records only the values passed at construction.
    assert found(GATED, keras=2) == []


def test_301_annotation_fires_on_both_versions():
    src = """
        from typing import Callable, Optional

        import keras


        class Gated(keras.layers.Layer):
            def __init__(self, units: int = 8, gate: Optional[Callable] = None, **kwargs):
                super().__init__(**kwargs)
                self.gate = gate
    """
    for keras, quoted in ((2, "'Layer Gated was created"), (3, "'Object Gated was created")):
        finding = one(src, "TFS301", keras=keras)
        assert "'gate' is annotated Optional[Callable]" in finding.message and quoted in finding.message


def test_301_value_passed_at_a_call_site_fires_on_keras2():
    src = """
        import tensorflow as tf


        class Gated(tf.keras.layers.Layer):
            def __init__(self, units=8, gate=None, **kwargs):
                super().__init__(**kwargs)
                self.gate = gate


        if __name__ == "__main__":
            layer = Gated(
                16,
                gate=tf.nn.relu,
            )
    """
    finding = one(src, "TFS301", keras=2)
    assert "'gate' is given tf.nn.relu where Gated is built" in finding.message
    assert finding.line == line_of(src, "class Gated")
    assert finding.data["call_args"] == "16, gate=tf.nn.relu"


def test_301_positional_value_at_a_call_site():
    src = """
        import keras


        class Wrap(keras.layers.Layer):
            def __init__(self, inner=None, **kwargs):
                super().__init__(**kwargs)
                self.inner = inner


        def build():
            return Wrap(keras.layers.Dense(2))
    """
    assert "'inner' is given keras.layers.Dense(2)" in one(src, "TFS301", keras=2).message


@pytest.mark.parametrize("default", [
    "np.int64(8)", "keras.initializers.GlorotUniform()", "tf.float32", "np.float32", "lambda t: t",
    "[tf.nn.relu]", "keras.activations.relu", "helper",
])
def test_301_objects_keras_cannot_record(default):
    src = f"""
        import keras
        import numpy as np
        import tensorflow as tf


        def helper(x):
            return x


        class Thing(keras.layers.Layer):
            def __init__(self, value={default}, **kwargs):
                super().__init__(**kwargs)
                self.value = value
    """
    assert found(src) == [("TFS301", line_of(src, "class Thing"))]


@pytest.mark.parametrize("default", [
    "8", "-1", "0.5", "'relu'", "None", "True", "(3, 3)", "[1, 2]", "{'a': 1}", "np.pi", "int('3')", "UNITS",
])
def test_301_plain_values_are_recorded(default):
    src = f"""
        import keras
        import numpy as np

        UNITS = 4


        class Thing(keras.layers.Layer):
            def __init__(self, value={default}, required_arg=None, **kwargs):
                super().__init__(**kwargs)
                self.value = value
    """
    for keras in (2, 3):
        assert found(src, keras=keras) == []


def test_301_get_config_defined_or_inherited_from_the_project():
    with_config = GATED + """
        def get_config(self):
            return {**super().get_config(), "units": self.units}
    """
    assert only(lint(with_config), "TFS301") == []
    src = """
        import keras
        import tensorflow as tf


        class Base(keras.layers.Layer):
            def get_config(self):
                return super().get_config()


        class Gated(Base):
            def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)
    """
    assert only(lint(src), "TFS301") == []


def test_301_subclass_of_a_builtin_layer_is_left_alone():
    src = """
        import keras
        import tensorflow as tf


        class GatedDense(keras.layers.Dense):
            def __init__(self, units, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(units, **kwargs)
                self.gate = gate
    """
    assert only(lint(src), "TFS301") == []


def test_301_non_keras_class():
    src = """
        import tensorflow as tf


        class Scheduler:
            def __init__(self, fn=tf.nn.relu):
                self.fn = fn


        class Other(Scheduler):
            def __init__(self, fn=tf.nn.relu):
                super().__init__(fn)
    """
    assert found(src) == []


def test_301_subclassed_model_keras3_records_defaults():
    src = """
        import keras


        class TwoLayer(keras.Model):
            def __init__(self, hidden=8, **kwargs):
                super().__init__(**kwargs)
                self.dense = keras.layers.Dense(hidden)

            def call(self, x):
                return self.dense(x)


        model = TwoLayer(hidden=16)
    """
    finding = one(src, "TFS301")
    assert finding.line == line_of(src, "class TwoLayer")
    assert "records its __init__ defaults" in finding.message and "'hidden'" in finding.message
    assert finding.data["call_args"] == "hidden=16"
    assert found(src, keras=2) == []  # Keras 2 records the values passed


def test_301_subclassed_model_required_argument():
    src = """
        import tensorflow as tf


        class Net(tf.keras.Model):
            def __init__(self, hidden, *, name=None):
                super().__init__(name=name)
                self.dense = tf.keras.layers.Dense(hidden)
    """
    message = one(src, "TFS301").message
    assert "requires 'hidden'" in message and "NotImplementedError" in message


def test_301_model_without_arguments_or_functional():
    src = """
        import keras


        class Plain(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense = keras.layers.Dense(1)


        class Functional(keras.Model):
            def __init__(self, width=4, **kwargs):
                inputs = keras.Input((width,))
                outputs = keras.layers.Dense(1)(inputs)
                super().__init__(inputs=inputs, outputs=outputs, **kwargs)
    """
    assert found(src) == []


@pytest.mark.parametrize("imports, base", [
    ("from tensorflow.keras.layers import Layer as L", "L"),
    ("import keras", "keras.layers.Layer"),
    ("import keras", "keras.Layer"),
    ("import tensorflow as tf", "tf.keras.layers.Layer"),
    ("import tensorflow.keras as K", "K.layers.Layer"),
    ("from tensorflow import keras", "keras.layers.Layer"),
])
def test_301_aliases(imports, base):
    src = f"""
        import numpy as np
        {imports}


        class Counter(object if False else {base}):
            pass


        class Sized({base}):
            def __init__(self, size=np.int64(8), **kwargs):
                super().__init__(**kwargs)
                self.size = size
    """
    assert found(src) == [("TFS301", line_of(src, "class Sized"))]


@pytest.mark.parametrize("decorator", [
    "@keras.saving.register_keras_serializable()",
    "@tf.keras.utils.register_keras_serializable(package='demo')",
])
def test_301_registered_classes(decorator):
    src = f"""
        import keras
        import tensorflow as tf


        {decorator}
        class Gated(keras.layers.Layer):
            def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)
                self.gate = gate
    """
    assert found(src) == [("TFS301", line_of(src, "class Gated"))]


def test_301_shadowed_keras_is_not_keras():
    src = """
        import keras
        import tensorflow as tf


        def make(keras):
            class Gated(keras.layers.Layer):
                def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                    super().__init__(**kwargs)
            return Gated


        class Layer:
            pass


        class Local(Layer):
            def __init__(self, gate=tf.nn.sigmoid):
                self.gate = gate
    """
    assert found(src) == []


def test_301_nested_classes():
    src = """
        import keras
        import tensorflow as tf


        def factory():
            class Gated(keras.layers.Layer):
                def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                    super().__init__(**kwargs)
            return Gated


        class Outer:
            class Inner(keras.layers.Layer):
                def __init__(self, gate=tf.nn.tanh, **kwargs):
                    super().__init__(**kwargs)
    """
    assert found(src) == [("TFS301", line_of(src, "class Gated")), ("TFS301", line_of(src, "class Inner"))]


def test_301_noqa_on_the_class_line():
    src = GATED.replace("class Gated(keras.layers.Layer):", "class Gated(keras.layers.Layer):  # noqa: TFS301")
    assert found(src) == []


def test_301_hierarchy_across_two_files(tmp_path):
    files = {
        "layers/__init__.py": "",
        "layers/base.py": """
            from tensorflow.keras.layers import Layer as L


            class BaseBlock(L):
                def call(self, x):
                    return x
        """,
        "layers/attention.py": """
            import tensorflow as tf

            from layers.base import BaseBlock


            class Attention(BaseBlock):
                def __init__(self, heads=2, score=tf.nn.softmax, **kwargs):
                    super().__init__(**kwargs)
                    self.heads = heads
                    self.score = score
        """,
    }
    findings = [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM]
    where = line_of(files["layers/attention.py"], "class Attention")
    assert [(f.code, f.path.endswith("attention.py"), f.line) for f in findings] == [("TFS301", True, where)]


# -- TFS302 get-config-missing-argument -------------------------------------------------------

def scale_layer(get_config, init="def __init__(self, units=8, scale=1.0, **kwargs):", extra=""):
    return f"""
        import keras


        class Scale(keras.layers.Layer):
            {init}
                super().__init__(**kwargs)
                self.units = units
                self.scale = scale
            {extra}
            def get_config(self):
{textwrap.indent(textwrap.dedent(get_config), " " * 16)}
    """


@pytest.mark.parametrize("body", [
    """
    config = super().get_config()
    config.update({"units": self.units})
    return config
    """,
    """
    return {**super().get_config(), "units": self.units}
    """,
    """
    return dict(super().get_config(), units=self.units)
    """,
    """
    base_config = super().get_config()
    return {**base_config, "units": self.units}
    """,
    """
    base_config = super(Scale, self).get_config()
    config = {"units": self.units}
    return dict(list(base_config.items()) + list(config.items()))
    """,
    """
    config = keras.layers.Layer.get_config(self)
    config["units"] = self.units
    return config
    """,
])
def test_302_missing_argument(body):
    src = scale_layer(body)
    finding = one(src, "TFS302")
    assert finding.line == line_of(src, "def get_config")
    assert "does not return the __init__ argument 'scale'" in finding.message
    assert "takes its default" in finding.message
    assert finding.data["missing"] == ["scale"]
    assert found(src) == [("TFS302", line_of(src, "def get_config"))]
    assert found(src, keras=2) == [("TFS302", line_of(src, "def get_config"))]


def test_302_resolve_completes_the_facts_and_leaves_the_deferred_ones_alone():
    src = textwrap.dedent(scale_layer("""
    return {**super().get_config(), "units": self.units}
    """))
    settings = Settings(keras_version=3, custom_classes="all")
    result = run.lint_file("example.py", settings, run.enabled_rules(settings), text=src)
    [pending] = [p for p in result.pending if p.code == "TFS302"]
    [finding] = [f for f in run.settle([result], settings).findings if f.code == "TFS302"]
    assert finding.data.missing == ("scale",) and finding.data["missing"] == ["scale"]
    assert pending.data.missing is None and "missing" not in pending.data


@pytest.mark.parametrize("body", [
    """
    config = super().get_config()
    config.update({"units": self.units, "scale": self.scale})
    return config
    """,
    """
    return {**super().get_config(), "units": self.units, "scale": self.scale}
    """,
    """
    return dict(super().get_config(), units=self.units, scale=self.scale)
    """,
    """
    base_config = super().get_config()
    config = {"units": self.units}
    config["scale"] = self.scale
    return {**base_config, **config}
    """,
    """
    config = super().get_config()
    config.update(units=self.units)
    config.setdefault("scale", self.scale)
    return config
    """,
    """
    config = super().get_config()
    config.update(self._arguments())
    return config
    """,
    """
    config = super().get_config()
    if self.scale != 1.0:
        config["scale"] = self.scale
    config["units"] = self.units
    return config
    """,
    """
    return self._config
    """,
])
def test_302_complete_or_unknowable(body):
    assert found(scale_layer(body)) == []


def test_302_required_argument():
    src = scale_layer(
        'return {**super().get_config(), "scale": self.scale}',
        init="def __init__(self, units, scale=1.0, **kwargs):",
    )
    message = one(src, "TFS302").message
    assert "'units'" in message and "missing 1 required positional argument: 'units'" in message


def test_302_several_missing():
    src = scale_layer("return super().get_config()")
    message = one(src, "TFS302").message
    assert "arguments 'units' and 'scale'" in message
    assert "they silently take their defaults (units=8, scale=1.0), not the values" in message


@pytest.mark.parametrize("default,said", [
    ("2.5", "its default factor=2.5,"),
    ("-1", "its default factor=-1,"),
    ("'relu'", "its default factor='relu',"),
    ("None", "its default factor=None,"),
    ("SOME_CONSTANT", "its default,"),  # not a literal: no value is invented
    ("compute()", "its default,"),
])
def test_302_message_quotes_the_real_default(default, said):
    src = scale_layer('return {**super().get_config(), "units": self.units}',
                      init=f"def __init__(self, units=8, factor={default}, **kwargs):")
    message = one(src.replace("self.scale = scale", "self.factor = factor"), "TFS302").message
    assert f"on reload it silently takes {said} not the value the object was built with" in message
    assert "scale=3.0" not in message and "3.0" not in message


ATTENTION = """
    import keras


    class Attention(keras.layers.Layer):
        def __init__(self, dim, {signature}, **kwargs):
            super().__init__(**kwargs)
            self.dim = dim
{body}
        def call(self, x):
            return self.q(x) * self.k(x)
{extra}
        def get_config(self):
            return {{**super().get_config(), "dim": self.dim}}
"""


@pytest.mark.parametrize("signature, body", [
    ('prefix=""',
     'self.q = keras.layers.Dense(dim, name=prefix + "q")\nself.k = keras.layers.Dense(dim, name=f"{prefix}k")'),
    ('block_prefix="mha"', 'p = f"{block_prefix}_"\nself.q = keras.layers.Dense(dim, name=p + "q")\n'
                           'self.k = keras.layers.Dense(dim, name=p + "k")'),
    ('block_prefix=None', 'self.block_prefix = block_prefix if block_prefix is not None else "blocks"\n'
                          'prefix = f"{self.block_prefix}_"\nself.q = keras.layers.Dense(dim, name=prefix + "q")\n'
                          'self.k = keras.layers.Dense(dim, name=prefix + "k")'),
])
def test_302_argument_that_only_names_sublayers_is_not_state(signature, body):
    src = ATTENTION.format(signature=signature, body=textwrap.indent(body, " " * 12), extra="")
    assert [f.code for f in lint(src)] == []  # the source parses, and nothing else is wrong with it
    assert only(lint(src, keras=2), "TFS302") == []


@pytest.mark.parametrize("body, extra", [
    # the prefix is also read elsewhere: it may decide what the layer does
    ('self.prefix = prefix\nself.q = keras.layers.Dense(dim, name=prefix + "q")\nself.k = self.q',
     "    def describe(self):\n        return self.prefix.upper()\n"),
    ('if prefix:\n    dim = dim * 2\nself.q = keras.layers.Dense(dim, name=prefix + "q")\nself.k = self.q', ""),
    ('self.q = keras.layers.Dense(dim, name=prefix + "q")\n'
     'self.k = keras.layers.StringLookup(vocabulary=[prefix])', ""),
    ('self.q = keras.layers.Dense(dim, name=prefix)\nself.k = keras.layers.Dense(len(prefix))', ""),
])
def test_302_argument_used_beyond_names_is_still_reported(body, extra):
    src = ATTENTION.format(signature='prefix=""', body=textwrap.indent(body, " " * 12),
                           extra=textwrap.indent(extra, " " * 4))
    assert "argument 'prefix'" in one(src, "TFS302").message


def test_302_name_prefix_really_changes_nothing_on_reload(tmp_path):
    # What the rule relies on, with the installed TensorFlow: a layer whose get_config leaves out
    # its sub-layers' name prefix reloads under other names with the same predictions, and the
    # reloaded model saves and reloads again.
    script = textwrap.dedent("""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np
        import keras

        @keras.saving.register_keras_serializable(package="tfs302prefix")
        class Attention(keras.layers.Layer):
            def __init__(self, dim, prefix="", **kwargs):
                super().__init__(**kwargs)
                self.dim = dim
                self.q = keras.layers.Dense(dim, name=prefix + "q")
                self.k = keras.layers.Dense(dim, name=f"{prefix}k")
            def call(self, x):
                return self.q(x) * self.k(x)
            def get_config(self):
                return {**super().get_config(), "dim": self.dim}

        inp = keras.Input((4,))
        out = Attention(4, prefix="second_")(Attention(4, prefix="first_")(inp))
        model = keras.Model(inp, out)
        data = np.random.RandomState(0).rand(3, 4).astype("float32")
        expected = model.predict(data, verbose=0)
        for name in ("m.keras", "m.h5"):
            path = os.path.join(sys.argv[1], name)
            model.save(path)
            back = keras.models.load_model(path)
            back.save(path + ".again." + name.split(".")[-1])
            again = keras.models.load_model(path + ".again." + name.split(".")[-1])
            print(name, back.layers[1].q.name, np.allclose(expected, back.predict(data, verbose=0)),
                  np.allclose(expected, again.predict(data, verbose=0)))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["m.keras q True True", "m.h5 q True True"]


def test_302_custom_from_config_is_left_alone():
    src = scale_layer(
        'return {**super().get_config(), "units": self.units}',
        extra="""
            @classmethod
            def from_config(cls, config):
                return cls(**config)
        """,
    )
    assert only(lint(src), "TFS302") == []


def test_302_argument_passed_to_super():
    src = """
        import keras


        class Named(keras.layers.Layer):
            def __init__(self, units=8, name=None, trainable=True, dtype=None):
                super().__init__(name=name, trainable=trainable, dtype=dtype)
                self.units = units

            def get_config(self):
                return {**super().get_config(), "units": self.units}
    """
    assert found(src) == []


def test_302_builtin_base_keys_are_unknown():
    src = """
        import keras


        class Scaled(keras.layers.Dense):
            def __init__(self, units, activation=None, scale=2.0, **kwargs):
                super().__init__(units, **kwargs)
                self.activation = keras.activations.get(activation)
                self.scale = scale

            def get_config(self):
                return {**super().get_config(), "scale": self.scale}
    """
    assert found(src) == []


def test_302_non_keras_class():
    src = """
        import keras


        class Settings:
            def __init__(self, a=1, b=2):
                self.a, self.b = a, b

            def get_config(self):
                return {"a": self.a}


        class More(Settings):
            def __init__(self, a=1, b=2, c=3):
                super().__init__(a, b)

            def get_config(self):
                return {"a": self.a}
    """
    assert found(src) == []


BASE_WITH_CONFIG = """
    import keras


    @keras.saving.register_keras_serializable(package="demo")
    class BaseBlock(keras.layers.Layer):
        def __init__(self, units=8, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config
"""


def test_302_hierarchy_across_two_files(tmp_path):
    files = {
        "layers/__init__.py": "",
        "layers/base.py": BASE_WITH_CONFIG,
        "layers/attention.py": """
            from .base import BaseBlock


            class Attention(BaseBlock):
                def __init__(self, units=8, heads=2, dropout=0.0, **kwargs):
                    super().__init__(**kwargs)
                    self.units = units
                    self.heads = heads
                    self.dropout = dropout

                def get_config(self):
                    return {**super().get_config(), "heads": self.heads}
        """,
    }
    findings = [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM]
    where = line_of(files["layers/attention.py"], "def get_config")
    assert [(f.code, f.path.rsplit("/", 1)[-1], f.line) for f in findings] == [("TFS302", "attention.py", where)]
    # 'units' is recorded by BaseBlock.get_config() under the same key; only dropout is missing.
    assert "argument 'dropout'" in findings[0].message


def test_302_base_class_that_cannot_be_read(tmp_path):
    files = {
        "base.py": """
            import keras


            class BaseBlock(keras.layers.Layer):
                def get_config(self):
                    return {**super().get_config(), **self.hyperparameters}
        """,
        "attention.py": """
            from base import BaseBlock


            class Attention(BaseBlock):
                def __init__(self, heads=2, **kwargs):
                    super().__init__(**kwargs)
                    self.heads = heads

                def get_config(self):
                    return super().get_config()
        """,
    }
    assert [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM] == []


# -- TFS303 get-config-without-super -------------------------------------------------------

def test_303_dict_without_super():
    src = scale_layer('return {"units": self.units, "scale": self.scale}')
    finding = one(src, "TFS303")
    assert finding.line == line_of(src, "def get_config")
    assert "without super().get_config()" in finding.message and "trainable" in finding.message
    assert "TFS304" not in finding.message
    assert found(src, keras=2) == [("TFS303", line_of(src, "def get_config"))]


def test_303_also_points_at_missing_kwargs():
    src = """
        import keras


        class Scale(keras.layers.Layer):
            def __init__(self, factor=2.0):
                super().__init__()
                self.factor = factor

            def get_config(self):
                config = {}
                config["factor"] = self.factor
                return config
    """
    assert "**kwargs" in one(src, "TFS303").message
    # Loading this works (the config has no name), so TFS304 stays quiet until super() is added.
    assert found(src) == [("TFS303", line_of(src, "def get_config"))]


def test_303_base_keys_returned_explicitly():
    src = scale_layer(
        'return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype, '
        '"units": self.units, "scale": self.scale}'
    )
    assert found(src) == []


def test_303_names_only_what_is_lost():
    src = scale_layer('return {"trainable": self.trainable, "dtype": self.dtype, "units": self.units, '
                      '"scale": self.scale}')
    message = one(src, "TFS303").message
    assert "'name' is not saved, so the name changes;" in message
    assert "frozen" not in message and "float32" not in message


def test_303_unreadable_or_not_keras():
    assert found(scale_layer("return dict(self.__dict__)")) == []
    src = """
        class Plain:
            def get_config(self):
                return {"a": 1}
    """
    assert found(src) == []


# -- TFS304 init-without-kwargs ------------------------------------------------------------

NO_KWARGS = """
    import keras


    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}
"""


def test_304_no_kwargs_with_super_config():
    finding = one(NO_KWARGS, "TFS304")
    assert finding.line == line_of(NO_KWARGS, "def __init__")
    assert "unexpected keyword argument 'name'" in finding.message
    assert found(NO_KWARGS, keras=2) == [("TFS304", line_of(NO_KWARGS, "def __init__"))]


def test_304_automatic_config_keras3_only():
    src = """
        import keras


        class Double(keras.layers.Layer):
            def __init__(self):
                super().__init__()

            def call(self, x):
                return x * 2
    """
    assert "unexpected keyword argument 'trainable'" in one(src, "TFS304").message
    assert found(src, keras=2) == []


@pytest.mark.parametrize("init, reported", [
    ("self.dense = keras.layers.Dense(units)", True),
    ("self.mode = units.lower()", True),  # a str
    ("self.table = units.copy() if units else {}", True),  # a dict of numbers is recorded too
    ("self.dense = keras.layers.Dense(units.hidden)", False),  # a config object
    ("self.act = units()", False),  # a callable
    ("self._units = units\n                self.dense = keras.layers.Dense(self._units.hidden)", False),  # kept first
])
def test_304_automatic_config_needs_arguments_keras_can_record(init, reported):
    # TF 2.21: a layer built with an object (types.SimpleNamespace(units=2)) and no get_config()
    # fails at the save, "NotImplementedError: ... non-serializable argument values in __init__()":
    # the load error TFS304 describes is never reached.
    src = f"""
        import keras


        class Block(keras.layers.Layer):
            def __init__(self, units):
                super().__init__()
                {init}
    """
    assert [code for code, _ in found(src)] == (["TFS304"] if reported else [])


@pytest.mark.parametrize("annotation, reported", [("int", True), ("Optional[int]", True), ("ModelConfig", False),
                                                    ("config_pb2.FeatureGroup", False)])
def test_304_automatic_config_and_annotated_arguments(annotation, reported):
    # Keras 3 records an automatic config only when every argument is a str, int, float, bool or
    # None (keras/src/ops/operation.py: "we only rely on auto-configs for a small set of serializable types").
    src = f"""
        import keras
        from typing import Optional


        class Block(keras.layers.Layer):
            def __init__(self, units: {annotation}):
                super().__init__()
                self.units = units
    """
    assert [code for code, _ in found(src)] == (["TFS304"] if reported else [])


def test_304_kwargs_not_forwarded():
    src = """
        import keras


        class Scale(keras.layers.Layer):
            def __init__(self, factor=2.0, **kwargs):
                super().__init__()
                self.factor = factor
    """
    for keras in (2, 3):
        finding = one(src, "TFS304", keras=keras)
        assert "never passes them to super().__init__()" in finding.message
        assert "silently dropped" in finding.message


@pytest.mark.parametrize("init", [
    "def __init__(self, factor=2.0, **kwargs):\n        super().__init__(**kwargs)",
    "def __init__(self, factor=2.0, **kw):\n        super(Scale, self).__init__(**kw)",
    "def __init__(self, factor=2.0, **kwargs):\n        keras.layers.Layer.__init__(self, **kwargs)",
    "def __init__(self, factor=2.0, **kwargs):\n        kwargs.pop('unused', None)\n        super().__init__(**kwargs)",
    "def __init__(self, factor=2.0, **kwargs):\n        super().__init__(name=kwargs.get('name'))",
    "def __init__(self, factor=2.0, name=None, trainable=True, dtype=None):\n"
    "        super().__init__(name=name, trainable=trainable, dtype=dtype)",
])
def test_304_quiet(init):
    src = f"""
import keras


class Scale(keras.layers.Layer):
    {init}
        self.factor = factor

    def get_config(self):
        return {{**super().get_config(), "factor": self.factor}}
"""
    assert found(src) == []


def test_304_builtin_base_without_kwargs():
    src = """
        import keras


        class Eight(keras.layers.Dense):
            def __init__(self):
                super().__init__(8)
    """
    assert "unexpected keyword argument 'name'" in one(src, "TFS304", keras=2).message


def test_304_base_config_in_another_file(tmp_path):
    files = {
        "layers/__init__.py": "",
        "layers/base.py": BASE_WITH_CONFIG,
        "layers/attention.py": """
            from layers.base import BaseBlock


            class Attention(BaseBlock):
                def __init__(self, units=8):
                    super().__init__(units=units)
        """,
    }
    findings = [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM]
    where = line_of(files["layers/attention.py"], "def __init__")
    assert [(f.code, f.path.rsplit("/", 1)[-1], f.line) for f in findings] == [("TFS304", "attention.py", where)]


# -- TFS305 untracked-variable -------------------------------------------------------------

BIAS = """
    import keras
    import tensorflow as tf


    class Bias(keras.layers.Layer):
        def build(self, input_shape):
            self.b = tf.Variable(tf.zeros(input_shape[-1:]), name="b")

        def call(self, x):
            return x + self.b
"""


def test_305_tf_variable_in_build():
    finding = one(BIAS, "TFS305")
    assert finding.line == line_of(BIAS, "self.b = ")
    assert "self.b is a tf.Variable" in finding.message and "fit() does not train it" in finding.message
    assert finding.data == {"class": "Bias", "call_args": "", "key": finding.data["key"], "attribute": "b",
                            "trainable": True}


def test_305_keras2_tracks_tf_variables():
    assert found(BIAS, keras=2) == []


def test_305_through_a_local_name_and_not_trainable():
    src = """
        import tensorflow as tf


        class Counter(tf.keras.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                steps = tf.Variable(0, trainable=False)
                self.steps = steps
    """
    finding = one(src, "TFS305")
    assert finding.line == line_of(src, "self.steps = steps")
    assert "fit() does not train it" not in finding.message


def test_305_metric():
    src = """
        import keras
        import tensorflow as tf


        class Total(keras.metrics.Metric):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.total: tf.Variable = tf.Variable(0.0)
    """
    assert "metric.variables" in one(src, "TFS305").message


@pytest.mark.parametrize("value", [
    'self.add_weight(shape=(4,), initializer="zeros")',
    "keras.Variable(np.zeros(4))",
    "keras.src.backend.Variable(np.zeros(4))",
])
def test_305_tracked_variables(value):
    src = f"""
        import keras
        import numpy as np


        class Bias(keras.layers.Layer):
            def build(self, input_shape):
                self.b = {value}
    """
    assert found(src) == []


def test_305_not_keras_or_shadowed():
    src = """
        import tensorflow as tf


        class State(tf.Module):
            def __init__(self):
                self.v = tf.Variable(1.0)


        class Bias(tf.keras.layers.Layer):
            def build(self, input_shape, tf=None):
                self.b = tf.Variable(0.0)


        def loose():
            v = tf.Variable(0.0)
            return v
    """
    assert found(src) == []


def test_305_add_weight_in_init_with_a_fixed_dimension():
    # C10: this works (trains, saves, loads); nothing to say.
    src = """
        import keras


        class InitW(keras.layers.Layer):
            def __init__(self, units=3, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.w = self.add_weight(shape=(10, units), initializer="random_normal", name="w")

            def call(self, inputs):
                return inputs @ self.w

            def get_config(self):
                return {**super().get_config(), "units": self.units}
    """
    assert found(src) == [] and found(src, keras=2) == []


def test_305_subclass_in_another_file(tmp_path):
    files = {
        "base.py": "import keras\n\n\nclass Base(keras.layers.Layer):\n    pass\n",
        "bias.py": BIAS.replace("import keras\n", "from base import Base\n").replace("keras.layers.Layer", "Base"),
    }
    findings = [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM]
    assert [(f.code, f.path.rsplit("/", 1)[-1]) for f in findings] == [("TFS305", "bias.py")]


# -- TFS306 subclassed-model-h5 ------------------------------------------------------------

TWO_LAYER = """
    import keras


    class TwoLayer(keras.Model):
        def __init__(self, hidden=8, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.dense = keras.layers.Dense(hidden)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}
"""


def test_306_subclassed_model_saved_to_h5():
    src = TWO_LAYER + """
    def main():
        model = TwoLayer(hidden=16)
        model.fit(x, y)
        model.save(
            "weights/two_layer.h5",
        )
    """
    finding = one(src, "TFS306")
    assert finding.line == line_of(src, "model.save(")
    assert "Layer count mismatch" in finding.message and "'weights/two_layer.h5'" in finding.message
    assert finding.data["class"] == "TwoLayer" and finding.data["call_args"] == "hidden=16"
    message = one(src, "TFS306", keras=2).message
    assert "Keras 2 refuses" in message and "NotImplementedError" in message


def test_306_save_model_function_and_save_format():
    src = TWO_LAYER + """
    model = TwoLayer()
    keras.models.save_model(model, "model.hdf5")
    model.save("exported", save_format="h5")
    """
    assert [code for code, _ in found(src, keras=2)] == ["TFS306", "TFS306"]


def test_306_quiet_for_sequential_functional_and_keras_files():
    src = TWO_LAYER + """
    class Stack(keras.Sequential):
        pass


    class Graph(keras.Model):
        def __init__(self, **kwargs):
            inputs = keras.Input((4,))
            super().__init__(inputs, keras.layers.Dense(1)(inputs), **kwargs)


    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    seq.save("seq.h5")
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    functional.save("functional.h5")
    stack = Stack()
    stack.save("stack.h5")
    graph = Graph()
    graph.save("graph.h5")
    model = TwoLayer()
    model.save("model.keras")
    model.save_weights("model.weights.h5")
    """
    assert found(src) == []


def test_306_model_class_in_another_file(tmp_path):
    files = {
        "models.py": TWO_LAYER,
        "train.py": """
            import tensorflow as tf

            from models import TwoLayer

            if __name__ == "__main__":
                tf.random.set_seed(0)
                model = TwoLayer(hidden=32)
                model.save("two_layer.h5")
        """,
    }
    findings = [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM]
    where = line_of(files["train.py"], "model.save")
    assert [(f.code, f.path.rsplit("/", 1)[-1], f.line) for f in findings] == [("TFS306", "train.py", where)]


def test_306_functional_base_in_another_file(tmp_path):
    files = {
        "graph.py": """
            import keras


            class Graph(keras.Model):
                def __init__(self, **kwargs):
                    inputs = keras.Input((4,))
                    super().__init__(inputs=inputs, outputs=keras.layers.Dense(1)(inputs), **kwargs)
        """,
        "train.py": """
            from graph import Graph


            class Wider(Graph):
                pass


            model = Wider()
            model.save("wider.h5")
        """,
    }
    assert [f for f in lint_files(files, str(tmp_path)) if f.code in CUSTOM] == []


# -- TFS307 lambda-layer-serialized --------------------------------------------------------

LAMBDA = textwrap.dedent("""
    import keras

    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Lambda(lambda t: t * 2.0),
        keras.layers.Dense(1),
    ])
""")


def test_307_lambda_and_save():
    src = LAMBDA + 'model.save("doubled.keras")\n'
    finding = one(src, "TFS307")
    assert finding.line == line_of(src, "Lambda(")
    assert "safe_mode=False" in finding.message and "registered" in finding.message
    assert finding.data["layer"] == "keras.layers.Lambda(lambda t: t * 2.0)"
    assert finding.data["imports"] == "import keras\n"


@pytest.mark.parametrize("save", [
    'keras.models.save_model(model, path)',
    'callback = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)',
    'model.save(f"{out_dir}/model.h5")',
])
def test_307_other_saves(save):
    assert [code for code, _ in found(LAMBDA + save + "\n")] == ["TFS307"]


@pytest.mark.parametrize("save", [
    "",
    'model.save_weights("doubled.weights.h5")',
    'callback = keras.callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True)',
    'image.save("plot.png")',
    'tf.saved_model.save(model, "exported")',
])
def test_307_module_that_does_not_save_a_model(save):
    src = LAMBDA + "import tensorflow as tf\n" + save + "\n"
    assert found(src) == []


@pytest.mark.parametrize("save", [
    'model.save("saved/doubled")',
    'model.save(os.path.join(out_dir, "doubled"), save_format="tf")',
    'callback = keras.callbacks.ModelCheckpoint("ckpt_{epoch}", save_best_only=True)',
])
def test_307_keras3_save_that_fails_before_any_file_holds_the_lambda(save):
    # TF 2.21: 'ValueError: Invalid filepath extension for saving', 'The `save_format` argument is
    # deprecated in Keras 3', 'The filepath provided must end in `.keras`': no file to reload.
    src = LAMBDA + "import os\n" + save + "\n"
    assert "TFS307" not in [code for code, _ in found(src)]
    # A path whose end is not known may be a .keras file.
    assert "TFS307" in [code for code, _ in found(LAMBDA + "model.save(args.output)\n")]


LR_SEARCH = textwrap.dedent("""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 200.0), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=100, callbacks=[keras.callbacks.LearningRateScheduler(lambda e: 1e-8 * 10 ** (e / 20))])

    model = keras.Sequential([keras.Input((4,)), {second}keras.layers.Dense(1)])
    checkpoint = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=500, callbacks=[checkpoint])
    {after}
""")


@pytest.mark.parametrize("second, after, reported", [
    ("", "", []),  # the learning-rate search model is trained, then replaced: only the new one is saved
    ("keras.layers.Lambda(lambda t: t * 2.0), ", "", ["Lambda(lambda t: t * 2.0)"]),
    ("", 'model.save("final.keras")', []),
    ("model, ", "", ["Lambda(lambda t: t * 200.0)"]),  # the saved model holds the first one
    ("", "later = [checkpoint]", ["Lambda(lambda t: t * 200.0)"]),  # the checkpoint goes elsewhere too
])
def test_307_only_lambdas_in_the_model_a_save_writes(second, after, reported):
    src = LR_SEARCH.format(second=second, after=after)
    assert found(src) == [("TFS307", line_of(src, text)) for text in reported]


# A notebook of forecasting models: each cell searches a learning rate with one model, then trains
# another, built with add(), and checkpoints it with a callback bound to the same name as before.
LR_CELLS = textwrap.dedent("""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1), keras.layers.Lambda(lambda t: t * 200)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=100)

    model = keras.Sequential()
    model.add(keras.layers.InputLayer(shape=(4,)))
    model.add({added})
    model_checkpoint = keras.callbacks.ModelCheckpoint("my_checkpoint.h5", save_best_only=True)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=500, callbacks=[model_checkpoint])

    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model_checkpoint = keras.callbacks.ModelCheckpoint("my_checkpoint.h5", save_best_only=True)
    model.fit(x, y, epochs=500, callbacks=[model_checkpoint])
    {after}
""")


@pytest.mark.parametrize("added, after, reported", [
    ("keras.layers.Dense(1)", "", []),
    ("keras.layers.Lambda(lambda t: t * 2)", "", ["Lambda(lambda t: t * 2)"]),
    ("keras.layers.Dense(1)", "callbacks = [model_checkpoint]", ["Lambda(lambda t: t * 200)"]),  # goes elsewhere too
])
def test_307_a_checkpoint_name_bound_again_in_each_cell(added, after, reported):
    src = LR_CELLS.format(added=added, after=after)
    assert found(src) == [("TFS307", line_of(src, text)) for text in reported]


def test_307_lambda_through_a_name_and_aliases():
    src = """
        import tensorflow as tf
        from tensorflow.keras.layers import Lambda


        def build():
            double = lambda t: t * 2.0
            return tf.keras.Sequential([Lambda(double), tf.keras.layers.Lambda(function=lambda t: t + 1)])


        build().save("m.keras")
    """
    assert found(src) == [("TFS307", line_of(src, "Lambda(double)")), ("TFS307", line_of(src, "Lambda(double)"))]


def test_307_named_function_or_lambda_inside_a_class():
    src = """
        import keras


        def double(t):
            return t * 2.0


        class Block(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.inner = keras.layers.Lambda(lambda t: t + 1)


        model = keras.Sequential([keras.layers.Lambda(double)])
        model.save("m.keras")
    """
    assert [code for code, _ in found(src)] == []


def test_307_keras2_h5_loads_lambdas():
    assert found(LAMBDA + 'model.save("doubled.h5")\n', keras=2) == []
    assert [code for code, _ in found(LAMBDA + 'model.save("doubled.keras")\n', keras=2)] == ["TFS307"]
    assert "Python `lambda` inside it" in one(LAMBDA + 'model.save("d.keras")\n', "TFS307", keras=2).message


@pytest.mark.parametrize("rebuild, how", [
    ("copy = keras.models.model_from_json(model.to_json())", "model_from_json()"),
    ("config = model.get_config()\ncopy = keras.Sequential.from_config(config)", "keras.Sequential.from_config()"),
    ("text = model.to_json()\ncopy = tf.keras.models.model_from_json(text)", "model_from_json()"),
    ("copy = keras.models.clone_model(model)", "clone_model()"),
])
def test_307_rebuilt_from_json_or_config(rebuild, how):
    src = LAMBDA + "import tensorflow as tf\n" + rebuild + "\n"
    finding = one(src, "TFS307")
    assert finding.line == line_of(src, "Lambda(")
    assert f"that {how} rebuilds from its config" in finding.message
    assert "whose `function` is a Python lambda" in finding.message
    assert finding.data.how == finding.data["how"] == how.rstrip("()").rsplit(".", 1)[-1]  # typed LambdaLayer


def test_307_functional_model_from_config_and_a_builder_function():
    src = """
        import keras


        def build():
            inputs = keras.Input((4,))
            outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
            return keras.Model(inputs, outputs)


        model = build()
        twin = keras.Model.from_config(model.get_config())
    """
    assert found(src) == [("TFS307", line_of(src, "Lambda("))]


def test_307_keras2_from_config_fails_but_clone_model_works():
    from_json = LAMBDA + "copy = keras.models.model_from_json(model.to_json())\n"
    assert "Python `lambda` inside it" in one(from_json, "TFS307", keras=2).message
    assert found(LAMBDA + "copy = keras.models.clone_model(model)\n", keras=2) == []


@pytest.mark.parametrize("rebuild", [
    # the JSON comes from a file: which model wrote it is not known
    'copy = keras.models.model_from_json(open("model.json").read())',
    # another model, built without a lambda
    "clean = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\ncopy = keras.models.clone_model(clean)",
    # a model from elsewhere (a parameter)
    "def copy(other):\n    return keras.models.clone_model(other)",
    # to_json() alone never deserializes
    'open("model.json", "w").write(model.to_json())',
    # a layer's config, not a model's
    "dense = keras.layers.Dense.from_config(keras.layers.Dense(2).get_config())",
])
def test_307_rebuilds_it_cannot_tie_to_the_lambda(rebuild):
    assert found(LAMBDA + rebuild + "\n") == []


def test_307_lambda_in_one_builder_and_clone_of_another():
    src = """
        import keras


        def build_head():
            return keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0)])


        def build_body():
            return keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])


        body = build_body()
        target = keras.models.clone_model(body)
    """
    assert found(src) == []


# -- the project index: facts noted about classes, for their subclasses ---------------------

def test_index_deferred_hands_over_a_base_class_data(tmp_path):
    path = tmp_path / "base.py"
    path.write_text(textwrap.dedent(BASE_WITH_CONFIG))
    settings = Settings(keras_version=3)
    result = run.lint_file(str(path), settings, run.enabled_rules(settings))
    project = ProjectIndex([result])
    [info] = project.by_name["BaseBlock"]
    [noted] = project.deferred("TFS302", info.key)
    assert noted["get_config"] == {"keys": ["units"], "super": True, "complete": True}
    assert project.deferred("TFS302", "no.such.Class") == []
    assert project.deferred("TFS999", info.key) == []


def test_other_families_see_nothing_of_the_records():
    # The facts every class rule defers for subclasses never become findings of their own.
    assert found(BASE_WITH_CONFIG) == [] and found(TWO_LAYER) == []


# -- Keras 2 models, abstract bases, mixins ---------------------------------------------------

MODEL_NO_SUPER = """
    import keras


    class Net(keras.Model):
        def __init__(self, hidden=8, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden

        def get_config(self):
            return {"hidden": self.hidden}
"""


def test_303_keras2_model_get_config_has_nothing_to_merge():
    # Keras 2's Model.get_config() returns {} to an override (C19: CfgModel's config is {'hidden': 16}).
    assert found(MODEL_NO_SUPER, keras=2) == []
    assert found(MODEL_NO_SUPER) == [("TFS303", line_of(MODEL_NO_SUPER, "def get_config"))]


def test_304_keras2_model_without_kwargs_loads():
    src = """
        import keras


        class Net(keras.Model):
            def __init__(self, hidden=8):
                super().__init__()
                self.hidden = hidden

            def get_config(self):
                return {**super().get_config(), "hidden": self.hidden}
    """
    assert found(src, keras=2) == []
    assert "unexpected keyword argument 'name'" in one(src, "TFS304").message


def test_304_custom_from_config():
    src = NO_KWARGS + """
        @classmethod
        def from_config(cls, config):
            return cls(factor=config["factor"])
    """
    assert found(src) == []


def test_abstract_base_classes_are_judged_by_their_subclasses():
    src = """
        import keras
        import tensorflow as tf


        class BaseConv(keras.layers.Layer):
            def __init__(self, rank, filters, act=tf.nn.relu, **kwargs):
                super().__init__(**kwargs)
                self.rank = rank
                self.filters = filters

            def get_config(self):
                return {**super().get_config(), "filters": self.filters}


        class Conv2D(BaseConv):
            def __init__(self, filters, **kwargs):
                super().__init__(2, filters, **kwargs)


        layer = Conv2D(8)
    """
    assert found(src) == []
    # Built directly, the base class is judged like any other.
    direct = textwrap.dedent(src) + "base = BaseConv(2, 8)\n"
    assert found(direct) == [("TFS302", line_of(direct, "def get_config"))]


def test_mixins():
    src = """
        import abc

        import keras
        import tensorflow as tf
        from somewhere_else import ConfigMixin


        class Gated(keras.layers.Layer, abc.ABC):
            def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)


        class Mixed(ConfigMixin, keras.layers.Layer):
            def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)
    """
    # A base from another library may define get_config(): nothing is said about Mixed.
    assert found(src) == [("TFS301", line_of(src, "class Gated"))]


def test_305_call_arguments_for_verify():
    src = """
        import tensorflow as tf


        class Scaled(tf.keras.layers.Layer):
            def __init__(self, size, **kwargs):
                super().__init__(**kwargs)
                self.scale = tf.Variable(tf.ones((size,)))


        layer = Scaled(4)
    """
    assert one(src, "TFS305").data["call_args"] == "4"


def test_keras_version_option_of_the_command_line(tmp_path):
    # The layers are saved: by default the class rules judge only classes that reach a save.
    saved = "\nmodel = keras.Sequential([Gated(), Bias()])\nmodel.save('m.keras')\n"
    (tmp_path / "layers.py").write_text(textwrap.dedent(GATED) + textwrap.dedent(BIAS) + saved)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def codes_with(version):
        out = subprocess.run(
            [sys.executable, "-m", "tflint_save", "--keras-version", version, "--select", "TFS3", "layers.py"],
            cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=root), timeout=120,
        ).stdout
        return sorted(line.split()[1] for line in out.splitlines())

    assert codes_with("3") == ["TFS301", "TFS305"]
    assert codes_with("2") == []


def test_301_multiline_value_quoted_on_one_line():
    src = """
        import keras


        class Stack(keras.Model):
            def __init__(self, blocks=None, **kwargs):
                super().__init__(**kwargs)
                self.blocks = blocks


        model = Stack(blocks=[
            keras.layers.Dense(4),
        ])
    """
    message = one(src, "TFS301").message
    assert "its argument 'blocks' is given [keras.layers.Dense(4)] where Stack is built" in message
