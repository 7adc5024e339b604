"""A module that certainly stops early on its Keras version reaches nothing after that point:
findings there are dropped (stops.py), and only there."""

import json
import subprocess
import sys
import textwrap

import pytest

from helpers import codes, lint
from tflint_save import stops

# Keras 3 refuses the full-model checkpoint path when the callback is created (TFS502).
CHECKPOINT = 'checkpoint = keras.callbacks.ModelCheckpoint("best")\n'


def src(*parts):
    return "import keras\nimport tensorflow as tf\n" + "".join(textwrap.dedent(p) for p in parts)


def found(text, keras=3):
    return codes(lint(text, keras=keras))


@pytest.mark.parametrize("stop", [
    "opt = keras.optimizers.SGD(lr=0.01, momentum=0.9)\n",
    "model.compile(optimizer=tf.keras.optimizers.Adam(lr=1e-3), loss='mse')\n",
    "model = keras.Sequential([keras.layers.LSTM(8, stateful=True, batch_input_shape=[1, None, 1])])\n",
    "model.add(tf.keras.layers.Dense(1, batch_input_shape=(None, 3)))\n",
    "x = 1; opt = keras.optimizers.RMSprop(lr=0.01)\n",
    "tf.enable_eager_execution()\n",  # TensorFlow 1: no such attribute on TensorFlow 2
    "sess = tf.Session()\n",
    "tf.enable_eager_execution\n",  # read, not called: the same AttributeError
    "models = {'a': keras.optimizers.Adagrad(lr=0.1)}\n",
])
def test_what_follows_a_certain_keras3_failure_is_not_reported(stop):
    text = src(stop, CHECKPOINT)
    assert found(text) == []
    # The same program with the call Keras 3 accepts, or on Keras 2, where the stop is no failure.
    fixed = stop.replace("lr=", "learning_rate=").replace("batch_input_shape=", "input_shape=").replace(
        "tf.", "tf.compat.v1.")
    assert [code for code, _ in found(src(fixed, CHECKPOINT))] == ["TFS502"]


@pytest.mark.parametrize("maybe", [
    "if slow:\n    opt = keras.optimizers.SGD(lr=0.01)\n",
    "try:\n    opt = keras.optimizers.SGD(lr=0.01)\nexcept ValueError:\n    pass\n",
    "def make():\n    return keras.optimizers.SGD(lr=0.01)\n",
    "make = lambda: keras.optimizers.SGD(lr=0.01)\n",
    "opt = keras.optimizers.SGD(lr=0.01) if old else keras.optimizers.SGD(learning_rate=0.01)\n",
    "opt = legacy and keras.optimizers.SGD(lr=0.01)\n",
    "opts = [keras.optimizers.SGD(lr=r) for r in rates]\n",
    "model = keras.Sequential([keras.layers.InputLayer(batch_input_shape=(None, 3))])\n",  # InputLayer reads it
    "opt = keras.optimizers.SGD(0.01)\n",
    "opt = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)\n",
])
def test_what_may_not_run_or_does_not_raise_is_no_stop(maybe):
    assert [code for code, _ in found(src(maybe, CHECKPOINT))] == ["TFS502"]


def test_tensorflow_1_through_compat_v1_is_no_stop():
    for v1 in ("import tensorflow.compat.v1 as tf\n", "from tensorflow.compat import v1 as tf\n"):
        text = "import keras\n" + v1 + "tf.disable_v2_behavior()\nsess = tf.Session()\n" + CHECKPOINT
        assert [code for code, _ in found(text)] == ["TFS502"]
    # Either module may be the one imported: not certain.
    either = ("import keras\ntry:\n    import tensorflow.compat.v1 as tf\nexcept ImportError:\n"
              "    import tensorflow as tf\nsess = tf.Session()\n" + CHECKPOINT)
    assert [code for code, _ in found(either)] == ["TFS502"]


def test_names_are_resolved_aliases_and_shadowing():
    aliased = "from tensorflow.keras.optimizers import SGD as S\nopt = S(lr=0.01)\n"
    assert found(src(aliased, CHECKPOINT)) == []
    own = "class SGD:\n    def __init__(self, lr):\n        self.lr = lr\nopt = SGD(lr=0.01)\n"
    assert [code for code, _ in found(src(own, CHECKPOINT))] == ["TFS502"]
    unknown = "from mylib import optimizers\nopt = optimizers.SGD(lr=0.01)\n"
    assert [code for code, _ in found(src(unknown, CHECKPOINT))] == ["TFS502"]


def test_on_keras_2_nothing_stops():
    # TFS412 holds on Keras 3 only; use a finding of both versions: TFS405 on a metric.
    metric = "m = keras.metrics.Mean()\nm.reset_states()\n"
    stop = "opt = keras.optimizers.SGD(lr=0.01)\n"
    assert [code for code, _ in found(src(metric, stop, metric), keras=2)] == \
        [code for code, _ in found(src(metric, metric), keras=2)]


CALLBACK = """\
class ResetStatesCallback(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs):
        self.model.reset_states()
"""
STATEFUL = """\
model = keras.Sequential([keras.layers.SimpleRNN(100, stateful=True, batch_input_shape=[1, None, 1])])
model.fit(train_set, epochs=100, callbacks=[ResetStatesCallback()])
"""


def test_definitions_that_only_the_code_after_the_stop_uses_are_not_reached():
    text = src(CALLBACK, STATEFUL)
    assert found(text) == []
    assert [code for code, _ in found(text.replace("batch_input_shape", "input_shape"))] == ["TFS412"]


def test_definitions_used_before_the_stop_are_reached():
    used = "model.fit(train_set, callbacks=[ResetStatesCallback()])\n"
    text = src(CALLBACK, used, STATEFUL)
    line = text.splitlines().index("        self.model.reset_states()") + 1
    assert found(text) == [("TFS412", line)]


def test_findings_before_the_stop_stay():
    text = src(CHECKPOINT, "opt = keras.optimizers.SGD(lr=0.01)\n", CHECKPOINT)
    assert found(text) == [("TFS502", 3)]


def test_a_notebook_stops_at_the_cell_that_raises(tmp_path):
    from tflint_save import notebook
    cells = ["import keras\n", "opt = keras.optimizers.SGD(lr=0.01)\n", CHECKPOINT]
    book = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                      for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(book))
    from tflint_save.checks import RULES
    assert notebook.lint(str(path), RULES, 3).findings == []
    cells[1] = "opt = keras.optimizers.SGD(learning_rate=0.01)\n"
    book["cells"][1]["source"] = cells[1]
    path.write_text(json.dumps(book))
    assert [f.code for f in notebook.lint(str(path), RULES, 3).findings] == ["TFS502"]


def test_raises():
    assert stops.raises(frozenset({"keras.optimizers.Nadam"}), ["lr"], 3)
    assert not stops.raises(frozenset({"keras.optimizers.Nadam"}), ["lr"], 2)
    assert not stops.raises(frozenset({"keras.optimizers.Nadam"}), ["learning_rate"], 3)
    assert stops.raises(frozenset({"keras.layers.Conv2D"}), ["filters", "batch_input_shape"], 3)
    assert not stops.raises(frozenset({"keras.layers.InputLayer"}), ["batch_input_shape"], 3)
    assert not stops.raises(frozenset({"keras.layers.serialize"}), ["batch_input_shape"], 3)
    assert stops.raises(frozenset({"tensorflow.Session"}), [], 3)
    assert not stops.raises(frozenset({"tensorflow.Session", "tensorflow.compat.v1.Session"}), [], 3)
    assert not stops.raises(frozenset(), ["lr"], 3)


# What stops.py claims, run on the installed TensorFlow (Keras 3 from TF 2.16).
PROBE = """
import json, keras
out = {}
for name in %r:
    try:
        getattr(keras.optimizers, name)(lr=0.1)
        out[name] = "accepted"
    except ValueError as exc:
        out[name] = str(exc)
for name in ("Dense", "LSTM", "SimpleRNN", "Conv1D", "Lambda", "Dropout", "Embedding", "BatchNormalization"):
    args = {"Dense": (1,), "LSTM": (1,), "SimpleRNN": (1,), "Conv1D": (1, 3), "Lambda": (abs,),
            "Dropout": (0.1,), "Embedding": (10, 2), "BatchNormalization": ()}[name]
    try:
        getattr(keras.layers, name)(*args, batch_input_shape=(None, 3, 1))
        out[name] = "accepted"
    except ValueError as exc:
        out[name] = str(exc)
keras.layers.InputLayer(batch_input_shape=(None, 3))
import tensorflow as tf
out["tf1"] = [name for name in %r if hasattr(tf, name)]
print(json.dumps(out))
"""


def test_the_listed_calls_raise_on_keras_3():
    from importlib import metadata
    if int(metadata.version("keras").split(".")[0]) < 3:
        pytest.skip("Keras 2 installed")
    optimizers = sorted(stops.OPTIMIZERS)
    probe = PROBE % (optimizers, sorted(stops.TF1_ONLY))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for name in optimizers:
        assert out[name] == "Argument(s) not recognized: {'lr': 0.1}", name
    assert out.pop("tf1") == []
    for name, message in out.items():
        if name not in optimizers:
            assert message.startswith(f"Unrecognized keyword arguments passed to {name}: {{'batch_input_shape'"), name


def test_a_noqa_on_an_unreached_finding_is_not_unused():
    # The directive still answers for the finding Keras 2, or a fixed stop, would give.
    text = src("opt = keras.optimizers.SGD(lr=0.01)\n", CHECKPOINT.rstrip("\n") + "  # noqa: TFS502\n")
    assert codes(lint(text, select=["ALL", "TFS003"])) == []
    unused = src("opt = keras.optimizers.SGD(lr=0.01)\n", "x = 1  # noqa: TFS502\n")
    assert [code for code, _ in codes(lint(unused, select=["ALL", "TFS003"]))] == ["TFS003"]
