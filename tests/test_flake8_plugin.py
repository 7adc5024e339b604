"""The flake8 extension, run through flake8 itself in a subprocess."""

import os
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

from tflint_save import flake8_plugin
from tflint_save.run import known_codes

pytest.importorskip("flake8")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BAD = textwrap.dedent("""\
    import keras


    def restore(path):
        model = keras.models.load_model(path, safe_mode=False)
        keras.config.enable_unsafe_deserialization()  # noqa: TFS203
        keras.models.load_model(
            "exported_model",
        )
        return model
""")


def _installed_here():
    """Whether flake8 finds this checkout's plugin through its installed entry point."""
    found = [ep for ep in metadata.entry_points(group="flake8.extension") if ep.name == "TFS"]
    return bool(found) and os.path.dirname(os.path.dirname(flake8_plugin.__file__)) == ROOT


@pytest.fixture
def project(tmp_path):
    """A directory where ``flake8`` loads this checkout's plugin: through the installed entry point
    (pip install -e .), else as a flake8 local plugin."""
    if not _installed_here():
        if any(ep.name == "TFS" for ep in metadata.entry_points(group="flake8.extension")):
            pytest.skip("another installed tflint-save provides flake8's TFS plugin")
        (tmp_path / "setup.cfg").write_text(
            f"[flake8:local-plugins]\nextension =\n    TFS = tflint_save.flake8_plugin:Plugin\npaths = {ROOT}\n",
            encoding="utf-8",
        )
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    return tmp_path


def flake8(project, *args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "flake8", "--tflint-save-keras-version", "3", *args],
                          cwd=project, capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def cli(project, *args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "tflint_save", "--keras-version", "3", *args],
                          cwd=project, capture_output=True, text=True, env=env)
    return proc.returncode, proc.stdout.splitlines()


def test_flake8_reports_the_same_positions_as_the_command_line(project):
    status, lines = flake8(project, "--select", "TFS", "bad.py")
    cli_status, cli_lines = cli(project, "bad.py")
    assert (status, cli_status) == (1, 1)
    assert lines == cli_lines
    # The call starts in column 5: flake8 shows it there, not in 4 or 6.
    assert [line.split(" ", 2)[1] for line in lines] == ["TFS203", "TFS202"]
    assert lines[0].startswith("bad.py:5:") and lines[1].startswith("bad.py:7:5: ")


def test_flake8_noqa_and_select(project):
    (project / "bad.py").write_text(BAD.replace("safe_mode=False)", "safe_mode=False)  # noqa: TFS2"), encoding="utf-8")
    assert flake8(project, "--select", "TFS", "bad.py")[1] == [
        line for line in flake8(project, "--select", "TFS202", "bad.py")[1]
    ]
    status, lines = flake8(project, "--select", "TFS", "--extend-ignore", "TFS202", "bad.py")
    assert (status, lines) == (0, [])


def test_flake8_default_selection_includes_tfs(project):
    status, lines = flake8(project, "bad.py")
    assert status == 1
    assert any(" TFS203 " in line for line in lines) and any(" TFS202 " in line for line in lines)


def test_flake8_disable_noqa_is_not_honoured_by_the_plugin(project):
    # Documented: the rules apply # noqa themselves, so --disable-noqa cannot bring these back.
    lines = flake8(project, "--select", "TFS", "--disable-noqa", "bad.py")[1]
    assert not any(":6:" in line for line in lines)


def test_only_the_rules_flake8_selects_run(project, monkeypatch):
    from flake8.api import legacy

    monkeypatch.chdir(project)
    cases = [
        ({}, known_codes()),
        ({"select": ["TFS2"], "extend_ignore": ["TFS203"]}, [c for c in known_codes() if c.startswith("TFS2") and c != "TFS203"]),
        ({"select": ["E", "F"]}, []),
        ({"select": ["E"], "extend_select": ["TFS204"]}, ["TFS204"]),
        ({"ignore": ["TFS"]}, []),
    ]
    for options, expected in cases:
        style_guide = legacy.get_style_guide(**options)
        assert flake8_plugin.selected_codes(style_guide.options, known_codes()) == expected, options


def test_cross_file_findings_need_the_command_line(project):
    """Under flake8 each file is seen alone: a custom layer defined in another file is unknown."""
    (project / "layers.py").write_text(textwrap.dedent("""\
        import keras


        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 2
    """), encoding="utf-8")
    (project / "serve.py").write_text(textwrap.dedent("""\
        import keras
        from layers import Scale

        model = keras.Sequential([keras.Input((4,)), Scale()])
        model.save("scaled.keras")
        restored = keras.models.load_model("scaled.keras")
    """), encoding="utf-8")
    assert flake8(project, "--select", "TFS201", "layers.py", "serve.py") == (0, [])
    status, lines = cli(project, "--select", "TFS201", "layers.py", "serve.py")
    assert status == 1 and [line.split(": ")[0] for line in lines] == ["serve.py:6:12"]


def test_flake8_auto_takes_each_files_project_version(project):
    """--tflint-save-keras-version auto (the default) decides per file, as the command line does."""
    os.makedirs(project / ".git")
    (project / "old").mkdir()
    (project / "old" / "requirements.txt").write_text("tensorflow==2.15.*\n", encoding="utf-8")
    (project / "old" / "bad.py").write_text(BAD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "flake8", "--select", "TFS", "bad.py", "old/bad.py"],
                          cwd=project, capture_output=True, text=True, env=env)
    codes = sorted((line.split(":")[0], line.split(" ")[1]) for line in proc.stdout.splitlines())
    # TFS202 (a SavedModel directory given to load_model) is Keras 3 only: TF 2.15 loads it.
    assert codes == [("bad.py", "TFS202"), ("bad.py", "TFS203"), ("old/bad.py", "TFS203")], proc.stderr


def test_flake8_never_runs_the_opt_in_unused_noqa_rule(project):
    # flake8 selects every TFS code by default and handles # noqa itself: TFS003 is not for it,
    # even when selected by name.
    (project / "used.py").write_text('import keras\nkeras.models.load_model("m.keras")  # noqa: TFS203\n',
                                     encoding="utf-8")
    assert flake8(project, "used.py") == (0, [])
    assert flake8(project, "--select", "TFS003,TFS2", "used.py") == (0, [])


def test_a_class_saved_in_its_own_file_is_judged_under_flake8(project):
    (project / "train.py").write_text(textwrap.dedent("""\
        import keras
        import tensorflow as tf


        class Gated(keras.layers.Layer):
            def __init__(self, gate=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)
                self.gate = gate


        model = keras.Sequential([keras.Input((4,)), Gated()])
        model.save("gated.keras")
    """), encoding="utf-8")
    status, lines = flake8(project, "--select", "TFS3", "train.py")
    assert status == 1 and [line.split(" ")[1] for line in lines] == ["TFS301"]
    assert flake8(project, "--select", "TFS3", "train.py")[1] == cli(project, "--select", "TFS3", "train.py")[1]
