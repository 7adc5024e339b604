"""Function and method summaries (tflint_save/summaries.py), and the rules that follow a model
through them: a factory in another module, a helper that loads weights, a trainer class."""

import ast
import textwrap

import pytest

from helpers import codes, lint_files, only
from tflint_save import modulefacts, summaries


def summary_of(src, path="m.py"):
    return modulefacts.summarize(path, textwrap.dedent(src)).calls


# -- the summaries ----------------------------------------------------------------------------

def test_returns_a_built_model_compiled_with_its_optimizer():
    calls = summary_of("""
    import tensorflow as tf

    def get_model(units=4):
        model = tf.keras.Sequential([tf.keras.layers.Dense(units)])
        model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
        return model
    """)
    returned = calls["get_model"].returns
    assert (returned.kind, returned.compiled, returned.weights) == (summaries.MODEL, True, "")
    assert returned.optimizer == "tf.keras.optimizers.Adam(0.001)"


def test_returns_what_another_callee_returns_with_weights_from_a_parameter():
    calls = summary_of("""
    from common import build_model

    def restore(path):
        model = build_model()
        model.load_weights(path)
        return model

    class Trainer:
        def make(self):
            return self.build()
    """)
    assert calls["restore"].returns == summaries.Returned(summaries.CALL, "common.build_model", weights="param:path")
    assert calls["Trainer.make"].returns == summaries.Returned(summaries.CALL, "Trainer.build")


@pytest.mark.parametrize("body", [
    "model = build()\n    model = other()\n    return model",  # bound twice
    "if flag:\n        return build()\n    return keras.models.load_model(p)",  # two different returns
    "return factory()",  # a callable the caller gives
    "return helper.make()",  # a method of some object
    "return [build()]",
    "model = build()",  # returns nothing
])
def test_unknown_returns_are_left_out(body):
    src = "import keras\n\n\ndef f(factory, flag, p, helper):\n    " + body + "\n"
    assert summaries.read(ast.parse(src), lambda n: frozenset(), lambda n: frozenset()) == {}


def test_effects_on_parameters_and_self_attributes():
    calls = summary_of("""
    class Trainer:
        def resume(self, path):
            self.model.load_weights(path)

    def train(model, data):
        model.fit(data)
        model.save_weights("w.weights.h5")
    """)
    assert calls["Trainer.resume"].effects == (("self.model", "load_weights"),)
    assert calls["train"].effects == (("model", "fit"), ("model", "save_weights"))


def test_a_function_defined_twice_is_unknown():
    calls = summary_of("""
    import keras
    try:
        def get_model():
            return keras.Sequential()
    except ImportError:
        def get_model():
            return None
    def get_model():
        return keras.Sequential()
    """)
    assert "get_model" not in calls


def test_summaries_survive_the_cache():
    summary = modulefacts.summarize("m.py", textwrap.dedent("""
    import keras
    def get_model(path):
        model = keras.Sequential()
        model.compile(optimizer="adam")
        model.optimizer.build(model.trainable_variables)
        model.load_weights(path)
        return model
    """))
    again = modulefacts.from_json(modulefacts.to_json(summary))
    assert again.calls == summary.calls
    assert again.calls["get_model"].returns.built is True


# -- TFS104: a model from a factory in another module, checkpointed without its optimizer -------

COMMON = """
import tensorflow as tf


def get_model(num_classes=10):
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(num_classes),
    ])
    return model
"""

CUSTOM_LOOP = """
import tensorflow as tf

from common import get_model

model = get_model()
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
ckpt = tf.train.Checkpoint({objects})
manager = tf.train.CheckpointManager(ckpt, "ckpts", max_to_keep=3)
ckpt.restore(manager.latest_checkpoint)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


for epoch in range(10):
    for x, y in dataset:
        train_step(x, y)
    manager.save()
"""


@pytest.mark.parametrize("keras", [2, 3])
def test_tfs104_model_from_a_factory_module(tmp_path, keras):
    findings = lint_files({"common.py": COMMON, "train.py": CUSTOM_LOOP.format(objects="model=model")},
                          str(tmp_path), keras=keras)
    hits = only(findings, "TFS104")
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in hits] == [("train.py", 9)]
    assert "add optimizer=optimizer to the Checkpoint" in hits[0].message
    assert hits[0].data == {"keys": ["model"], "optimizer": "optimizer"}  # the callee is not a fact of it


def test_tfs104_factory_in_a_package_imported_relatively(tmp_path):
    findings = lint_files({"pkg/__init__.py": "", "pkg/common.py": COMMON,
                           "pkg/train.py": CUSTOM_LOOP.format(objects="model=model").replace(
                               "from common import", "from .common import")},
                          str(tmp_path))
    assert codes(only(findings, "TFS104")) == [("TFS104", 9)]


@pytest.mark.parametrize("files", [
    # the optimizer is in the checkpoint
    {"common.py": COMMON, "train.py": CUSTOM_LOOP.format(objects="model=model, optimizer=optimizer")},
    # the factory is not in the project: what it returns is unknown
    {"train.py": CUSTOM_LOOP.format(objects="model=model")},
    # the factory returns something else than a model it builds
    {"common.py": "def get_model():\n    return registry.lookup('resnet')\n",
     "train.py": CUSTOM_LOOP.format(objects="model=model")},
    # the factory compiles the model with the optimizer it is given: the model tracks it
    {"common.py": COMMON.replace("def get_model(num_classes=10):", "def get_model(optimizer=None, num_classes=10):")
     .replace("    return model", "    model.compile(optimizer=optimizer, loss='mse')\n    return model"),
     "train.py": CUSTOM_LOOP.format(objects="model=model")},
])
def test_tfs104_factory_negatives(tmp_path, files):
    assert only(lint_files(files, str(tmp_path)), "TFS104") == []


# -- TFS502: a module that never imports keras saves a factory's model to .h5 -----------------

MODELS = """
import keras


def make_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model
"""

RUN = """
from models import make_model

model = make_model()
model.fit(x, y, epochs=3)
model.save_weights({path!r})
"""


def test_tfs502_model_from_a_factory_in_a_module_without_keras(tmp_path):
    findings = lint_files({"models.py": MODELS, "run.py": RUN.format(path="weights.h5")}, str(tmp_path))
    hits = only(findings, "TFS502")
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in hits] == [("run.py", 6)]
    assert "'weights.weights.h5'" in hits[0].message
    assert hits[0].data == {"call": "save_weights", "path": "weights.h5"}


def test_tfs502_through_two_factories_and_a_loaded_model(tmp_path):
    findings = lint_files({
        "models.py": MODELS + "\n\ndef pretrained():\n    return keras.models.load_model('base.keras')\n",
        "zoo.py": "from models import make_model, pretrained\n\n\ndef get(name):\n    model = make_model()\n"
                  "    return model\n\n\ndef base():\n    return pretrained()\n",
        "run.py": "import zoo\n\nnet = zoo.get('small')\nnet.save_weights('a.h5')\n"
                  "other = zoo.base()\nother.load_weights('b.ckpt')\n",
    }, str(tmp_path))
    assert codes(only(findings, "TFS502")) == [("TFS502", 4), ("TFS502", 6)]


@pytest.mark.parametrize("files", [
    {"models.py": MODELS, "run.py": RUN.format(path="weights.weights.h5")},
    {"run.py": RUN.format(path="weights.h5")},  # make_model is not in the project
    {"models.py": "def make_model():\n    return Booster()\n", "run.py": RUN.format(path="weights.h5")},
    {"models.py": MODELS.replace("return model", "return model if fast else None"),
     "run.py": RUN.format(path="weights.h5")},
])
def test_tfs502_factory_negatives(tmp_path, files):
    assert only(lint_files(files, str(tmp_path)), "TFS502") == []


def test_tfs502_factory_fix_applies(tmp_path, capsys):
    from tflint_save import cli

    for rel, text in {"models.py": MODELS, "run.py": RUN.format(path="weights.h5")}.items():
        (tmp_path / rel).write_text(textwrap.dedent(text))
    code = cli.main([str(tmp_path / "models.py"), str(tmp_path / "run.py"), "--keras-version", "3", "--no-cache",
                     "--isolated", "--select", "TFS502", "--fix"])
    assert code == 0, capsys.readouterr()
    assert "model.save_weights('weights.weights.h5')" in (tmp_path / "run.py").read_text()


# -- TFS102: load_weights() in a helper that returns the model, training at module level -------

HELPER = """
import keras


def build_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def load_checkpoint(path):
    model = build_model()
    {build}model.load_weights(path)
    return model
"""

RESUME = """
model = load_checkpoint({path!r})
model.fit(x_train, y_train, epochs=10)
model.save_weights("checkpoints/last.weights.h5")
"""


@pytest.mark.parametrize("keras", [2, 3])
def test_tfs102_helper_loads_weights_then_module_level_training(keras):
    from helpers import lint

    src = HELPER.format(build="") + RESUME.format(path="checkpoints/last.weights.h5")
    hits = only(lint(src, keras=keras), "TFS102")
    assert codes(hits) == [("TFS102", 16)]
    assert hits[0].message.startswith("load_checkpoint() calls load_weights() into a model whose optimizer is not "
                                      "built yet, and training continues")
    assert hits[0].data == {"path": "checkpoints/last.weights.h5", "optimizer_built": False}


def test_tfs102_helper_in_another_module_loading_an_h5_file(tmp_path):
    findings = lint_files({
        "utils.py": HELPER.format(build=""),
        "train.py": "from utils import load_checkpoint\n" + RESUME.format(path="checkpoints/last.h5")
                    + "model.save('checkpoints/last.h5')\n",
    }, str(tmp_path), keras=2)
    hits = only(findings, "TFS102")
    assert codes(hits) == [("TFS102", 3)]
    assert "load_checkpoint() calls load_weights('checkpoints/last.h5') and training continues: an .h5 file" \
        in hits[0].message


def test_tfs102_helper_and_a_run_that_continues(tmp_path):
    # the path is a flag (unknown), but fit(initial_epoch=...) says the run continues an earlier one
    findings = lint_files({
        "utils.py": HELPER.format(build=""),
        "train.py": "import sys\nfrom utils import load_checkpoint\n\nmodel = load_checkpoint(sys.argv[1])\n"
                    "model.fit(x, y, epochs=20, initial_epoch=10)\n",
    }, str(tmp_path))
    assert codes(only(findings, "TFS102")) == [("TFS102", 4)]


@pytest.mark.parametrize("helper, path", [
    # pretrained weights to start from: nothing in the program writes that file
    (HELPER.format(build=""), "pretrained/imagenet.weights.h5"),
    # the optimizer is built before load_weights(): Keras restores its state
    (HELPER.format(build="model.optimizer.build(model.trainable_variables)\n    "), "checkpoints/last.weights.h5"),
    # the helper loads nothing into the model it returns
    (HELPER.format(build="").replace("    model.load_weights(path)\n", ""), "checkpoints/last.weights.h5"),
    # a helper that returns something else on one path
    (HELPER.format(build="").replace("    return model", "    return model if path else None"),
     "checkpoints/last.weights.h5"),
])
def test_tfs102_helper_negatives(helper, path):
    from helpers import lint

    assert only(lint(helper + RESUME.format(path=path)), "TFS102") == []


def test_tfs102_helper_not_in_the_project():
    from helpers import lint

    src = "from somewhere import load_checkpoint\n" + RESUME.format(path="checkpoints/last.weights.h5")
    assert only(lint(src), "TFS102") == []


# -- a trainer class keeping the model on self.model: TFS101 and TFS409 ------------------------

TRAINER = """
import os

import keras


class Trainer:
    def __init__(self, model, checkpoint_dir="checkpoints"):
        self.model = model
        self.checkpoint_path = os.path.join(checkpoint_dir, "model.weights.h5")
        self.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                           metrics={metrics})

    def restore(self):
        if os.path.exists(self.checkpoint_path):
            {build}self.model.load_weights({load_path})

    def train(self, x, y, epochs=10):
        callbacks = [keras.callbacks.EarlyStopping(monitor={monitor!r}, patience=3)]
        self.model.fit(x, y, epochs=epochs, validation_split=0.2, callbacks=callbacks)
        self.model.save_weights(self.checkpoint_path)
"""


def trainer(metrics='["accuracy"]', monitor="val_loss", build="", load_path="self.checkpoint_path"):
    return TRAINER.format(metrics=metrics, monitor=monitor, build=build, load_path=load_path)


def test_tfs101_trainer_class_restores_from_its_own_weights():
    from helpers import lint

    hits = only(lint(trainer()), "TFS101")
    assert codes(hits) == [("TFS101", 21)]
    assert "save_weights() is the only way this training program persists the model" in hits[0].message
    # Keras 2 writes a TF checkpoint (which keeps the optimizer) unless the path ends in .h5, and the
    # value of self.checkpoint_path is not followed (path values are pathvalues' job): unknown.
    assert only(lint(trainer(), keras=2), "TFS101") == []


@pytest.mark.parametrize("src", [
    trainer(load_path="self.pretrained_path"),  # another file: pretrained weights, not a resume
    trainer(build="self.model.optimizer.build(self.model.trainable_variables)\n            "),  # state restored
    trainer() + "\n    def export(self):\n        self.model.save('model.keras')\n",  # the full model too
    # the best weights loaded back to evaluate, not to resume
    trainer().replace("def restore(self):", "def evaluate(self):"),
])
def test_tfs101_trainer_class_negatives(src):
    from helpers import lint

    assert only(lint(src), "TFS101") == []


def test_tfs409_trainer_class_compiles_in_init_and_fits_in_a_method():
    from helpers import lint

    hits = only(lint(trainer(monitor="val_auc")), "TFS409")
    assert codes(hits) == [("TFS409", 19)]
    assert "the compiled model logs 'loss', 'accuracy', 'val_loss', 'val_accuracy'" in hits[0].message


def test_tfs409_trainer_class_builds_its_model_in_a_method():
    from helpers import lint

    src = """
    import keras


    class Trainer:
        def __init__(self, config):
            self.config = config
            self.model = self.build_model()

        def train(self, x, y):
            stop = keras.callbacks.EarlyStopping(monitor="val_auc", patience=3)
            self.model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[stop])

        def build_model(self):
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            return model
    """
    assert codes(only(lint(src), "TFS409")) == [("TFS409", 11)]


@pytest.mark.parametrize("src", [
    trainer(monitor="val_accuracy"),
    trainer(metrics='["accuracy", keras.metrics.AUC(name="auc")]', monitor="val_auc"),
    # compiled again by another method: which compile() ran last is the caller's business
    trainer(monitor="val_auc") + "\n    def recompile(self):\n        self.model.compile(optimizer='sgd', "
                                 "loss='mse', metrics=['auc'])\n",
    # another method binds another model
    trainer(monitor="val_auc") + "\n    def swap(self, other):\n        self.model = other\n",
])
def test_tfs409_trainer_class_negatives(src):
    from helpers import lint

    assert only(lint(src), "TFS409") == []


# -- TFS102: the model is a parameter, load_weights() then a custom loop with a new optimizer --

LOOP_TRAIN = """
import tensorflow as tf


def train(model, dataset, {param}=None, epochs=5):
    optimizer = {optimizer}
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if {param}:
        model.load_weights({param})
    for epoch in range(epochs):
        for x, y in dataset:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, {variables}))
        model.save_weights(f"ckpt/epoch_{{epoch}}.weights.h5")
{more}"""


def loop_train(param="resume_from", optimizer="tf.keras.optimizers.Adam(1e-3)", variables="model.trainable_variables",
               more=""):
    return LOOP_TRAIN.format(param=param, optimizer=optimizer, variables=variables, more=more)


@pytest.mark.parametrize("keras", [2, 3])
def test_tfs102_parameter_model_resumed_by_a_custom_loop(keras):
    from helpers import lint

    hits = only(lint(loop_train(), keras=keras), "TFS102")
    assert codes(hits) == [("TFS102", 9)]
    assert hits[0].message.startswith(
        "load_weights() restores only the model's variables, and this custom training loop then updates with "
        "optimizer.apply_gradients(), a new optimizer the model does not track")
    assert "tf.train.Checkpoint(model=model, optimizer=optimizer)" in hits[0].message


@pytest.mark.parametrize("src", [
    loop_train(param="pretrained_weights"),  # weights to start from: nothing says it is a resume
    loop_train(optimizer="tf.keras.optimizers.SGD(0.01)"),  # plain SGD keeps no state
    loop_train(variables="encoder.trainable_variables"),  # another model's update
    loop_train(more="\n\ndef checkpoint(model, optimizer):\n    return tf.train.Checkpoint(model=model, "
                    "optimizer=optimizer)\n"),
    loop_train().replace("    loss_fn =", "    model.compile(optimizer=optimizer)\n    loss_fn ="),
])
def test_tfs102_custom_loop_negatives(src):
    from helpers import lint

    assert only(lint(src), "TFS102") == []


def test_calls_of_self_and_odd_callees_are_unknown():
    calls = summary_of("""
    import keras

    class Net(keras.Model):
        def twice(self, x):
            return self(x)

        def other(self):
            return self.a.b()

        def built(self):
            return self.make()
    """)
    assert set(calls) == {"Net.built"}


# -- TFS301: a model built in another module with a config object held in a variable ----------

CLASSIFIER = """
import tensorflow as tf


class ModelConfig:
    def __init__(self, hidden=64, dropout=0.1):
        self.hidden = hidden
        self.dropout = dropout


class Classifier(tf.keras.Model):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = tf.keras.layers.Dense(config.hidden, activation="relu")
        self.out = tf.keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.dense(x))
"""

BUILD = """
from model import Classifier, ModelConfig

config = {config}
model = Classifier(config)
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=2)
model.save("classifier.keras")
"""


def test_tfs301_keras2_config_object_from_another_module(tmp_path):
    # TF 2.15: save() logs "Model's `__init__()` arguments contain non-serializable objects ...
    # Defaulting to empty config." and load_model() raises "Unable to revive model from config".
    findings = lint_files({"model.py": CLASSIFIER, "train.py": BUILD.format(config="ModelConfig(hidden=128)")},
                          str(tmp_path), keras=2)
    hits = only(findings, "TFS301")
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in hits] == [("model.py", 11)]
    assert "'config' is given config where Classifier is built, which Keras 2 cannot record" in hits[0].message


def test_tfs301_layer_built_with_a_config_object_in_another_module(tmp_path):
    findings = lint_files({
        "layers.py": "import keras\n\n\nclass Block(keras.layers.Layer):\n    def __init__(self, cfg, **kwargs):\n"
                     "        super().__init__(**kwargs)\n        self.units = cfg.units\n",
        "config.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass Cfg:\n    units: int = 4\n",
        "train.py": "import keras\nfrom config import Cfg\nfrom layers import Block\n\n"
                    "model = keras.Sequential([Block(Cfg(8))])\nmodel.save('m.keras')\n",
    }, str(tmp_path), keras=2)
    hits = only(findings, "TFS301")
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in hits] == [("layers.py", 4)]
    assert "'cfg' is given Cfg(...) where Block is built" in hits[0].message


@pytest.mark.parametrize("config, files", [
    ("128", {}),  # a plain value
    ("ModelConfig(hidden=128)", {"model.py": CLASSIFIER.replace("class ModelConfig:", "class ModelConfig(dict):")}),
    ("load_config('c.yaml')", {}),  # what a function returns: unknown
    ("ModelConfig(hidden=128)", {"model.py": CLASSIFIER.replace(
        "    def call(self, x):", "    def get_config(self):\n        return {}\n\n    def call(self, x):")}),
])
def test_tfs301_config_object_negatives(tmp_path, config, files):
    project = {"model.py": CLASSIFIER, "train.py": BUILD.format(config=config)}
    project.update(files)
    assert only(lint_files(project, str(tmp_path), keras=2), "TFS301") == []


def test_tfs301_instances_survive_the_cache():
    summary = modulefacts.summarize("train.py", textwrap.dedent(BUILD.format(config="ModelConfig(hidden=128)")))
    assert summary.built_with == [("model.Classifier", "0", "model.ModelConfig", "config")]
    assert modulefacts.from_json(modulefacts.to_json(summary)).built_with == summary.built_with


# -- from the real-code review: what must stay silent ------------------------------------------

def test_tfs104_pretrained_project_model_restored_is_not_the_trained_one(tmp_path):
    # neural-structured-learning meo: a project model restored from a pretrained checkpoint, while
    # the loop trains another one (checkpointed with its optimizer elsewhere)
    train = CUSTOM_LOOP.format(objects="model=model").replace(
        "ckpt = tf.train.Checkpoint(model=model)",
        "pretrained = get_model()\nckpt = tf.train.Checkpoint(model=pretrained)")
    assert only(lint_files({"common.py": COMMON, "train.py": train}, str(tmp_path)), "TFS104") == []


def test_tfs102_load_in_one_branch_and_fit_in_the_other(tmp_path):
    # keras-transformer tests/test_decode.py: load the cached weights if they exist, else train
    src = """
    import os
    from common import get_model

    model = get_model()
    model.compile(optimizer="adam", loss="mse")
    if os.path.exists("cache.h5"):
        model.load_weights("cache.h5")
    else:
        model.fit(x, y, epochs=10)
        model.save("cache.h5")
    """
    assert only(lint_files({"common.py": COMMON, "test_decode.py": src}, str(tmp_path), keras=2), "TFS102") == []
    local = src.replace("from common import get_model", "import keras").replace(
        "get_model()", "keras.Sequential([keras.layers.Dense(1)])")
    assert only(lint_files({"t.py": local}, str(tmp_path / "local"), keras=2), "TFS102") == []
