"""--fix, --diff and --unsafe-fixes, end to end through the command line: what each fix
writes, what it leaves alone, and that the files it writes keep everything else."""

import json
import os
import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from tflint_save import cli, fix
from tflint_save.findings import Finding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dedent(text):
    return textwrap.dedent(text).lstrip("\n")


def run(tmp_path, files, *args):
    """Write ``files``, run the command line in-process on them; (exit code, stdout, stderr, files after)."""
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(dedent(text), encoding="utf-8")
    return_code, out, err = _main([str(tmp_path / rel) for rel in files] if not any(
        a.startswith("@dir") for a in args) else [str(tmp_path)], [a for a in args if a != "@dir"])
    after = {rel: (tmp_path / rel).read_text(encoding="utf-8", errors="replace") for rel in files}
    return return_code, out, err, after


def _main(paths, args):
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        # The fixes are judged on class definitions: every class counts, saved or not.
        code = cli.main([*paths, "--keras-version", "3", "--custom-classes", "all", "--no-cache", "-j", "1", *args])
    return code, out.getvalue(), err.getvalue()


def fixed(tmp_path, source, *args, name="m.py"):
    code, out, err, after = run(tmp_path, {name: source}, "--fix", *args)
    return after[name], code, out, err


# -- safe fixes ----------------------------------------------------------------------------------

LOOP = """
    import keras

    loss_tracker = keras.metrics.Mean(name="loss")
    for epoch in range(3):
        loss_tracker.reset_states()  # a new epoch
        loss_tracker.update_state(1.0)
"""


def test_reset_states_becomes_reset_state(tmp_path):
    text, code, out, err = fixed(tmp_path, LOOP)
    assert text == dedent(LOOP).replace("reset_states()  # a new epoch", "reset_state()  # a new epoch")
    assert code == 0 and out == "" and err == "Found 1 finding (1 fixed, 0 remaining).\n"  # ruff's words


def test_reset_states_of_something_else_is_not_touched(tmp_path):
    source = LOOP.replace("loss_tracker.reset_states()", "loss_tracker.reset_states(); lstm.reset_states([0])")
    text, code, out, err = fixed(tmp_path, source)
    assert "lstm.reset_states([0])" in text and "loss_tracker.reset_state();" in text


SAVE_FORMAT = """
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.save("model.keras", save_format="keras")
    keras.models.save_model(
        model,
        "model.h5",
        save_format="h5",  # old habit
    )
    model.save("exported", save_format="tf")
"""


def test_save_format_is_removed_where_the_extension_decides(tmp_path):
    text, code, out, err = fixed(tmp_path, SAVE_FORMAT)
    assert text == dedent("""
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.save("model.keras")
        keras.models.save_model(
            model,
            "model.h5",
        )
        model.save("exported", save_format="tf")
    """)
    # Without an extension the format would change: that finding stays, so the exit code is 1.
    assert code == 1 and out.count("TFS501") == 1 and "m.py:9:1: TFS501" in out
    assert err.startswith("Found 3 findings (2 fixed, 1 remaining).\n")


def test_save_format_with_a_path_in_a_variable(tmp_path):
    source = """
        import keras

        path = "runs/best.keras"
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.save(path, overwrite=True, save_format="keras")
    """
    text, code, _, _ = fixed(tmp_path, source)
    assert 'model.save(path, overwrite=True)\n' in text and code == 0


WEIGHTS = """
    import os
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.fit(x, y)
    model.save_weights("weights.h5")
    model.load_weights('weights.h5')
"""


def test_h5_weights_are_renamed_in_save_and_load_alike(tmp_path):
    text, code, out, err = fixed(tmp_path, WEIGHTS)
    assert 'model.save_weights("weights.weights.h5")' in text
    assert "model.load_weights('weights.weights.h5')" in text  # quotes kept
    assert "TFS502" not in out


def test_h5_weights_used_elsewhere_are_not_renamed(tmp_path):
    source = WEIGHTS + '    print(os.path.exists("weights.h5"))\n'
    text, code, out, err = fixed(tmp_path, source)
    assert text == dedent(source) and code == 1 and "TFS502" in out


def test_h5_weights_through_a_name_and_join(tmp_path):
    source = """
        import os
        import keras

        checkpoint = os.path.join(out_dir, "encoder.h5")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.save_weights(checkpoint)
        if os.path.exists(checkpoint):
            model.load_weights(checkpoint)
    """
    text, code, out, err = fixed(tmp_path, source)
    assert 'os.path.join(out_dir, "encoder.weights.h5")' in text
    assert code == 0, out


def finding_on_call(text, code, method, data=None):
    """A finding as a rule reports it: on the (first) call of ``method``."""
    tree = fix.Tree(text)
    call = next(c for c in tree.calls if getattr(c.func, "attr", None) and c.func.attr.value == method)
    line, col, end_line, end_col = tree.spans[id(call)]
    return Finding("m.py", line, col, code, "message", end_line, end_col, data or {})


def test_h5_weights_in_an_f_string():
    text = dedent("""
        model.save_weights(f"{out_dir}/epoch_{epoch:03d}.h5")
        model.load_weights(f"{out_dir}/epoch_{epoch:03d}.h5")
        model.load_weights(f"{out_dir}/epoch_{epoch:02d}.h5")
    """)
    new, done = fix.fix_text(text, [finding_on_call(text, "TFS502", "save_weights", {"call": "save_weights"})])
    assert new == text.replace("03d}.h5", "03d}.weights.h5") and len(done) == 1


def test_a_name_assigned_twice_is_not_followed(tmp_path):
    source = """
        import keras

        path = "a.h5"
        path = "b.h5"
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.save_weights(path)
    """
    text, code, out, _ = fixed(tmp_path, source)
    assert text == dedent(source) and "TFS502" in out


def test_load_weights_of_a_checkpoint_has_no_fix(tmp_path):
    source = """
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.load_weights("ckpt/model.ckpt")
    """
    text, code, out, err = fixed(tmp_path, source)
    assert text == dedent(source) and code == 1 and "TFS502" in out and err == "Found 1 finding.\n"


# -- unsafe fixes ----------------------------------------------------------------------------------

LAYER = """
    import keras


    class Scale(keras.layers.Layer):
        def __init__(self, factor, activation="relu"):  # the factor multiplies
            super().__init__()
            self.factor = factor
            self.activation = keras.activations.get(activation)

        def call(self, x):
            return self.activation(x * self.factor)

        def get_config(self):
            return {"factor": self.factor}
"""

LAYER_FIXED = """
    import keras


    class Scale(keras.layers.Layer):
        def __init__(self, factor, activation="relu", **kwargs):  # the factor multiplies
            super().__init__(**kwargs)
            self.factor = factor
            self.activation = keras.activations.get(activation)

        def call(self, x):
            return self.activation(x * self.factor)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor, "activation": keras.activations.serialize(self.activation)}
"""


def test_unsafe_fixes_need_the_flag(tmp_path):
    text, code, out, err = fixed(tmp_path, LAYER)
    assert text == dedent(LAYER) and code == 1
    assert "TFS302" in out and "TFS303" in out
    assert err == "Found 2 findings.\n2 unsafe fixes available with `--fix --unsafe-fixes`.\n"


def test_get_config_and_kwargs_fixes_work_together_over_passes(tmp_path):
    text, code, out, err = fixed(tmp_path, LAYER, "--unsafe-fixes")
    assert text == dedent(LAYER_FIXED)
    # TFS304 appears only once get_config() merges super(): the next pass fixes it too.
    assert code == 0 and out == "" and err == "Found 3 findings (3 fixed, 0 remaining).\n"


def test_fix_twice_changes_nothing_the_second_time(tmp_path):
    first, code, _, _ = fixed(tmp_path, LAYER + dedent(SAVE_FORMAT).replace("import keras\n", ""), "--unsafe-fixes")
    again, code2, out2, err2 = fixed(tmp_path, first, "--unsafe-fixes")
    assert again == first and code2 == code == 1 and "fixed" not in err2


MULTILINE = """
    import keras


    class Block(keras.layers.Layer):
        def __init__(
            self,
            units,
            rate=0.1,  # dropout
        ):
            super(Block, self).__init__(
                name="block",
            )
            self.units = units
            self.rate = rate

        def get_config(self):
            return {
                "units": self.units,
                "rate": self.rate,
            }
"""


def test_multi_line_layouts_are_continued(tmp_path):
    text, code, out, err = fixed(tmp_path, MULTILINE, "--unsafe-fixes")
    assert text == dedent("""
        import keras


        class Block(keras.layers.Layer):
            def __init__(
                self,
                units,
                rate=0.1,  # dropout
                **kwargs,
            ):
                super(Block, self).__init__(
                    name="block",
                    **kwargs,
                )
                self.units = units
                self.rate = rate

            def get_config(self):
                return {
                    **super().get_config(),
                    "units": self.units,
                    "rate": self.rate,
                }
    """), out


def test_kwargs_dropped_before_super_are_passed_on(tmp_path):
    source = """
        import keras


        class Base(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                keras.layers.Layer.__init__(self)
                self.units = units

            def get_config(self):
                config = super().get_config()
                config.update({"units": self.units})
                return config
    """
    text, code, out, _ = fixed(tmp_path, source, "--unsafe-fixes")
    assert "keras.layers.Layer.__init__(self, **kwargs)" in text and "def __init__(self, units, **kwargs):" in text
    assert code == 0, out


def test_generated_get_config_for_a_subclassed_model(tmp_path):
    source = """
        import keras


        class Classifier(keras.Model):
            def __init__(self, hidden=8, classes=10, **kwargs):
                super().__init__(**kwargs)
                self.hidden = hidden
                self.n_classes = classes
                self.body = keras.layers.Dense(hidden)

            def call(self, x):
                return self.body(x)


        model = Classifier(hidden=32)
        model.save("classifier.keras")
    """
    text, code, out, err = fixed(tmp_path, source, "--unsafe-fixes")
    assert (
        "        self.body = keras.layers.Dense(hidden)\n"
        "\n"
        "    def get_config(self):\n"
        "        return {\n"
        "            **super().get_config(),\n"
        '            "hidden": self.hidden,\n'
        '            "classes": self.n_classes,\n'
        "        }\n"
        "\n"
        "    def call(self, x):\n"
    ) in text
    assert code == 0, out


def test_a_callable_kept_as_given_gets_no_generated_config(tmp_path):
    source = """
        import keras
        import tensorflow as tf


        class Gate(keras.layers.Layer):
            def __init__(self, units, activation=tf.nn.sigmoid, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.activation = activation
    """
    text, code, out, err = fixed(tmp_path, source, "--unsafe-fixes")
    assert text == dedent(source) and "TFS301" in out and code == 1


def test_get_config_completed_in_config_update(tmp_path):
    source = """
        import keras


        class Scale(keras.layers.Layer):
            def __init__(self, factor, bias=0.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor
                self._bias = bias

            def get_config(self):
                config = super().get_config()
                config.update({'factor': self.factor})
                return config
    """
    text, code, out, _ = fixed(tmp_path, source, "--unsafe-fixes")
    assert "config.update({'factor': self.factor, 'bias': self._bias})" in text and code == 0, out


def test_returned_name_is_merged_with_super(tmp_path):
    source = """
        import keras


        class Scale(keras.layers.Layer):
            def __init__(self, factor, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def get_config(self):
                config = {"factor": self.factor}
                return config
    """
    text, code, out, _ = fixed(tmp_path, source, "--unsafe-fixes")
    assert "return {**super().get_config(), **config}" in text and code == 0, out


def test_fixes_across_files(tmp_path):
    files = {
        "pkg/base.py": """
            import keras


            class Base(keras.layers.Layer):
                def get_config(self):
                    return super().get_config()
        """,
        "pkg/layer.py": """
            from pkg.base import Base


            class Twice(Base):
                def __init__(self, units):
                    super().__init__()
                    self.units = units

                def get_config(self):
                    return {**super().get_config(), "units": self.units}
        """,
    }
    code, out, err, after = run(tmp_path, files, "--fix", "--unsafe-fixes", "@dir")
    assert "def __init__(self, units, **kwargs):" in after["pkg/layer.py"], out + err
    assert code == 0 and after["pkg/base.py"] == dedent(files["pkg/base.py"])


# -- the mechanics ------------------------------------------------------------------------------

def test_diff_prints_and_writes_nothing(tmp_path):
    code, out, err, after = run(tmp_path, {"m.py": LOOP}, "--diff")
    path = str(tmp_path / "m.py")
    assert after["m.py"] == dedent(LOOP) and code == 1
    assert out == "".join(fix.unified_diff(path, dedent(LOOP), dedent(LOOP).replace("reset_states", "reset_state")))
    assert out.startswith(f"--- {path}\n+++ {path}\n@@ ") and "-    loss_tracker.reset_states()" in out
    assert err == "Would fix 1 finding.\n"  # ruff's words, on stderr
    clean = run(tmp_path, {"c.py": "import keras\n"}, "--diff")
    assert clean[:3] == (0, "", "")


def test_diff_exit_code_is_ruffs(tmp_path):
    # `ruff check --diff`: 1 when there is something to fix, else 0, whatever cannot be fixed.
    unfixable = "import keras\nkeras.models.load_model('m.keras', safe_mode=False)\n"
    assert run(tmp_path, {"u.py": unfixable}, "--diff")[:3] == (0, "", "")
    code, out, err, _ = run(tmp_path, {"m.py": dedent(LOOP) + unfixable.split("\n", 1)[1]}, "--diff")
    assert code == 1 and "+    loss_tracker.reset_state()" in out and err == "Would fix 1 finding.\n"
    assert run(tmp_path, {"m.py": dedent(LOOP)}, "--diff", "--exit-zero")[0] == 0
    # Only unsafe fixes: nothing would change, and stderr says how to get them.
    code, out, err, _ = run(tmp_path, {"l.py": LAYER}, "--diff")
    assert (code, out) == (0, "") and err == "No findings would be fixed (2 fixes available with `--unsafe-fixes`).\n"
    code, out, err, _ = run(tmp_path, {"l.py": LAYER}, "--diff", "--unsafe-fixes")
    assert code == 1 and out.startswith("--- ") and err == "Would fix 3 findings.\n"


def test_encoding_bom_and_newlines_are_kept(tmp_path):
    latin = "# -*- coding: latin-1 -*-\n# caf\xe9\r\n" + dedent(LOOP).replace("\n", "\r\n")
    (tmp_path / "l.py").write_bytes(latin.encode("latin-1"))
    bom = "\ufeff" + dedent(LOOP)
    (tmp_path / "b.py").write_bytes(bom.encode("utf-8"))
    os.chmod(tmp_path / "b.py", 0o640)
    code, out, err = _main([str(tmp_path / "l.py"), str(tmp_path / "b.py")], ["--fix"])
    assert code == 0, out + err
    assert (tmp_path / "l.py").read_bytes() == latin.replace("reset_states", "reset_state").encode("latin-1")
    assert (tmp_path / "b.py").read_bytes() == bom.replace("reset_states", "reset_state").encode("utf-8")
    assert oct(os.stat(tmp_path / "b.py").st_mode & 0o777) == oct(0o640)
    assert sorted(os.listdir(tmp_path)) == ["b.py", "l.py"]  # no temporary file left behind


def test_a_symlink_stays_a_symlink(tmp_path):
    (tmp_path / "real.py").write_text(dedent(LOOP))
    os.symlink(tmp_path / "real.py", tmp_path / "link.py")
    code, _, _ = _main([str(tmp_path / "link.py")], ["--fix"])
    assert code == 0 and os.path.islink(tmp_path / "link.py")
    assert "reset_state()" in (tmp_path / "real.py").read_text()


def test_a_notebook_is_fixed_in_place(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "source": dedent(LOOP)}], "metadata": {}, "nbformat": 4}
    (tmp_path / "n.ipynb").write_text(json.dumps(notebook))
    before = (tmp_path / "n.ipynb").read_text()
    code, out, err = _main([str(tmp_path / "n.ipynb")], ["--fix"])
    assert code == 0 and out == ""
    assert (tmp_path / "n.ipynb").read_text() == before.replace("reset_states", "reset_state")


def _stdin(tmp_path, text, *args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tflint_save", "-", "--keras-version", "3", "--no-cache", *args],
                          input=text, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)


def test_fix_on_standard_input_prints_the_fixed_source(tmp_path):
    # As `ruff check --fix -`: the fixed source on stdout (what an editor's fix-on-save puts in
    # the buffer), the findings left and the summary on stderr; exit 0 when nothing is left.
    result = _stdin(tmp_path, dedent(LOOP), "--fix")
    assert result.stdout == dedent(LOOP).replace("reset_states()", "reset_state()")
    assert (result.returncode, result.stderr) == (0, "Found 1 finding (1 fixed, 0 remaining).\n")
    # What cannot be fixed is reported on stderr, with the name given, and the exit code is 1.
    source = dedent(LOOP) + "keras.models.load_model('m', safe_mode=False)\n"
    left = _stdin(tmp_path, source, "--fix", "--stdin-filename", "src/train.py")
    assert left.stdout == source.replace("reset_states()", "reset_state()") and left.returncode == 1
    assert left.stderr.startswith("src/train.py:") and " TFS203 " in left.stderr
    assert left.stderr.endswith("Found 3 findings (1 fixed, 2 remaining).\n")
    # Nothing to fix: the source comes back unchanged, exit 0.
    clean = _stdin(tmp_path, "import keras\nx = 1\n", "--fix")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "import keras\nx = 1\n", "All checks passed!\n")
    # --quiet keeps stderr to the findings.
    quiet = _stdin(tmp_path, dedent(LOOP), "--fix", "--quiet")
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_json_output_carries_each_findings_fix(tmp_path):
    source = dedent(LOOP) + "keras.models.load_model('m', compile=False).fit(x)\n"
    code, out, err, _ = run(tmp_path, {"m.py": source}, "--output-format", "json")
    found = {f["code"]: f["fix"] for f in json.loads(out)}
    assert found["TFS405"] == {"applicability": "safe", "message": "Replace reset_states() with reset_state()"}
    assert found["TFS202"] is None
    code, out, err, _ = run(tmp_path, {"l.py": LAYER}, "--output-format", "json")
    unsafe = {f["code"]: f["fix"] for f in json.loads(out)}
    assert unsafe["TFS303"]["applicability"] == "unsafe" and "super().get_config()" in unsafe["TFS303"]["message"]
    assert unsafe["TFS302"]["message"] == "Add 'activation' to the dict get_config() returns"


def test_a_fix_whose_result_does_not_parse_is_not_applied(monkeypatch):
    def broken(tree, finding):
        call = tree.call_at(finding, lambda c: True)
        return fix.Fix("break it", fix.SAFE, {id(call.func): (call.func, cst.Name("a b"))})

    text = dedent(LOOP)
    monkeypatch.setitem(fix.FIXERS, "TFS999", (fix.SAFE, broken))
    bad = Finding("m.py", 5, 5, "TFS999", "x", 5, 32)
    good = Finding("m.py", 5, 5, "TFS405", "x", 5, 32, {"method": "reset_states"})
    assert fix.fix_text(text, [bad]) == (text, [])
    # the fix that breaks the file goes, the other one stays
    new, done = fix.fix_text(text, [bad, good])
    assert [f.code for f in done] == ["TFS405"] and "reset_state()" in new


def test_a_fix_that_would_no_longer_compile_is_not_applied(monkeypatch):
    def duplicate(tree, finding):
        cls = tree.class_at(finding)
        init = fix._method(cls, "__init__")
        params = init.params.with_changes(star_kwarg=cst.Param(cst.Name("factor"), star="**"))
        return fix.Fix("x", fix.SAFE, {id(init): (init, init.with_changes(params=params))})

    monkeypatch.setitem(fix.FIXERS, "TFS999", (fix.SAFE, duplicate))
    text = dedent(LAYER)
    assert fix.fix_text(text, [Finding("m.py", 5, 5, "TFS999", "x", 6, 5)]) == (text, [])


def test_the_command_line_entry_point(tmp_path):
    (tmp_path / "m.py").write_text(dedent(LOOP))
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-m", "tflint_save", ".", "--fix", "--keras-version", "3"],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert "reset_state()" in (tmp_path / "m.py").read_text()


ROUND_TRIP = """
    import os, sys, tempfile
    import numpy as np
    import keras

    sys.path.insert(0, sys.argv[1])
    from m import Scale

    layer = Scale(3.0, activation="tanh", name="scaled", trainable=False)
    model = keras.Sequential([keras.Input((4,)), layer])
    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    back = keras.models.load_model(path, custom_objects={"Scale": Scale}).layers[0]
    x = np.ones((2, 4), "float32")
    print(back.factor, back.activation.__name__, back.name, back.trainable,
          bool(np.allclose(model.predict(x, verbose=0), keras.Sequential([keras.Input((4,)), back]).predict(x, verbose=0))))
"""


def test_the_unsafe_fixes_round_trip_in_tensorflow(tmp_path):
    pytest.importorskip("tensorflow")
    fixed(tmp_path, LAYER, "--unsafe-fixes")
    (tmp_path / "rt.py").write_text(dedent(ROUND_TRIP))
    result = subprocess.run([sys.executable, str(tmp_path / "rt.py"), str(tmp_path)], capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.stdout.split() == ["3.0", "tanh", "scaled", "False", "True"], result.stderr[-2000:]
