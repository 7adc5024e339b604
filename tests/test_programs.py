"""Programs and reachability: which modules run together, which save a load reads, and which
findings a program can reach (TFS201, TFS205, TFS301-TFS304)."""

import json
import os
import textwrap

import pytest

from helpers import only
from tflint_save import run, modulefacts
from tflint_save.config import Settings
from tflint_save.programs import ProgramModel, find_root

LAYER = """
import keras

class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
"""
REGISTERED = LAYER.replace("class Scale", "@keras.saving.register_keras_serializable(package='proj')\nclass Scale")
TRAIN = """
import keras
from layers import Scale

model = keras.Sequential([keras.Input((3,)), Scale(3.0), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.save("m.keras")
"""
SERVE = """
import keras

model = keras.models.load_model("m.keras")
"""


def notebook(*cells):
    return json.dumps({
        "cells": [{"cell_type": "code", "source": textwrap.dedent(c), "metadata": {}, "outputs": [],
                   "execution_count": None} for c in cells],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    })


def project(tmp_path, files):
    """Write a project (with its pyproject.toml: the root) and return its folder."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[tool.tflint-save]\n")
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if rel.endswith(".ipynb") else textwrap.dedent(text))
    return tmp_path


def lint_project(tmp_path, files, only_these=None, **settings):
    root = project(tmp_path, files)
    paths = sorted(str(root / rel) for rel in (only_these or files))
    config = Settings(config_file=str(root / "pyproject.toml"), **settings)
    return run.lint_paths(paths, config).findings


def rows(findings, code=None):
    return sorted((os.path.basename(f.path), f.line, f.code) for f in findings if code is None or f.code == code)


def model_of(tmp_path, files):
    root = project(tmp_path, files)
    summaries = []
    for rel in files:
        path = str(root / rel)
        summaries.append(run.read_summary(path))
    return root, ProgramModel(summaries)


# -- the program model -----------------------------------------------------------------------

def test_entries_and_membership(tmp_path):
    root, model = model_of(tmp_path, {
        "layers.py": LAYER, "train.py": TRAIN, "serve.py": SERVE,
        "tool.py": "import layers\nif __name__ == '__main__':\n    print(layers)\n",
        "tests/test_layers.py": "from layers import Scale\n",
        "explore.ipynb": notebook("import layers"),
    })
    kinds = {os.path.relpath(p, root): model.kind(p) for p in model.summaries}
    assert kinds == {"layers.py": "library", "train.py": "script", "serve.py": "script", "tool.py": "script",
                     os.path.join("tests", "test_layers.py"): "test", "explore.ipynb": "notebook"}
    entries = {os.path.relpath(p.entry, root) for p in model.programs_of(str(root / "layers.py"))}
    assert entries == {"train.py", "tool.py", os.path.join("tests", "test_layers.py"), "explore.ipynb"}
    assert [os.path.relpath(p.entry, root) for p in model.programs_of(str(root / "serve.py"))] == ["serve.py"]


def test_relative_imports_package_reexports_and_src_layout(tmp_path):
    root, model = model_of(tmp_path, {
        "src/pkg/__init__.py": "from .layers import Scale\n",
        "src/pkg/layers.py": LAYER,
        "src/pkg/models/__init__.py": "",
        "src/pkg/models/net.py": "from ..layers import Scale\n",
        "scripts/train.py": "import pkg\n",
        "scripts/other.py": "from pkg.models import net\n",
    })
    layers = str(root / "src/pkg/layers.py")
    closure = model.closure(str(root / "scripts/train.py"))
    assert model.norm(layers) in closure  # through the package's __init__ re-export
    other = model.closure(str(root / "scripts/other.py"))
    assert model.norm(str(root / "src/pkg/models/net.py")) in other
    assert model.norm(layers) in other  # a.b.c runs a/__init__.py, which imports .layers
    assert model.is_library_api(layers)


def test_a_script_directory_import_prefers_the_nearest_module(tmp_path):
    root, model = model_of(tmp_path, {
        "a/utils.py": "", "a/run.py": "import utils\n",
        "b/utils.py": "", "b/run.py": "import utils\n",
    })
    assert model.edges[model.norm(str(root / "a/run.py"))] == {model.norm(str(root / "a/utils.py"))}


def test_dynamic_imports_make_a_program_open(tmp_path):
    root, model = model_of(tmp_path, {
        "serve.py": "import sys\nsys.path.append('..')\nimport keras\nm = keras.models.load_model('m.keras')\n",
        "plain.py": "import keras\n",
    })
    assert [p.open for p in model.programs_of(str(root / "serve.py"))] == [True]
    assert [p.open for p in model.programs_of(str(root / "plain.py"))] == [False]


def test_save_and_load_keys(tmp_path):
    text = """
        import argparse
        import keras
        from config import MODEL_PATH

        OUT = "runs/model.keras"
        parser = argparse.ArgumentParser()
        parser.add_argument("--model-path", default="best.keras")
        args = parser.parse_args()

        def main():
            path = "local.keras"
            model.save(path)
            model.save(args.model_path)
            model.save(OUT)
            model.save(MODEL_PATH)
            model.save(f"{args.out}/m.keras")
            keras.models.load_model("./runs/model.keras")
    """
    root, model = model_of(tmp_path, {"train.py": text, "config.py": "MODEL_PATH = 'shared.keras'\n"})
    path = str(root / "train.py")
    found = model.summaries[model.norm(path)]
    keys = [model.key(path, s) for s in found.sites]
    assert keys == ["=local.keras", "=best.keras", "=runs/model.keras", "=shared.keras", None, "=runs/model.keras"]


def test_find_root(tmp_path):
    (tmp_path / "proj" / "pkg").mkdir(parents=True)
    (tmp_path / "proj" / "setup.cfg").write_text("")
    (tmp_path / "proj" / "pkg" / "a.py").write_text("")
    assert find_root([str(tmp_path / "proj" / "pkg" / "a.py")], None) == str(tmp_path / "proj")
    (tmp_path / "proj" / ".git").mkdir()
    assert find_root([str(tmp_path / "proj" / "pkg")], None) == str(tmp_path / "proj")
    assert find_root([str(tmp_path / "x.py")], str(tmp_path / "cfg" / "pyproject.toml")) == str(tmp_path / "cfg")


def test_unparsable_module_is_open():
    found = modulefacts.summarize("x.py", "def (:\n")
    assert found.dynamic is False and found.imports == []
    assert run.read_summary("/nonexistent/x.py").dynamic is True


# -- TFS201: per program, only what a linked save holds ----------------------------------------

def test_tfs201_notebooks_are_programs_of_their_own(tmp_path):
    files = {
        "custom.ipynb": notebook(LAYER, "m = keras.Sequential([keras.Input((3,)), Scale()])\nm.save('custom.keras')"),
        "plain.ipynb": notebook("import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
                                "m.save('plain.keras')\nr = keras.models.load_model('plain.keras')"),
    }
    assert rows(lint_project(tmp_path, files), "TFS201") == []


def test_tfs201_fires_in_the_program_that_saves_and_reloads(tmp_path):
    files = {"nb.ipynb": notebook(LAYER, "m = keras.Sequential([keras.Input((3,)), Scale()])\nm.save('m.keras')",
                                  "r = keras.models.load_model('m.keras')")}
    [finding] = only(lint_project(tmp_path, files), "TFS201")
    assert finding.cell == 3 and "Scale is not registered" in finding.message


def test_tfs201_two_scripts_that_write_the_same_name_read_their_own_file(tmp_path):
    files = {
        "layers.py": LAYER,
        "custom.py": "import keras\nfrom layers import Scale\nm = keras.Sequential([Scale()])\nm.save('model.h5')\n",
        "plain.py": "import keras\nm = keras.Sequential([keras.layers.Dense(1)])\nm.save('model.h5')\n"
                    "r = keras.models.load_model('model.h5')\n",
    }
    assert rows(lint_project(tmp_path, files), "TFS201") == []


def test_tfs201_an_own_function_given_activation_is_not_a_keras_object(tmp_path):
    source = """
        import keras
        import numpy as np

        def relu_np(x):
            return np.maximum(x, 0)

        def plot_activation(xs, activation):
            return [activation(x) for x in xs]

        plot_activation(np.linspace(-1, 1), activation=relu_np)
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        m.save("m.keras")
        r = keras.models.load_model("m.keras")
    """
    assert rows(lint_project(tmp_path, {"nb.py": source}), "TFS201") == []


def test_tfs201_a_loss_of_another_programs_model_is_not_listed(tmp_path):
    files = {
        "experiment.py": """
            import keras

            def weighted_loss(y_true, y_pred):
                return keras.ops.mean(y_true - y_pred)

            m = keras.Sequential([keras.layers.Dense(1)])
            m.compile(loss=weighted_loss)
            m.fit([[1.0]], [[1.0]])
        """,
        "export.py": """
            import keras
            m = keras.Sequential([keras.layers.Dense(1)])
            m.compile(loss="mse")
            m.save("m.keras")
            r = keras.models.load_model("m.keras")
        """,
    }
    assert rows(lint_project(tmp_path, files), "TFS201") == []


@pytest.mark.parametrize("decorator", [
    "from keras_hub.src.api_export import keras_hub_export\n\n@keras_hub_export('keras_hub.layers.Scale')",
    "from keras_cv.api_export import keras_cv_export\n\n@keras_cv_export('keras_cv.layers.Scale')",
    "from keras_nlp.src.api_export import keras_nlp_export\n\n@keras_nlp_export('keras_nlp.layers.Scale')",
])
def test_tfs201_library_export_decorators_register(tmp_path, decorator):
    source = LAYER.replace("class Scale", decorator + "\nclass Scale") + (
        "\nm = keras.Sequential([Scale()])\nm.save('m.keras')\nr = keras.models.load_model('m.keras')\n")
    assert rows(lint_project(tmp_path, {"train.py": source}), "TFS201") == []


def test_tfs201_linked_through_an_argparse_default(tmp_path):
    files = {
        "layers.py": LAYER,
        "train.py": TRAIN.replace('model.save("m.keras")', 'model.save(args.out)').replace(
            "import keras\n", "import argparse\nimport keras\np = argparse.ArgumentParser()\n"
            "p.add_argument('--out', default='m.keras')\nargs = p.parse_args()\n", 1),
        "serve.py": SERVE,
        "other.py": SERVE.replace("m.keras", "other.keras"),
    }
    assert rows(lint_project(tmp_path, files), "TFS201") == [("serve.py", 4, "TFS201")]


# -- TFS205 registration-not-imported -----------------------------------------------------------

def test_tfs205_the_serving_script_never_imports_the_registration(tmp_path):
    files = {"layers.py": REGISTERED, "train.py": TRAIN, "serve.py": SERVE}
    findings = lint_project(tmp_path, files)
    assert rows(findings) == [("serve.py", 4, "TFS205")]
    message = findings[0].message
    assert "Scale is registered in layers.py, which this program (serve.py) never imports" in message
    assert "Could not locate class 'Scale'" in message and "import layers before loading" in message


def test_tfs205_keras2_quotes_what_keras2_prints(tmp_path):
    files = {"layers.py": REGISTERED.replace("import keras", "from tensorflow import keras"), "train.py": TRAIN,
             "serve.py": SERVE}
    [finding] = only(lint_project(tmp_path, files, keras_version=2), "TFS205")
    assert "The added layer must be an instance of class Layer" in finding.message


@pytest.mark.parametrize("serve", [
    SERVE.replace("import keras\n", "import keras\nimport layers  # registers Scale\n"),
    SERVE.replace("import keras\n", "import keras\nfrom app import setup\n"),  # through another module
    SERVE.replace('load_model("m.keras")', 'load_model("m.keras", custom_objects={"Scale": object})'),
    SERVE.replace("import keras\n", "import importlib\nimport keras\nimportlib.import_module(name)\n"),
])
def test_tfs205_silent_when_the_program_imports_it_or_may(tmp_path, serve):
    files = {"layers.py": REGISTERED, "train.py": TRAIN, "serve.py": serve, "app/__init__.py": "",
             "app/setup.py": "from layers import Scale\n"}
    assert rows(lint_project(tmp_path, files)) == []


def test_tfs205_through_a_package_init(tmp_path):
    files = {"models/__init__.py": "from .layers import Scale\n", "models/layers.py": REGISTERED,
             "train.py": TRAIN.replace("from layers", "from models"),
             "serve.py": SERVE.replace("import keras\n", "import keras\nimport models\n")}
    assert rows(lint_project(tmp_path, files)) == []


def test_tfs205_load_in_library_code_is_left_to_its_callers(tmp_path):
    files = {"pkg/__init__.py": "", "pkg/layers.py": REGISTERED,
             "train.py": TRAIN.replace("from layers", "from pkg.layers"),
             "pkg/serving.py": "import keras\n\ndef load():\n    return keras.models.load_model('m.keras')\n"}
    assert rows(lint_project(tmp_path, files), "TFS205") == []


def test_tfs205_project_decorator_that_registers(tmp_path):
    files = {
        "registry.py": """
            import keras

            def serializable(cls):
                return keras.saving.register_keras_serializable(package="proj")(cls)
        """,
        "layers.py": LAYER.replace("import keras\n", "import keras\nfrom registry import serializable\n").replace(
            "class Scale", "@serializable\nclass Scale"),
        "train.py": TRAIN, "serve.py": SERVE,
    }
    assert rows(lint_project(tmp_path, files)) == [("serve.py", 4, "TFS205")]


# -- TFS301-TFS304 reach a save -------------------------------------------------------------------

UNSAVABLE = """
import keras
import tensorflow as tf

class Gated(keras.layers.Layer):
    def __init__(self, units=8, gate=tf.nn.sigmoid):
        super().__init__()
        self.units = units
        self.gate = gate

    def call(self, x):
        return self.gate(x)
"""


def test_class_in_a_notebook_that_never_saves_gets_nothing(tmp_path):
    files = {"nb.ipynb": notebook(UNSAVABLE, "m = keras.Sequential([Gated()])\nm.fit(x, y)")}
    assert rows(lint_project(tmp_path, files)) == []


def test_class_saved_in_a_script_is_judged(tmp_path):
    files = {"train.py": UNSAVABLE + "\nm = keras.Sequential([Gated()])\nm.save('m.keras')\n"}
    assert rows(lint_project(tmp_path, files)) == [("train.py", 5, "TFS301")]


def test_class_saved_by_another_program_that_imports_it(tmp_path):
    files = {"layers.py": UNSAVABLE, "explore.py": "import keras\nfrom layers import Gated\nGated()\n",
             "export.py": "import keras\nfrom layers import Gated\nm = keras.Sequential([Gated()])\nm.to_json()\n"}
    assert rows(lint_project(tmp_path, files)) == [("layers.py", 5, "TFS301")]


def test_public_class_of_a_library_is_judged_without_a_save(tmp_path):
    files = {"pkg/__init__.py": "", "pkg/layers.py": UNSAVABLE}
    assert rows(lint_project(tmp_path, files)) == [("layers.py", 5, "TFS301")]
    private = {"pkg/__init__.py": "", "pkg/layers.py": UNSAVABLE.replace("Gated", "_Gated")}
    assert rows(lint_project(tmp_path / "p", private)) == []


def test_custom_classes_all(tmp_path):
    files = {"nb.ipynb": notebook(UNSAVABLE)}
    assert rows(lint_project(tmp_path, files, custom_classes="all")) == [("nb.ipynb", 5, "TFS301")]


def test_custom_classes_setting_is_read_from_the_config(tmp_path):
    from tflint_save import config

    (tmp_path / "pyproject.toml").write_text('[tool.tflint-save]\ncustom-classes = "all"\n')
    assert config.load_config(str(tmp_path / "pyproject.toml"), ["TFS301"]) == {"custom-classes": "all"}
    (tmp_path / "pyproject.toml").write_text('[tool.tflint-save]\ncustom-classes = "some"\n')
    with pytest.raises(config.ConfigError, match='expected "saved" or "all"'):
        config.load_config(str(tmp_path / "pyproject.toml"), ["TFS301"])


def test_custom_classes_is_a_setting_of_each_files_configuration(tmp_path):
    """The closest configuration of the file that defines the class decides; the command line
    overrides every configuration; --show-settings says where the value came from."""
    from test_cli import cli

    (tmp_path / "pyproject.toml").write_text('[tool.tflint-save]\n')
    for folder in ("lab", "prod"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "nb.py").write_text(UNSAVABLE + "\nif __name__ == '__main__':\n    Gated()\n")
    (tmp_path / "lab" / ".tflint-save.toml").write_text('custom-classes = "all"\n')

    def reported(*args):
        out = cli("--no-cache", "--select", "TFS301", *args, ".", cwd=tmp_path).stdout
        return sorted(line.split(":")[0] for line in out.splitlines() if "TFS301" in line)

    assert reported() == [os.path.join("lab", "nb.py")]
    assert reported("--custom-classes", "all") == [os.path.join("lab", "nb.py"), os.path.join("prod", "nb.py")]
    assert reported("--custom-classes", "saved") == []
    shown = cli("--show-settings", ".", cwd=tmp_path).stdout
    assert f"custom-classes = all    # from {tmp_path / 'lab' / '.tflint-save.toml'}" in shown
    assert "custom-classes = saved    # from default" in shown
    shown = cli("--show-settings", "--custom-classes", "all", ".", cwd=tmp_path).stdout
    assert "custom-classes = saved" not in shown and "custom-classes = all    # from command line" in shown


def test_tfs304_silent_when_the_save_already_fails(tmp_path):
    # No **kwargs (TFS304's pattern) and a callable argument: model.save() raises first (TFS301).
    source = UNSAVABLE.replace("        return self.gate(x)\n", "        return self.gate(x)\n\n"
                               "    def get_config_(self):\n        return {}\n")
    saved = source + "\nm = keras.Sequential([Gated(gate=tf.nn.relu)])\nm.save('m.keras')\n"
    assert rows(lint_project(tmp_path, {"train.py": saved}), None) == [("train.py", 5, "TFS301")]


# -- a file's findings never depend on which files are passed ----------------------------------------

SUBSET_PROJECT = {
    "pkg/__init__.py": "from .layers import Base\n",
    "pkg/layers.py": """
        import keras

        class Base(keras.layers.Layer):
            def get_config(self):
                return {**super().get_config()}
    """,
    "models.py": """
        import keras
        from pkg.layers import Base

        class Net(Base):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def get_config(self):
                return super().get_config()

        def build():
            return keras.Sequential([Net(4)])
    """,
    "train.py": """
        import keras
        from models import build

        model = build()
        model.save("net.keras")
    """,
    "serve.py": SERVE.replace("m.keras", "net.keras"),
    "nb.ipynb": notebook(UNSAVABLE, "m = keras.Sequential([Gated()])"),
    "layers2.py": REGISTERED,
    "train2.py": TRAIN.replace("from layers", "from layers2"),
    "serve2.py": SERVE,
}


def test_subset_runs_give_the_whole_runs_findings_for_those_files(tmp_path):
    root = project(tmp_path, SUBSET_PROJECT)
    whole = rows(lint_project(tmp_path, SUBSET_PROJECT))
    assert ("models.py", 10, "TFS302") in whole and ("serve.py", 4, "TFS201") in whole
    assert ("serve2.py", 4, "TFS205") in whole
    for subset in (["serve.py"], ["models.py"], ["serve2.py", "nb.ipynb"], ["train.py", "pkg/layers.py"]):
        names = {os.path.basename(s) for s in subset}
        expected = [r for r in whole if r[0] in names]
        assert rows(lint_project(tmp_path, SUBSET_PROJECT, only_these=subset)) == expected, subset
    assert root


def test_subset_run_reads_other_files_from_the_cache_when_warm(tmp_path, monkeypatch):
    from tflint_save import cache as cache_mod

    root = project(tmp_path, SUBSET_PROJECT)
    settings = Settings(config_file=str(root / "pyproject.toml"))
    cache = cache_mod.for_run(settings, run.enabled_rules(settings), str(tmp_path / "cache"))
    real, read = run.read_summary, []
    monkeypatch.setattr(run, "read_summary", lambda path: read.append(os.path.basename(path)) or real(path))
    first = run.lint_paths([str(root / "serve.py")], settings, cache=cache).findings
    assert len(read) == len(SUBSET_PROJECT) - 1
    read.clear()
    second = run.lint_paths([str(root / "serve.py")], settings, cache=cache).findings
    assert rows(first) == rows(second) == [("serve.py", 4, "TFS201")] and read == []
    # An edited file is read again, and what it says now decides: train.py no longer saves net.keras.
    (root / "train.py").write_text((root / "train.py").read_text().replace("net.keras", "other.keras"))
    third = run.lint_paths([str(root / "serve.py")], settings, cache=cache).findings
    assert read == ["train.py"] and rows(third) == []


def test_a_corrupt_summaries_cache_is_read_again_with_a_warning(tmp_path, capsys):
    from tflint_save import cache as cache_mod

    root = project(tmp_path, SUBSET_PROJECT)
    settings = Settings(config_file=str(root / "pyproject.toml"))
    folder = str(tmp_path / "cache")
    first = run.lint_paths([str(root / "serve.py")], settings,
                           cache=cache_mod.for_run(settings, run.enabled_rules(settings), folder)).findings
    cache = cache_mod.for_run(settings, run.enabled_rules(settings), folder)
    packs = [name for name in os.listdir(cache.folder) if name.startswith("summaries-")]
    assert len(packs) == 1
    with open(os.path.join(cache.folder, packs[0]), "w") as out:
        out.write('{"root": 1')
    second = run.lint_paths([str(root / "serve.py")], settings, cache=cache).findings
    assert rows(second) == rows(first) == [("serve.py", 4, "TFS201")]
    assert len(cache.warnings) == 1 and "corrupt" in cache.warnings[0]


# -- idioms that look like a missing registration and are not ---------------------------------------

SAVED_AND_LOADED = LAYER + "\nm = keras.Sequential([keras.Input((3,)), Scale()])\nm.save('m.h5')\n"


@pytest.mark.parametrize("load", [
    "cust = {'Scale': Scale}\nr = keras.models.load_model('m.h5', cust)",  # custom_objects by position
    "import tensorflow_model_optimization as tfmot\nwith tfmot.sparsity.keras.prune_scope():\n"
    "    r = keras.models.load_model('m.h5')",  # a library's own custom-object scope
])
def test_tfs201_custom_objects_given_another_way(tmp_path, load):
    assert rows(lint_project(tmp_path, {"train.py": SAVED_AND_LOADED + load + "\n"}), "TFS201") == []


def test_tfs201_registered_through_a_reexported_decorator(tmp_path):
    train = SAVED_AND_LOADED.replace("import keras\n", "import keras\nfrom mylib import backend\n").replace(
        "class Scale", "@backend.register_keras_serializable(package='mylib')\nclass Scale")
    reexport = "from tensorflow.keras.utils import register_keras_serializable\n"
    files = {"mylib/__init__.py": "", "mylib/backend.py": reexport,
             "train.py": train + "r = keras.models.load_model('m.h5')\n"}
    assert rows(lint_project(tmp_path, files), "TFS201") == []


def test_keras2_savedmodel_directories_reload_without_the_classes(tmp_path):
    source = LAYER.replace("import keras", "from tensorflow import keras") + (
        "\nm = keras.Sequential([Scale()])\nm.save('saved/scale')\nr = keras.models.load_model(path)\n")
    assert rows(lint_project(tmp_path, {"train.py": source}, keras_version=2), "TFS201") == []
    assert rows(lint_project(tmp_path, {"train.py": source.replace("saved/scale", "scale.h5")}, keras_version=2),
                "TFS201") == [("train.py", 17, "TFS201")]
    unsavable = UNSAVABLE.replace("import keras", "from tensorflow import keras") + (
        "\nm = keras.Sequential([Gated(gate=tf.nn.relu)])\nm.save('saved/gated')\n")
    assert rows(lint_project(tmp_path, {"train.py": unsavable}, keras_version=2)) == []


KERAS2_LAYER = LAYER.replace("import keras", "import tensorflow as tf\nfrom tensorflow import keras")


@pytest.mark.parametrize("load", [
    # A helper that round-trips through a temporary directory: a SavedModel on Keras 2.
    """
def save_and_load(model):
    with tempfile.TemporaryDirectory() as tmpdir:
        keras.models.save_model(model, tmpdir)
        return keras.models.load_model(tmpdir)

restored = save_and_load(keras.Sequential([keras.Input((3,)), Scale()]))
""",
    # A path from the command line, without a default: its format is unknown.
    """
def export(model, out_dir):
    model.save(out_dir)

parser = argparse.ArgumentParser()
parser.add_argument("--model")
args = parser.parse_args()
if args.model:
    restored = keras.models.load_model(args.model)
else:
    export(keras.Sequential([keras.Input((3,)), Scale()]), "exported")
""",
])
def test_keras2_load_of_a_path_of_unknown_format_is_unknown(tmp_path, load):
    source = "import argparse\nimport tempfile\n" + KERAS2_LAYER + load
    assert rows(lint_project(tmp_path, {"train.py": source}, keras_version=2), "TFS201") == []


def test_keras2_load_of_a_known_h5_path_reads_what_an_unknown_save_wrote(tmp_path):
    source = KERAS2_LAYER + """
def export(model, path):
    model.save(path)

export(keras.Sequential([keras.Input((3,)), Scale()]), out_path)
restored = keras.models.load_model("exported.h5")
"""
    assert rows(lint_project(tmp_path, {"train.py": source}, keras_version=2), "TFS201") == [("train.py", 20, "TFS201")]


def test_tfs201_objects_of_another_model_of_the_same_program(tmp_path):
    source = LAYER + """
def custom_loss(y_true, y_pred):
    return keras.ops.mean(y_true - y_pred)

experiment = keras.Sequential([keras.Input((3,)), Scale()])
experiment.compile(loss=custom_loss)
experiment.fit(x, y)

iris = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
iris.compile(loss="sparse_categorical_crossentropy")
iris.save("iris.keras")
restored = keras.models.load_model("iris.keras")
"""
    assert rows(lint_project(tmp_path, {"ch13.py": source}), "TFS201") == []


GAN = """
import sys
import keras


def wasserstein_loss(y_true, y_pred):
    return keras.ops.mean(y_true * y_pred)


def build_generator():
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.Dense(4)(inputs), name="generator")


def train(models, steps):
    generator, discriminator, adversarial = models
    for _ in range(steps):
        discriminator.train_on_batch(x, y)
        adversarial.train_on_batch(z, y)
    generator.save("generator.h5")


def build_and_train():
    discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    discriminator.compile(loss=wasserstein_loss, optimizer="rmsprop")
    generator = build_generator()
    discriminator.trainable = False
    adversarial = keras.Model(generator.input, discriminator(generator.output))
    adversarial.compile(loss=wasserstein_loss, optimizer="rmsprop")
    train((generator, discriminator, adversarial), 10)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        generator = keras.models.load_model("generator.h5")
    else:
        build_and_train()
"""


def test_tfs201_a_loss_compiled_into_other_models_never_reaches_the_saved_one(tmp_path):
    # The loss is compiled into the discriminator and the adversarial model; the generator that is
    # saved and reloaded is never compiled with it.
    assert rows(lint_project(tmp_path / "a", {"wgan.py": GAN}), "TFS201") == []
    # The generator compiled with it: the saved file holds the loss.
    compiled = GAN.replace('    generator.save(', '    generator.compile(loss=wasserstein_loss)\n    generator.save(')
    [finding] = only(lint_project(tmp_path / "b", {"wgan.py": compiled}), "TFS201")
    assert "wasserstein_loss is not registered" in finding.message


def get_model_cells(*sections):
    return notebook(LAYER, """
        def get_model():
            inputs = keras.Input((3,))
            outputs = keras.layers.Dense(1)(inputs)
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="mse")
            return model
        """, *sections)


def test_tfs201_a_rebound_variable_saves_the_value_it_holds_at_the_save(tmp_path):
    # A guide's sections all call their model ``model``: the one saved to .h5 is get_model()'s,
    # of built-in layers; the custom layer's sections come before and after it.
    files = {"guide.ipynb": get_model_cells(
        "model = keras.Sequential([keras.Input((3,)), Scale()])\nmodel.fit(x, y)",
        "model = get_model()\nmodel.fit(x, y)\nmodel.save('my_h5_model.h5')",
        "reconstructed = keras.models.load_model('my_h5_model.h5')",
        "model = keras.Sequential([keras.Input((3,)), Scale()])\nmodel.compile(loss='mse')\nmodel.fit(x, y)",
    )}
    assert rows(lint_project(tmp_path, files), "TFS201") == []


@pytest.mark.parametrize("section", [
    # Rebound in a branch: either value may be the one saved.
    "if use_custom:\n    model = keras.Sequential([keras.Input((3,)), Scale()])\nmodel.save('my_h5_model.h5')",
    # Built from a variable whose value at that point holds the layer.
    "x = Scale()(inputs)\nmodel = keras.Model(inputs, x)\nx = None\nmodel.save('my_h5_model.h5')",
    # Saved in a loop that rebinds it after the save: the next iteration saves the custom model.
    "for step in range(2):\n    model.save('my_h5_model.h5')\n    model = keras.Sequential([Scale()])",
])
def test_tfs201_every_value_that_may_reach_the_save_counts(tmp_path, section):
    files = {"guide.ipynb": get_model_cells("inputs = keras.Input((3,))\nmodel = get_model()", section,
                                            "reconstructed = keras.models.load_model('my_h5_model.h5')")}
    [finding] = only(lint_project(tmp_path, files), "TFS201")
    assert "Scale is not registered" in finding.message


LIBRARY_LOAD = {
    "pkg/__init__.py": "from pkg import layers, tools\n",
    "pkg/layers.py": LAYER,
    "pkg/tools.py": """
        import keras

        def evaluate(model_path, data):
            model = keras.models.load_model(model_path, compile=False)
            return model.predict(data)
    """,
    # A conversion script of the same package: it saves its own model with the custom layer.
    "pkg/convert.py": """
        import keras
        import pkg
        from pkg.layers import Scale

        if __name__ == "__main__":
            model = keras.Sequential([keras.Input((3,)), Scale()])
            model.save("convert_temp.h5")
    """,
}


def test_tfs201_a_library_function_loading_its_argument_runs_only_where_it_is_called(tmp_path):
    # evaluate() loads the path its caller gives; no program of the project calls it, so nothing
    # links its load to the conversion script's save (that script only imports the package).
    assert rows(lint_project(tmp_path / "a", LIBRARY_LOAD), "TFS201") == []
    # The same when the script's imports cannot all be followed: no module of the project calls it.
    open_program = dict(LIBRARY_LOAD)
    open_program["pkg/convert.py"] = 'import sys\nsys.path.append("../vendor")\n' + textwrap.dedent(
        LIBRARY_LOAD["pkg/convert.py"])
    assert rows(lint_project(tmp_path / "c", open_program), "TFS201") == []
    # A program that calls it with a path it may have written: linked.
    called = dict(LIBRARY_LOAD)
    called["pkg/convert.py"] += "    pkg.tools.evaluate(path, x)\n"
    assert rows(lint_project(tmp_path / "b", called), "TFS201") == [("tools.py", 5, "TFS201")]


@pytest.mark.parametrize("run_main, expected", [("app.run(main)\n", [("cli.py", 7, "TFS201")]), ("", [])])
def test_tfs201_a_function_passed_by_name_runs(tmp_path, run_main, expected):
    script = """
        import keras
        from absl import app
        from layers import Scale

        def main(argv):
            restored = keras.models.load_model(argv[1])

        model = keras.Sequential([keras.Input((3,)), Scale()])
        model.save("m.keras")
    """
    files = {"layers.py": LAYER, "cli.py": textwrap.dedent(script) + run_main}
    assert rows(lint_project(tmp_path, files), "TFS201") == expected


def test_tfs201_follows_the_functional_graph_and_a_factory_module(tmp_path):
    functional = LAYER + """
inputs = keras.Input((3,))
x = Scale()(inputs)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.save("f.keras")
restored = keras.models.load_model("f.keras")
"""
    assert rows(lint_project(tmp_path / "a", {"f.py": functional}), "TFS201") == [("f.py", 20, "TFS201")]
    files = {
        "layers.py": LAYER,
        "factory.py": """
            import keras
            from layers import Scale

            def my_loss(y_true, y_pred):
                return keras.ops.mean(y_true - y_pred)

            def build():
                model = keras.Sequential([keras.Input((3,)), Scale()])
                model.compile(loss=my_loss)
                return model
        """,
        "train.py": "from factory import build\nmodel = build()\nmodel.save('m.keras')\n",
        "serve.py": SERVE,
    }
    [finding] = only(lint_project(tmp_path / "b", files), "TFS201")
    assert "Scale and my_loss are not registered" in finding.message


def test_tfs302_initial_weights_argument_is_never_in_a_config(tmp_path):
    source = """
        from tensorflow import keras

        class CosineDense(keras.layers.Layer):
            def __init__(self, units, weights=None, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.initial_weights = weights

            def get_config(self):
                return {**super().get_config(), "units": self.units}

        CUSTOM_OBJECTS = {"CosineDense": CosineDense}
    """
    files = {"pkg/__init__.py": "", "pkg/core.py": source}
    assert rows(lint_project(tmp_path, files, keras_version=2)) == []
    assert rows(lint_project(tmp_path / "b", {"pkg/__init__.py": "", "pkg/core.py": source.replace(
        '"units": self.units', '"weights": None')}, keras_version=2)) == [("core.py", 10, "TFS302")]


LIBRARY_LAYER = """
    from tensorflow import keras

    {decorator}
    class Scale(keras.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return super().get_config()
    {extra}
"""


@pytest.mark.parametrize("decorator, extra, keras, expected", [
    # Keras 2, nothing hands the class to a load: users' SavedModel directories revive it without
    # its config (TF 2.15: same outputs), so no reload takes the default
    ("", "", 2, []),
    ('@keras.utils.register_keras_serializable(package="lib")', "", 2, [("core.py", 13, "TFS302")]),
    ("", 'def get_custom_objects():\n    return {"Scale": Scale}', 2, [("core.py", 13, "TFS302")]),
    ("", "CUSTOM = {'Scale': layers.Scale}", 2, [("core.py", 13, "TFS302")]),
    ("", "NAMES = {'Scale': Scale.__name__}", 2, []),  # not a class handed over
    # Keras 3 reloads only .keras/.h5, always through the config
    ("", "", 3, [("core.py", 13, "TFS302")]),
])
def test_tfs302_library_class_on_keras_2_needs_a_config_reload(tmp_path, decorator, extra, keras, expected):
    source = LIBRARY_LAYER.format(decorator=decorator, extra=textwrap.indent(extra, " " * 4).lstrip())
    found = rows(lint_project(tmp_path, {"pkg/__init__.py": "", "pkg/core.py": source}, keras_version=keras))
    assert [r for r in found if r[2] == "TFS302"] == expected


def test_a_model_imported_from_the_training_module_and_saved(tmp_path):
    files = {"layers.py": LAYER.replace("def get_config", "def get_config_"), "train.py": TRAIN.replace(
        'model.save("m.keras")', "model.fit(x, y)"), "export.py": "from train import model\nmodel.save('m.keras')\n",
        "serve.py": SERVE, "other.py": "import numpy as np\nfrom layers import Scale\nnp.save(path, Scale())\n"}
    assert rows(lint_project(tmp_path, files), "TFS201") == [("serve.py", 4, "TFS201")]


def test_a_class_of_the_same_name_in_another_program_is_another_class(tmp_path):
    files = {"a.ipynb": notebook(UNSAVABLE, "m = keras.Sequential([Gated()])"),
             "b.ipynb": notebook(UNSAVABLE.replace("tf.nn.sigmoid", "'sigmoid'"),
                                 "m = keras.Sequential([Gated()])\nm.save('b.keras')")}
    # b's own Gated is saved (no **kwargs: TFS304); a's, with its callable default, never is.
    assert rows(lint_project(tmp_path, files)) == [("b.ipynb", 6, "TFS304")]


SCRIPT_LAYER = """
    from tensorflow import keras

    {decorator}
    class Scale(keras.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return super().get_config()


    model = keras.Sequential([keras.Input((3,)), Scale(5.0)])
    {save}
"""


@pytest.mark.parametrize("decorator, save, keras, expected", [
    # Keras 2 finds an unregistered class only when the load hands it over: a SavedModel revives it
    # without its config, so no reload takes the default
    ("", "model.save('saved/scale')\nkeras.models.load_model('saved/scale')", 2, []),
    ("", "import sys\nmodel.save(sys.argv[1])", 2, []),  # may be a SavedModel: unknown
    # a .keras/.h5 file is for a loader that hands the class over (there is no revival)
    ("", "model.save('scale.keras')", 2, [("train.py", 13, "TFS302")]),
    ("", "import sys\nmodel.save(sys.argv[1])\nkeras.models.load_model(sys.argv[1], custom_objects={'Scale': Scale})",
     2, [("train.py", 13, "TFS302")]),
    ('@keras.utils.register_keras_serializable(package="app")', "model.save('scale.keras')", 2,
     [("train.py", 13, "TFS302")]),
    ("", "clone = keras.models.clone_model(model)", 2, [("train.py", 13, "TFS302")]),  # from_config itself
    ("", "model.save('scale.keras')", 3, [("train.py", 13, "TFS302")]),
])
def test_tfs302_keras_2_reload_must_find_the_class(tmp_path, decorator, save, keras, expected):
    source = SCRIPT_LAYER.format(decorator=decorator, save=textwrap.indent(save, " " * 4).lstrip())
    found = rows(lint_project(tmp_path, {"train.py": source}, keras_version=keras))
    assert [r for r in found if r[2] == "TFS302"] == expected


def test_save_keys_through_absl_flags_and_required_options(tmp_path):
    text = """
        import argparse
        from absl import flags
        import keras

        flags.DEFINE_string("export_path", "runs/model.keras", "Where to save.")
        FLAGS = flags.FLAGS
        parser = argparse.ArgumentParser()
        parser.add_argument("--out", required=True, default="ignored.keras")
        parser.add_argument("--copy", default="copy.keras")
        args = parser.parse_args()

        model.save(FLAGS.export_path)
        model.save(flags.FLAGS.export_path)
        model.save(args.out)
        model.save(args.copy)
        model.save(self.copy)
    """
    root, model = model_of(tmp_path, {"train.py": text})
    path = str(root / "train.py")
    found = model.summaries[model.norm(path)]
    keys = [model.key(path, s) for s in found.sites]
    assert keys == ["=runs/model.keras", "=runs/model.keras", None, "=copy.keras", None]
