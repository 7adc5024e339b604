"""--keras-version auto: the configuration, then each file's project's declared dependencies,
then the installed packages, then Keras 3; tf-keras with TF_USE_LEGACY_KERAS; monorepos."""

import io
import json
import os
import re
import sys
import textwrap

import pytest

from tflint_save import cli, dependencies
from tflint_save.kerasversion import Plan, dotenv_legacy, installed, sets_legacy_keras

# Keras 3 refuses both (TFS501, TFS502); Keras 2 (TF 2.15, or tf_keras) writes a SavedModel
# directory and takes a .h5 weights path (docs/examples/pinned_tf215, run on both versions).
TF_KERAS_SAVE = """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)])
model.save("exported/model")
"""
KERAS_SAVE = TF_KERAS_SAVE.replace("import tensorflow as tf", "import tensorflow as tf\nimport keras").replace(
    "tf.keras", "keras")


def write(root, files):
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))


def project(root, files):
    """A repository: its top (.git) ends the search for dependency files."""
    os.makedirs(os.path.join(str(root), ".git"), exist_ok=True)
    write(root, files)
    return root


def run(root, monkeypatch, capsys, *args):
    monkeypatch.chdir(root)
    code = cli.main(["--no-cache", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def codes(out):
    return sorted((line.split(":")[0], line.split(": ")[1].split()[0]) for line in out.splitlines() if ": TFS" in line)


@pytest.fixture(autouse=True)
def no_legacy_in_the_environment(monkeypatch):
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)


# -- the order of the sources --------------------------------------------------------------------

def test_declared_pin_beats_the_installed_tensorflow(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n", "m.py": TF_KERAS_SAVE})
    assert installed().version == 3  # this environment has TensorFlow >= 2.16
    assert run(tmp_path, monkeypatch, capsys, ".")[:2] == (0, "")
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")
    assert "keras-version = auto    # from default" in out
    assert "  keras 2 for 1 file: declared in requirements.txt:1: tensorflow==2.15.*" in out


def test_requirements_files_are_found_whatever_their_case(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"REQUIREMENTS.txt": "keras==2.0.5\ntensorflow==1.1.0\n", "m.py": TF_KERAS_SAVE})
    assert run(tmp_path, monkeypatch, capsys, ".")[:2] == (0, "")
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")
    assert "  keras 2 for 1 file: declared in REQUIREMENTS.txt" in out


def test_the_configuration_beats_the_declared_dependencies(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n", "m.py": TF_KERAS_SAVE,
                       "pyproject.toml": "[tool.tflint-save]\nkeras-version = 3\n"})
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert code == 1 and codes(out) == [("m.py", "TFS501")]
    write(tmp_path, {"pyproject.toml": "[tool.tflint-save]\nkeras-version = 'auto'\n"})
    assert run(tmp_path, monkeypatch, capsys, ".")[0] == 0
    assert run(tmp_path, monkeypatch, capsys, ".", "--keras-version", "3")[0] == 1


def test_without_declarations_the_installed_packages_decide_then_keras_3(tmp_path):
    project(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\ndependencies = ['numpy']\n"})
    path = str(tmp_path / "m.py")
    assert Plan().decision(path) == installed()
    assert installed().source.startswith("installed tensorflow")
    nothing = Plan(version=lambda name: None).decision(path)
    assert (nothing.version, nothing.source) == (3, "nothing declared or installed: Keras 3")
    old = Plan(version=lambda name: "2.15.1" if name == "tensorflow" else None).decision(path)
    assert (old.version, old.source) == (2, "installed tensorflow 2.15.1")


def test_a_range_that_allows_both_says_so(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\ndependencies = ['tensorflow>=2.12']\n",
                       "m.py": TF_KERAS_SAVE})
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("m.py", "TFS501")]
    out = run(tmp_path, monkeypatch, capsys, "--show-settings")[1]
    assert "keras 3 for 1 file: declared in pyproject.toml [project] dependencies: tensorflow>=2.12" in out
    assert "note: the declared versions allow both Keras 2" in out


# TensorFlow 2.16 to 2.21 require numpy>=1.23.5 and Python>=3.9, keras 3.0 Python>=3.9 (the wheels'
# metadata): a project capped below either cannot install Keras 3.
@pytest.mark.parametrize("files, cited", [
    ({"requirements.txt": "tensorflow>=2.6.0\nnumpy>=1.17.3,<1.23.4\n"}, "requirements.txt:2: numpy>=1.17.3,<1.23.4"),
    ({"requirements.txt": "tensorflow\nnumpy==1.21.*\n"}, "numpy==1.21.*"),
    ({"requirements.txt": "tensorflow>=2.2\n", "setup.py": "from setuptools import setup\n"
      "setup(name='x', python_requires='>=3.6, <3.9')\n"}, "setup(python_requires=...)"),
    ({"setup.cfg": "[options]\npython_requires = ~=3.8.0\ninstall_requires =\n    tensorflow>=2.4\n"},
     "setup.cfg [options] python_requires"),
    ({"pyproject.toml": "[project]\nname = 'x'\nrequires-python = '<3.9'\ndependencies = ['tensorflow']\n"},
     "requires-python = '<3.9'"),
    ({"pyproject.toml": "[tool.poetry.dependencies]\npython = '~3.8'\ntensorflow = '>=2.4'\n"}, "python = ~3.8"),
    ({"environment.yml": "dependencies:\n  - python=3.8\n  - pip:\n    - tensorflow>=2.4\n"}, "python=3.8"),
    ({"Pipfile": "[packages]\ntensorflow = '*'\n[requires]\npython_version = '3.8'\n"}, "python_version = '3.8'"),
    ({"requirements.txt": "keras>=2.4\n", "setup.py": "from setuptools import setup\n"
      "setup(name='x', python_requires='==3.7.*')\n"}, "python_requires='==3.7.*'"),
])
def test_a_numpy_or_python_cap_below_what_keras_3_needs_means_keras_2(tmp_path, monkeypatch, capsys, files, cited):
    project(tmp_path, dict(files, **{"m.py": TF_KERAS_SAVE}))
    assert run(tmp_path, monkeypatch, capsys, ".")[:2] == (0, "")
    out = run(tmp_path, monkeypatch, capsys, "--show-settings")[1]
    assert re.search(r"keras 2 for \d+ files?: declared in", out) and cited in out, out
    assert "note: the declared versions allow both" not in out


@pytest.mark.parametrize("files", [
    {"requirements.txt": "tensorflow>=2.6.0\nnumpy<2\n"},  # numpy 1.26 is allowed
    {"requirements.txt": "tensorflow>=2.6.0\nnumpy>=1.17,<1.23.4; python_version < '3.8'\n"},  # only sometimes
    {"requirements.txt": "tensorflow>=2.6.0\n", "requirements-dev.txt": "numpy<1.20\n"},  # an extra file
    {"requirements.txt": "tensorflow>=2.6.0\n", "setup.py": "from setuptools import setup\n"
     "setup(name='x', python_requires='>=3.7')\n"},  # a floor, not a cap
    {"requirements.txt": "keras>=3\nnumpy<1.23\n"},  # keras 3 itself needs no newer numpy
])
def test_caps_that_allow_keras_3_change_nothing(tmp_path, monkeypatch, capsys, files):
    project(tmp_path, dict(files, **{"m.py": TF_KERAS_SAVE}))
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("m.py", "TFS501")]
    assert re.search(r"keras 3 for \d+ files?: declared in", run(tmp_path, monkeypatch, capsys, "--show-settings")[1])


def test_a_cap_that_contradicts_the_tensorflow_pin_is_a_warning(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow>=2.16\nnumpy<1.23\n", "m.py": TF_KERAS_SAVE})
    out = run(tmp_path, monkeypatch, capsys, "--show-settings")[1]
    assert "no Keras version satisfies these together" in out
    assert "TensorFlow 2.16 and later require numpy>=1.23.5" in out


# -- monorepos --------------------------------------------------------------------------------------

def test_each_file_takes_its_nearest_projects_version(tmp_path, monkeypatch, capsys):
    project(tmp_path, {
        "pyproject.toml": "[project]\nname = 'top'\ndependencies = ['tensorflow>=2.16']\n",
        "old/requirements.txt": "tensorflow==2.15.1\n", "old/src/m.py": TF_KERAS_SAVE,
        "new/setup.cfg": "[options]\ninstall_requires =\n    tensorflow>=2.17\n", "new/m.py": TF_KERAS_SAVE,
        # A sub-project that declares nothing about TensorFlow takes the one above it.
        "tools/requirements.txt": "numpy\n", "tools/m.py": TF_KERAS_SAVE,
        "m.py": TF_KERAS_SAVE,
    })
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert code == 1
    assert codes(out) == [("m.py", "TFS501"), ("new/m.py", "TFS501"), ("tools/m.py", "TFS501")]
    out = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")[1]
    assert "keras 2 for 1 file: declared in old/requirements.txt:1: tensorflow==2.15.1" in out
    assert "keras 3 for 2 files: declared in pyproject.toml [project] dependencies: tensorflow>=2.16" in out
    assert "keras 3 for 1 file: declared in new/setup.cfg [options] install_requires: tensorflow>=2.17" in out


def test_a_nested_project_that_allows_both_takes_the_version_around_it(tmp_path, monkeypatch, capsys):
    project(tmp_path, {
        "pkg/requirements.txt": "tensorflow>=2.6.0\nnumpy<1.23.4\n",
        # vendored code with requirements of its own that allow both: it runs on the package's TensorFlow
        "pkg/third_party/det/requirements.txt": "tensorflow>=2.4.0\n", "pkg/third_party/det/m.py": TF_KERAS_SAVE,
        # a nested project that pins its own version keeps it
        "pkg/new/requirements.txt": "tensorflow>=2.16\n", "pkg/new/m.py": TF_KERAS_SAVE,
        # nothing around that decides: its own range, Keras 3 with the note
        "apps/requirements.txt": "tensorflow>=2.4.0\n", "apps/m.py": TF_KERAS_SAVE,
    })
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("apps/m.py", "TFS501"), ("pkg/new/m.py", "TFS501")]
    out = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")[1]
    assert ("keras 2 for 1 file: declared in pkg/requirements.txt:1: tensorflow>=2.6.0; pkg/requirements.txt:2: "
            "numpy<1.23.4 (TensorFlow 2.16 and later require numpy>=1.23.5), around pkg/third_party/det, whose own "
            "declarations allow both Keras 2 and Keras 3") in out
    assert "keras 3 for 1 file: declared in apps/requirements.txt:1: tensorflow>=2.4.0\n    note: the declared" in out


def test_the_search_stops_at_the_repository_top(tmp_path):
    write(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n"})
    project(tmp_path / "repo", {"m.py": TF_KERAS_SAVE})
    assert Plan().decision(str(tmp_path / "repo" / "m.py")) == installed()


def test_a_project_is_read_once(tmp_path, monkeypatch):
    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n"})
    calls = []
    real = dependencies.read_project
    monkeypatch.setattr("tflint_save.kerasversion.read_project", lambda d: calls.append(d) or real(d))
    plan = Plan()
    for name in ("a.py", "b.py", "sub/c.py", "sub/deeper/d.py"):
        assert plan.decision(str(tmp_path / name)).version == 2
    assert calls == [str(tmp_path)]


def test_standard_input_takes_the_project_of_its_name(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"old/requirements.txt": "tensorflow<2.16\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TF_KERAS_SAVE.encode())))
    assert cli.main(["-", "--stdin-filename", "old/m.py", "--no-cache"]) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TF_KERAS_SAVE.encode())))
    assert cli.main(["-", "--stdin-filename", "new/m.py", "--no-cache"]) == 1
    capsys.readouterr()


def test_the_cache_keeps_projects_apart(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n", "m.py": TF_KERAS_SAVE})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["."]) == 0
    write(tmp_path, {"requirements.txt": "tensorflow==2.16.*\n"})  # m.py itself unchanged
    assert cli.main(["."]) == 1
    capsys.readouterr()


def test_a_notebook_takes_its_projects_version(tmp_path, monkeypatch, capsys):
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": TF_KERAS_SAVE.splitlines(keepends=True)}]
    notebook = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    project(tmp_path, {"old/environment.yml": "dependencies:\n  - tensorflow=2.15\n", "old/n.ipynb": notebook,
                       "new/n.ipynb": notebook})
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("new/n.ipynb", "TFS501")]


def test_a_notebook_can_set_the_variable_with_env_magic(tmp_path, monkeypatch, capsys):
    def notebook(*sources):
        cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": source.splitlines(keepends=True)} for source in sources]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)

    project(tmp_path, dict(TF_KERAS_DECLARED, **{
        "magic.ipynb": notebook("%env TF_USE_LEGACY_KERAS=1", TF_KERAS_SAVE),
        "code.ipynb": notebook('import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"', TF_KERAS_SAVE),
        "plain.ipynb": notebook("%env OTHER=1", TF_KERAS_SAVE),
    }))
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("plain.ipynb", "TFS501")]


# -- tf-keras and TF_USE_LEGACY_KERAS --------------------------------------------------------------

TF_KERAS_DECLARED = {"requirements.txt": "tensorflow>=2.16\ntf-keras>=2.16\n"}
LEGACY_IN_CODE = 'import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"\n' + TF_KERAS_SAVE


def test_declared_tf_keras_without_the_variable_leaves_tf_keras_on_keras_3(tmp_path, monkeypatch, capsys):
    project(tmp_path, dict(TF_KERAS_DECLARED, **{"m.py": TF_KERAS_SAVE,
                                                 "uses_tf_keras.py": TF_KERAS_SAVE.replace(
                                                     "import tensorflow as tf", "import tf_keras").replace(
                                                     "tf.keras.", "tf_keras.")}))
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    # A file that imports tf_keras is Keras 2; tf.keras stays Keras 3 without TF_USE_LEGACY_KERAS.
    assert codes(out) == [("m.py", "TFS501")]


def test_the_variable_set_in_the_code_makes_that_files_tf_keras_keras_2(tmp_path, monkeypatch, capsys):
    project(tmp_path, dict(TF_KERAS_DECLARED, **{"legacy.py": LEGACY_IN_CODE, "plain.py": TF_KERAS_SAVE,
                                                 "standalone.py": 'import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"\n'
                                                 + KERAS_SAVE}))
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    # `import keras` stays Keras 3 under TF_USE_LEGACY_KERAS (FACTS C17).
    assert codes(out) == [("plain.py", "TFS501"), ("standalone.py", "TFS501")]
    out = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")[1]
    assert "checked as Keras 2 where they set TF_USE_LEGACY_KERAS" in out


@pytest.mark.parametrize("where", ["dotenv", "config", "environment"])
def test_the_variable_for_the_whole_project(tmp_path, monkeypatch, capsys, where):
    files = dict(TF_KERAS_DECLARED, **{"m.py": TF_KERAS_SAVE, "k.py": KERAS_SAVE})
    if where == "dotenv":
        files[".env"] = "# local settings\nexport TF_USE_LEGACY_KERAS='True'\n"
    elif where == "config":
        files["pyproject.toml"] = "[tool.tflint-save]\ntf-use-legacy-keras = true\n"
    else:
        monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    project(tmp_path, files)
    code, out, _ = run(tmp_path, monkeypatch, capsys, ".")
    assert codes(out) == [("k.py", "TFS501")]
    out = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")[1]
    assert "with tf-keras: files that use tf.keras and not keras are checked as Keras 2 (TF_USE_LEGACY_KERAS is set)" \
        in out


def test_the_variable_without_tf_keras_declared_changes_nothing(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow>=2.16\n", "m.py": LEGACY_IN_CODE,
                       ".env": "TF_USE_LEGACY_KERAS=1\n"})
    assert codes(run(tmp_path, monkeypatch, capsys, ".")[1]) == [("m.py", "TFS501")]


def test_a_bad_tf_use_legacy_keras_setting_is_a_config_error(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"pyproject.toml": "[tool.tflint-save]\ntf-use-legacy-keras = 1\n", "m.py": TF_KERAS_SAVE})
    code, _, err = run(tmp_path, monkeypatch, capsys, ".")
    assert code == 2 and "tf-use-legacy-keras: expected true or false, got 1" in err


@pytest.mark.parametrize("line, expected", [
    ('os.environ["TF_USE_LEGACY_KERAS"] = "1"', True),
    ("os.environ['TF_USE_LEGACY_KERAS']='true'", True),
    ('os.environ["TF_USE_LEGACY_KERAS"] = "True"', True),
    ('environ.setdefault("TF_USE_LEGACY_KERAS", "1")', True),
    ('os.environ.update({"TF_USE_LEGACY_KERAS": "1"})', True),
    ('os.environ.update(TF_USE_LEGACY_KERAS="1")', True),
    ("%env TF_USE_LEGACY_KERAS=1", True),
    ('os.environ["TF_USE_LEGACY_KERAS"] = "0"', False),
    ('os.environ["TF_USE_LEGACY_KERAS"] = "yes"', False),  # tensorflow accepts "1", "true", "True" only
    ('os.environ["TF_USE_LEGACY_KERAS"] = "TRUE"', False),
    ('# os.environ["TF_USE_LEGACY_KERAS"] = "1"', False),
    ('os.putenv("TF_USE_LEGACY_KERAS", "1")', False),  # os.environ, which tensorflow reads, is unchanged
    ('os.environ["TF_USE_LEGACY_KERAS"] = value', False),  # unknown stays unknown
    ('print(os.environ.get("TF_USE_LEGACY_KERAS"))', False),
])
def test_sets_legacy_keras(line, expected):
    assert sets_legacy_keras("import os\n" + line + "\n") is expected


@pytest.mark.parametrize("text, expected", [
    ("TF_USE_LEGACY_KERAS=1\n", True),
    ('export TF_USE_LEGACY_KERAS="true"  # for tf_keras\n', True),
    ("TF_USE_LEGACY_KERAS=1\nTF_USE_LEGACY_KERAS=0\n", False),
    ("# TF_USE_LEGACY_KERAS=1\n", False),
    ("OTHER_TF_USE_LEGACY_KERAS=1\n", False),
])
def test_dotenv(tmp_path, text, expected):
    write(tmp_path, {".env": text})
    assert dotenv_legacy(str(tmp_path / ".env")) is expected


# -- bad input -------------------------------------------------------------------------------------

def test_a_broken_dependency_file_is_a_warning_and_the_next_source_decides(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"sub/pyproject.toml": '[project]\ndependencies = ["tensorflow==2.15"\n',
                       "sub/m.py": TF_KERAS_SAVE, "requirements.txt": "tensorflow==2.15.*\n"})
    code, out, err = run(tmp_path, monkeypatch, capsys, ".")
    assert (code, out) == (0, "")  # the project above decided
    assert err.startswith("tflint-save: warning: sub/pyproject.toml: invalid TOML")
    assert err.count("\n") == 1
    out = run(tmp_path, monkeypatch, capsys, ".", "--show-settings")[1]
    assert "  warning: sub/pyproject.toml: invalid TOML" in out


def test_an_unknown_marker_is_a_warning_and_exit_codes_are_unchanged(tmp_path, monkeypatch, capsys):
    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*; platform_flavour == 'x'\n", "m.py": TF_KERAS_SAVE})
    code, out, err = run(tmp_path, monkeypatch, capsys, ".")
    assert code == 1 and codes(out) == [("m.py", "TFS501")]  # the installed TensorFlow decided
    assert "requirements.txt:1: cannot read the requirement" in err and "ignoring it" in err


def test_without_pyyaml_environment_yml_is_still_read(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml raises ImportError
    monkeypatch.chdir(tmp_path)
    project(tmp_path, {"environment.yml": "name: x\ndependencies:\n  - python=3.10\n  - pip:\n    - keras<3\n"})
    decision = Plan().decision(str(tmp_path / "m.py"))
    assert (decision.version, decision.source) == (2, "declared in environment.yml dependencies (pip): keras<3")
    project(tmp_path / "flow", {"environment.yml": "dependencies: [tensorflow=2.15]\n"})
    plan = Plan()
    assert plan.decision(str(tmp_path / "flow" / "m.py")) == installed()
    assert plan.problems == ["flow/environment.yml: cannot read a flow-style dependencies list without PyYAML "
                             "(pip install pyyaml); ignoring it"]


# -- projects: the shared search for a file's project ---------------------------------------------

def test_nearest_searches_up_to_the_repository_top(tmp_path):
    from tflint_save.projects import ancestors, nearest

    write(tmp_path, {"pyproject.toml": "", "repo/sub/pyproject.toml": "", "repo/sub/pkg/m.py": ""})
    os.makedirs(str(tmp_path / "repo" / ".git"))

    def has_pyproject(directory, names):
        return "pyproject.toml" in names

    assert nearest(str(tmp_path / "repo" / "sub" / "pkg" / "m.py"), has_pyproject) == str(tmp_path / "repo" / "sub")
    assert nearest(str(tmp_path / "repo" / "sub"), has_pyproject) == str(tmp_path / "repo" / "sub")
    assert nearest(str(tmp_path / "repo" / "other.py"), has_pyproject) is None  # not above .git
    assert nearest(str(tmp_path / "x.py"), has_pyproject) == str(tmp_path)
    chain = list(ancestors(str(tmp_path / "repo")))
    assert chain[:2] == [str(tmp_path / "repo"), str(tmp_path)] and chain[-1] == os.path.abspath(os.sep)


def test_a_plan_travels_to_spawned_workers(tmp_path):
    import pickle

    project(tmp_path, {"requirements.txt": "tensorflow==2.15.*\n", ".env": "TF_USE_LEGACY_KERAS=1\n"})
    plan = Plan(environ={"TF_USE_LEGACY_KERAS": "1", "HOME": "/nowhere"})
    decision = plan.decision(str(tmp_path / "m.py"))
    copy = pickle.loads(pickle.dumps(plan))
    assert copy.decision(str(tmp_path / "m.py")) == decision and copy.environ == {"TF_USE_LEGACY_KERAS": "1"}
