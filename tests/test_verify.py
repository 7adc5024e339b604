"""--verify and --check-rules, run for real: every check here executes in a worker process
that imports the TensorFlow of this interpreter.  Tests that need it skip (saying why) when
tensorflow cannot be imported here; CI installs tensorflow-cpu so that they run."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import lint_files
from tflint_save import catalog, cli, report, run, verify
from tflint_save.config import Settings
from tflint_save.findings import Finding
from tflint_save.verify.source import Extractor, SourceUnavailable

HAS_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(
    not HAS_TF, reason="tensorflow is not importable by this interpreter (pip install tensorflow-cpu to run --verify tests)"
)

LAYER = '''
import os
import keras
import numpy as np
{decorator}
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {{**super().get_config(), "factor": self.factor}}
'''
UNREGISTERED = LAYER.format(decorator="")
REGISTERED = LAYER.format(decorator='@keras.saving.register_keras_serializable(package="tests")')
NEEDS_ARGS = '''
import keras


class Projection(keras.layers.Layer):
    def __init__(self, units, vocabulary, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.vocabulary = vocabulary

    def call(self, x):
        return x
'''
TRAIN = '''
model = keras.Sequential([keras.Input((4,)), Scale(3.0)])
model.save("scaled.keras")
restored = keras.models.load_model("scaled.keras")
'''


def source_of(text, *names):
    return Extractor(lambda _: textwrap.dedent(text), None, ["m.py"]).source([("m.py", n) for n in names])


def tfs201_job(source, name="Scale", key=None, compile=True):
    path, snippet = verify.snippet_for("TFS201")
    facts = {"objects": [{"name": name, "kind": "layer"}], "compile": compile, "source": source, "keras_version": 3}
    return verify.Job(key or name + str(hash(source)), "TFS201", path, snippet, facts)


def inline_job(key, snippet):
    return verify.Job(key, "TEST", f"<{key}>", textwrap.dedent(snippet), {})


# -- the user's code a check runs (static: no TensorFlow) ------------------------------------

def test_source_is_the_class_and_its_imports_never_script_code():
    text = UNREGISTERED + "\nimport json\nDATA = load()\nprint('training')\n" + TRAIN
    source = source_of(text, "Scale")
    assert "class Scale(keras.layers.Layer):" in source
    assert "import keras" in source
    for script in ("load()", "print(", "model.save", "load_model", "import json", "import os", "numpy"):
        assert script not in source, script
    compile(source, "<source>", "exec")


def test_source_follows_helpers_constants_and_import_fallbacks():
    text = '''
    from __future__ import annotations
    try:
        import keras
    except ImportError:
        from tensorflow import keras

    FACTOR = 3.0
    CONFIG = read_config("x.yaml")

    def double(x):
        return x * 2

    class Block(keras.layers.Layer):
        def call(self, x):
            return double(x) * FACTOR

    class Unused(keras.layers.Layer):
        pass

    if __name__ == "__main__":
        Block()
    '''
    source = source_of(text, "Block")
    assert source.startswith("from __future__ import annotations")
    assert "except Exception:" in source and "FACTOR = 3.0" in source and "def double" in source
    assert "read_config" not in source and "Unused" not in source and "__main__" not in source


def test_source_inlines_project_base_classes_from_other_files(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": '''
            import keras

            SCALE = 2.0

            class Base(keras.layers.Layer):
                def __init__(self, factor=SCALE, **kwargs):
                    super().__init__(**kwargs)
                    self.factor = factor

            print("base module script code")
        ''',
        "pkg/model.py": '''
            import keras
            from pkg.base import Base as B, SCALE

            class Scaled(B):
                def call(self, x):
                    return x * self.factor * SCALE

            model = keras.Sequential([keras.Input((4,)), Scaled()])
            model.save("m.keras")
            restored = keras.models.load_model("m.keras")
        ''',
    }
    lint_files(files, str(tmp_path))  # writes them
    paths = sorted(str(tmp_path / p) for p in files)
    result = run.lint_paths(paths, Settings(keras_version=3))
    [finding] = [f for f in result.findings if f.code == "TFS201"]
    assert finding.data["objects"] == [{"name": "Scaled", "path": finding.path, "kind": "layer"}]
    source = Extractor(lambda p: open(p).read(), result.project, paths).source([(None, "Scaled")], near=finding.path)
    assert source.index("class Base(") < source.index("class Scaled(")
    assert "B = Base" in source and "SCALE = 2.0" in source
    assert "from pkg.base" not in source and "print(" not in source
    compile(source, "<source>", "exec")


def test_a_class_defined_inside_a_function_is_unavailable():
    text = '''
    import keras

    def make():
        class Hidden(keras.layers.Layer):
            pass
        return Hidden
    '''
    with pytest.raises(SourceUnavailable, match="Hidden"):
        source_of(text, "Hidden")


def test_call_site_arguments_are_used_only_when_they_are_literals():
    text = NEEDS_ARGS + '''
a = Projection(units, vocabulary)
b = Projection(2, vocabulary=["x", "y"])
c = Projection(3, ["z"], name=make_name())
'''
    extractor = Extractor(lambda _: text, None, ["m.py"])
    assert extractor.call_args("Projection", "m.py") == '2, vocabulary=["x", "y"]'
    assert extractor.call_args("Missing", "m.py") is None


def test_tfs204_reports_the_method_for_its_check():
    from helpers import lint

    [finding] = lint('''
        import keras
        m = keras.models.load_model("m.keras", compile=False)
        m.fit(x, y)
    ''')
    assert finding.code == "TFS204" and finding.data == {"method": "fit"}


# -- what the user sees (static) ---------------------------------------------------------------

def _with(status, evidence, seconds=0.2):
    finding = Finding("train.py", 41, 9, "TFS201", "load_model() without custom_objects: MyDense is not registered")
    from dataclasses import replace

    return replace(finding, verification={"status": status, "evidence": evidence, "tensorflow_version": "2.21.0",
                                          "keras_version": "3.15.1", "seconds": seconds, "cached": False})


def test_suffixes():
    long = ("TypeError: Could not locate class 'MyDense'. Make sure custom classes and functions are decorated "
            "with `@keras.saving.register_keras_serializable()`.")
    [line] = report.concise([_with("confirmed", long)], False)
    assert line.endswith("MyDense is not registered [confirmed on keras 3.15.1: TypeError: Could not locate class 'MyDense'...]")
    assert report.verified(_with("not reproduced", "a model using MyDense loaded back")) == (
        " [not reproduced on keras 3.15.1: a model using MyDense loaded back]")
    assert report.verified(_with("inconclusive", "MyDense() needs constructor arguments")) == (
        " [inconclusive: MyDense() needs constructor arguments]")
    assert report.verified(_with("timeout", "no answer within 60 s", 60.0)) == " [timeout after 60 s]"
    assert report.verified(Finding("a.py", 1, 1, "TFS201", "m")) == ""


def test_check_rules_skips_a_bad_example_the_rule_does_not_flag_on_that_keras():
    # TFS301's bad example defaults an argument to a function: only Keras 3 records defaults.
    tfs301 = catalog.get("TFS301")
    assert verify.flags_bad_example(tfs301, 3)
    assert not verify.flags_bad_example(tfs301, 2)
    assert verify.flags_bad_example(catalog.get("TFS302"), 2)


def test_corrupt_cache_entries_are_ignored_with_a_warning(tmp_path):
    cache = verify.Cache(str(tmp_path))
    cache.put("ab" * 32, {"status": "confirmed", "evidence": "E", "seconds": 0.1})
    assert cache.get("ab" * 32)["status"] == "confirmed"
    with open(cache._path("ab" * 32), "w") as handle:
        handle.write("{not json")
    assert cache.get("ab" * 32) is None
    [warning] = cache.warnings()
    assert "ignored 1 unreadable entry" in warning and cache.folder in warning


def test_a_missing_cache_entry_is_a_miss_and_a_failed_write_leaves_no_temporary_file(tmp_path):
    cache = verify.Cache(str(tmp_path))
    assert cache.get("cd" * 32) is None and cache.warnings() == []
    # A directory where the entry should go: the final rename fails.
    os.makedirs(cache._path("ef" * 32))
    cache.put("ef" * 32, {"status": "confirmed", "evidence": "E", "seconds": 0.1})
    [warning] = cache.warnings()
    assert "could not write the verify cache" in warning
    assert os.listdir(os.path.dirname(cache._path("ef" * 32))) == [os.path.basename(cache._path("ef" * 32))]


def test_without_tensorflow_verify_exits_2_naming_the_interpreter_and_the_install(tmp_path, capsys):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    assert subprocess.run([python, "-c", "import tensorflow"], capture_output=True).returncode != 0
    (tmp_path / "train.py").write_text(textwrap.dedent(UNREGISTERED + TRAIN))
    code = cli.main(["--verify", "--verify-python", python, "--no-cache", str(tmp_path / "train.py")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert python in line and 'pip install "tflint-save[verify]"' in line and "TensorFlow" in line


def test_bad_verify_options_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--verify-timeout", "0", "x.py"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["--verify-jobs", "0", "x.py"])
    assert "--verify-jobs" in capsys.readouterr().err


# -- the catalog's snippets, for real ---------------------------------------------------------

SNIPPET_CODES = sorted(code for code in catalog.entries() if verify.snippet_for(code))


@pytest.fixture(scope="module")
def catalog_results():
    """Every snippet on its bad and good example, in one pool of two workers."""
    info = verify.probe(sys.executable)
    major = int(info["keras"].split(".")[0])
    jobs, wanted = [], {}
    for code in SNIPPET_CODES:
        entry = catalog.get(code)
        if major not in entry.keras:
            continue
        path, snippet = verify.snippet_for(code)
        for side in ("bad", "good"):
            facts = verify.example_facts(entry, side)
            if facts is not None:
                jobs.append(verify.Job(f"{code}-{side}", code, path, snippet, facts))
            wanted[(code, side)] = facts is not None
    return major, wanted, verify.run_jobs(jobs, verify.Options(jobs=2))


@needs_tf
@pytest.mark.parametrize("code", SNIPPET_CODES)
def test_snippet_confirms_the_bad_example_and_not_the_good_one(code, catalog_results):
    major, wanted, results = catalog_results
    if major not in catalog.get(code).keras:
        pytest.skip(f"{code} is about Keras {catalog.get(code).keras}, this is Keras {major}")
    assert wanted[(code, "bad")] and wanted[(code, "good")], f"rules/{code}.toml needs [verify] bad and good facts"
    bad, good = results[f"{code}-bad"], results[f"{code}-good"]
    assert bad["status"] == "confirmed", bad
    assert good["status"] == "not reproduced", good
    assert bad["evidence"] and good["evidence"]


# Projection with a get_config() that returns KEYS.
CONFIGURED = NEEDS_ARGS + """
    def get_config(self):
        return {**super().get_config(), KEYS}
"""


def snippet_job(code, key, facts):
    path, snippet = verify.snippet_for(code)
    return verify.Job(key, code, path, snippet, dict(facts, keras_version=3))


@needs_tf
def test_snippets_confirm_only_the_failure_their_rule_names():
    forgot = source_of(CONFIGURED.replace("KEYS", '"vocabulary": self.vocabulary'), "Projection")
    unexpected = source_of(CONFIGURED.replace("KEYS", '"units": self.units, "vocabulary": self.vocabulary, "bogus": 1'),
                           "Projection")
    args = {"class": "Projection", "call_args": "4, ['a', 'b']"}
    jobs = [
        snippet_job("TFS302", "forgot", dict(args, missing=["units"], source=forgot)),
        # from_config() fails, but on a key __init__ does not take: not the forgotten argument TFS302 names.
        snippet_job("TFS302", "unexpected", dict(args, missing=["vocabulary"], source=unexpected)),
        snippet_job("TFS105", "unknown-dump", {"function": "shelve.dump"}),
        snippet_job("TFS502", "path", {"call": "save_weights", "path": "out/weights.h5"}),
    ]
    results = verify.run_jobs(jobs, verify.Options(jobs=1))
    assert results["forgot"]["status"] == "confirmed", results["forgot"]
    assert "missing 1 required positional argument: 'units'" in results["forgot"]["evidence"]
    assert results["unexpected"]["status"] == "inconclusive", results["unexpected"]
    assert "from_config(get_config()) failed" in results["unexpected"]["evidence"]
    assert "'bogus'" in results["unexpected"]["evidence"]
    assert results["unknown-dump"] == {"status": "inconclusive", "evidence": "'shelve.dump' is not a dump this check knows",
                                       "seconds": results["unknown-dump"]["seconds"]}
    if verify.probe(sys.executable)["keras"].startswith("3."):
        # The evidence names the user's file, never the check's temporary directory.
        assert results["path"]["status"] == "confirmed", results["path"]
        assert "filepath=weights.h5" in results["path"]["evidence"]
        assert "tflint-save-verify-" not in results["path"]["evidence"]


# -- the worker, for real --------------------------------------------------------------------

@needs_tf
def test_round_trip_and_registration_state_of_one_check_does_not_leak_into_the_next():
    registered, unregistered = source_of(REGISTERED, "Scale"), source_of(UNREGISTERED, "Scale")
    jobs = [tfs201_job(registered, key="registered"), tfs201_job(unregistered, key="unregistered"),
            tfs201_job(source_of(NEEDS_ARGS, "Projection"), "Projection", key="needs-args")]
    results = verify.run_jobs(jobs, verify.Options(jobs=1))
    # A layer that round-trips is not confirmed; the same class unregistered is, in the same worker.
    assert results["registered"]["status"] == "not reproduced"
    assert "loaded back without custom_objects" in results["registered"]["evidence"]
    assert results["unregistered"]["status"] == "confirmed"
    assert "Could not locate class 'Scale'" in results["unregistered"]["evidence"] or \
        "Scale" in results["unregistered"]["evidence"]
    assert results["needs-args"]["status"] == "inconclusive"
    assert results["needs-args"]["evidence"] == (
        "Projection() needs constructor arguments that could not be inferred: 'units' and 'vocabulary'")


@needs_tf
def test_a_hanging_or_crashing_check_is_reported_and_a_fresh_worker_takes_over():
    jobs = [
        inline_job("sleeps", "import time\ndef check(facts, workdir):\n    time.sleep(600)\n"),
        inline_job("crashes", "import os\ndef check(facts, workdir):\n    os._exit(7)\n"),
        inline_job("prints", "import os, sys\n"
                             "def check(facts, workdir):\n"
                             "    print('noise on stdout'); sys.stdout.flush()\n"
                             "    open('here.txt', 'w').close()\n"
                             "    return {'status': 'not reproduced', 'evidence': os.getcwd() == workdir and 'in workdir'}\n"),
        inline_job("raises", "def check(facts, workdir):\n    raise RuntimeError('snippet bug')\n"),
    ]
    results = verify.run_jobs(jobs, verify.Options(timeout=3, jobs=1))
    assert results["sleeps"]["status"] == "timeout" and results["sleeps"]["seconds"] == 3
    assert results["crashes"]["status"] == "inconclusive"
    assert "crashed the worker" in results["crashes"]["evidence"] and "exit status 7" in results["crashes"]["evidence"]
    assert results["prints"] == {"status": "not reproduced", "evidence": "in workdir",
                                 "seconds": results["prints"]["seconds"]}
    assert results["raises"]["status"] == "inconclusive"
    assert "RuntimeError: snippet bug" in results["raises"]["evidence"]


@needs_tf
def test_snippets_build_the_users_class_and_round_trip_it_with_the_worker_helpers():
    snippet = textwrap.dedent("""
        def check(facts, workdir):
            namespace = user_code(facts)
            layer = construct(namespace, "Scale", "3.0", "name='probe'")
            again = keras_round_trip(layer, namespace, workdir, (4,))
            return {"status": "not reproduced",
                    "evidence": f"{type(again).__name__} {again.name} {again.factor} {again is layer}"}
    """)
    job = verify.Job("helpers", "TEST", "<helpers>", snippet, {"source": source_of(UNREGISTERED, "Scale")})
    result = verify.run_jobs([job], verify.Options(jobs=1))["helpers"]
    assert result["status"] == "not reproduced", result
    assert result["evidence"] == "Scale probe 3.0 False"


# -- the command line, for real ----------------------------------------------------------------

def _project(tmp_path, text):
    (tmp_path / "train.py").write_text(textwrap.dedent(text))
    return str(tmp_path / "train.py")


@needs_tf
def test_verify_shows_the_outcome_and_a_second_run_executes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _project(tmp_path, UNREGISTERED + NEEDS_ARGS.replace("import keras", "") + '''
model = keras.Sequential([keras.Input((4,)), Scale(3.0), Projection(2, ["a"])])
model.save("scaled.keras")
restored = keras.models.load_model("scaled.keras")
frozen = keras.models.load_model("scaled.keras", compile=False)
frozen.fit(np.ones((2, 4)), np.ones((2, 4)))
''')
    args = ["--verify", "--cache-dir", str(tmp_path / "cache"), "train.py"]
    assert cli.main(args) == 1
    first = capsys.readouterr().out.splitlines()
    assert len(first) == 4, first
    assert "TFS201" in first[0] and first[0].endswith(
        "[confirmed on keras %s: TypeError: Could not locate class 'Projection'...]" % verify.probe(sys.executable)["keras"])
    assert "TFS201" in first[1] and "[confirmed on keras" in first[1]
    assert "TFS204" in first[2] and "You must call `compile()` before using the model" in first[2]
    assert first[3].startswith("verified: 3 confirmed, 0 not reproduced, 0 inconclusive (tensorflow ")

    def no_worker(*args, **kwargs):
        raise AssertionError("a cached run started a worker")

    monkeypatch.setattr(verify.Worker, "__init__", no_worker)
    assert cli.main(args) == 1
    assert capsys.readouterr().out.splitlines() == first
    assert os.path.isdir(tmp_path / "cache" / "verify") and path


@needs_tf
def test_verified_only_keeps_what_was_confirmed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, NEEDS_ARGS + '''
layer = Projection(units, vocabulary)
keras.Sequential([layer]).save(out_path)
served = keras.models.load_model("exported/serving_model")
''')
    assert cli.main(["--verify", "--no-cache", "--output-format", "json", "train.py"]) == 1
    out, err = capsys.readouterr()
    findings = {f["code"]: f for f in json.loads(out)}
    assert findings["TFS201"]["verification"]["status"] == "inconclusive"
    assert "Projection() needs constructor arguments" in findings["TFS201"]["verification"]["evidence"]
    verification = findings["TFS202"]["verification"]
    assert verification["status"] == "confirmed" and "File format not supported" in verification["evidence"]
    assert set(verification) == {"status", "evidence", "tensorflow_version", "keras_version", "seconds", "cached"}
    assert "verified: 1 confirmed, 0 not reproduced, 1 inconclusive" in err

    assert cli.main(["--verified-only", "--no-cache", "train.py"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["TFS202"]
    assert lines[-1].startswith("verified: 1 confirmed")


@needs_tf
def test_check_rules_prints_the_table(capsys):
    assert cli.main(["--check-rules", "--select", "TFS20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("tensorflow ") and sys.executable in lines[0]
    assert lines[1].split() == ["rule", "reproduced", "on", "bad", "silent", "on", "good", "seconds"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.startswith("TFS")}
    assert rows["TFS201"][1:3] == ["yes", "yes"] and float(rows["TFS201"][3]) > 0
    assert all(code.startswith("TFS20") for code in rows)
