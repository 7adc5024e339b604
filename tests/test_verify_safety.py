"""What --verify runs of the user's code, and what it never runs (docs/verify.md, "What of
your code runs"): each attack of issue 12 writes a marker file that must NOT exist afterwards,
and each line of the list of what does run has a marker that must exist.  Also the worker's
sandbox: its answer channel cannot be forged, and nothing it started outlives a timeout."""

import importlib.util
import json
import os
import signal
import sys
import textwrap
import time

import pytest

from tflint_save import cli, verify
from tflint_save.verify.workers import MEMORY_LIMIT, OPEN_FILES_LIMIT

HAS_TF = importlib.util.find_spec("tensorflow") is not None
pytestmark = [
    pytest.mark.skipif(not HAS_TF, reason="tensorflow is not importable by this interpreter "
                                          "(pip install tensorflow-cpu to run --verify tests)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox tests read /proc"),
]


def touch(markers, name):
    """An expression that creates the marker file ``name`` when (and only when) it runs."""
    return f'__import__("pathlib").Path({str(markers / name)!r}).touch()'


# One project, one --verify run: every file holds the code of one line of the docs' lists.
NEVER_RUN = {
    # issue 12: call-site arguments went to eval
    "call_site_argument": '''
        import keras


        class Gate(keras.layers.Layer):
            def __init__(self, units):
                super().__init__()
                self.units = units

            def call(self, x):
                return x


        layer = Gate({call_site_argument})
        model = keras.Sequential([keras.Input((4,)), layer])
        model.save("gate.keras")
    ''',
    # issue 12: the condition of an if that only holds imports, the exception types of a try
    # that only holds imports, the annotation of a module-level constant
    "guards_and_annotations": '''
        if {if_condition} is None:
            import keras
        try:
            import not_a_module_of_issue_12
        except ({except_types} or ImportError):
            import keras
        SCALE: {constant_annotation} = 2.0
        WIDTH = {non_literal_constant}


        class Scaler(keras.layers.Layer):
            size: {class_annotation} = 4

            def __init__(self, factor: {parameter_annotation} = SCALE, **kwargs) -> {return_annotation}:
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, x):
                return x * self.factor

            def width(self):
                return WIDTH


        {module_level_script}
        model = keras.Sequential([keras.Input((4,)), Scaler()])
        model.save("scaler.keras")
        restored = keras.models.load_model("scaler.keras")
        if __name__ == "__main__":
            {main_block}
    ''',
}
NEVER = ("call_site_argument", "if_condition", "except_types", "constant_annotation", "non_literal_constant",
         "class_annotation", "parameter_annotation", "return_annotation", "module_level_script", "main_block")

RUNS = '''
    import keras
    import marker_import_of_issue_12


    def decorator(cls):
        {decorator}
        return cls


    def base(cls):
        {base_class_expression}
        return cls


    def default_factor():
        {default_value}
        return 3.0


    class Mixin(base(object)):
        pass


    @decorator
    class Runs(keras.layers.Layer, Mixin):
        {class_body}

        def __init__(self, factor=default_factor(), **kwargs):
            super().__init__(**kwargs)
            {init_with_literal_arguments}
            self.factor = factor
            self.library = marker_import_of_issue_12.__name__  # the import is needed

        def call(self, x):
            {methods_the_check_calls}
            return x * self.factor


    model = keras.Sequential([keras.Input((4,)), Runs(2.0)])
    model.save("runs.keras")
    restored = keras.models.load_model("runs.keras")
'''
RUN = ("imported_module", "decorator", "base_class_expression", "default_value", "class_body",
       "init_with_literal_arguments", "methods_the_check_calls")


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """Lint and verify the project once; the markers directory afterwards, and the output."""
    root = tmp_path_factory.mktemp("attacks")
    markers = root / "markers"
    markers.mkdir()
    project = root / "project"
    project.mkdir()
    names = {name: touch(markers, name) for name in NEVER + RUN}
    for stem, text in NEVER_RUN.items():
        (project / f"{stem}.py").write_text(textwrap.dedent(text).format(**names))
    (project / "runs.py").write_text(textwrap.dedent(RUNS).format(**names))
    # An imported module runs when imported, as it would for the user.
    library = root / "library"
    library.mkdir()
    (library / "marker_import_of_issue_12.py").write_text(names["imported_module"] + "\n")
    saved = {key: os.environ.get(key) for key in ("PYTHONPATH",)}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(library), saved["PYTHONPATH"]]))
    cwd = os.getcwd()
    os.chdir(project)
    try:
        from contextlib import redirect_stdout
        from io import StringIO

        out = StringIO()
        with redirect_stdout(out):
            code = cli.main(["--verify", "--no-cache", "--output-format", "json", "."])
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return markers, code, out.getvalue()


def test_the_verify_run_checked_every_file(verified):
    markers, code, out = verified
    assert code == 1, out
    verified_files = {f["filename"].split("/")[-1] for f in json.loads(out) if f.get("verification")}
    assert {"call_site_argument.py", "guards_and_annotations.py", "runs.py"} <= verified_files, out


@pytest.mark.parametrize("name", NEVER)
def test_never_runs(verified, name):
    markers, _, out = verified
    assert not (markers / name).exists(), f"--verify ran {name}:\n{out}"


@pytest.mark.parametrize("name", RUN)
def test_runs_as_importing_the_module_would(verified, name):
    markers, _, out = verified
    assert (markers / name).exists(), f"--verify did not run {name} (the docs say it does):\n{out}"


def test_a_non_literal_call_site_argument_makes_the_check_inconclusive(verified):
    _, _, out = verified
    found = next(f for f in json.loads(out) if f["filename"].endswith("call_site_argument.py"))
    assert found["verification"]["status"] == "inconclusive", found
    assert "is not a literal (--verify evaluates only literal values from your code)" in \
        found["verification"]["evidence"], found


# -- the expressions rules record are built without eval -------------------------------------

def snippet_job(code, facts, key):
    path, snippet = verify.snippet_for(code)
    return verify.Job(key, code, path, snippet, dict(facts, keras_version=3))


def test_recorded_expressions_are_not_evaluated(tmp_path):
    attack = touch(tmp_path, "{}")
    jobs = [
        snippet_job("TFS103", {"optimizer": f"keras.optimizers.Adam({attack.format('optimizer')})"}, "optimizer"),
        snippet_job("TFS307", {"layer": f"keras.layers.Lambda(lambda t: t, name={attack.format('layer')})",
                               "imports": "import keras"}, "layer"),
        snippet_job("TFS307", {"layer": f"keras.layers.Lambda(lambda t, d={attack.format('default')}: t)",
                               "imports": "import keras"}, "default"),
        snippet_job("TFS405", {"metric": f"keras.metrics.Mean(name={attack.format('metric')})",
                               "method": "reset_states"}, "metric"),
        snippet_job("TFS402", {"metric": "keras.metrics.Accuracy()",
                               "loss": f"__import__('pathlib').Path({str(tmp_path / 'loss')!r}).touch"}, "loss"),
        snippet_job("TFS405", {"metric": f"keras.metrics.Mean(**{{'name': {attack.format('kwargs')}}})"}, "kwargs"),
    ]
    results = verify.run_jobs(jobs, verify.Options(jobs=1))
    for key in ("optimizer", "layer", "default", "metric", "loss", "kwargs"):
        assert not (tmp_path / key).exists(), (key, results.get(key))
        assert results[key]["status"] == "inconclusive", (key, results[key])
    # The same expressions with literal arguments are built and checked.
    fine = [snippet_job("TFS103", {"optimizer": "keras.optimizers.Adam(learning_rate=1e-3)"}, "ok-optimizer"),
            snippet_job("TFS405", {"metric": "keras.metrics.Mean(name='m', dtype=tf.float32)"}, "ok-metric")]
    results = verify.run_jobs(fine, verify.Options(jobs=1))
    assert results["ok-optimizer"]["status"] == "confirmed", results
    assert results["ok-metric"]["status"] == "confirmed", results


def test_tfs410_and_tfs411_build_the_recorded_layer_and_metrics_without_eval(tmp_path):
    # TFS411 records the Normalization() call as the user wrote it: its arguments never run.
    attack = touch(tmp_path, "{}")
    jobs = [
        snippet_job("TFS411", {"layer": f"keras.layers.Normalization(axis={attack.format('layer')})",
                               "adapt": False}, "layer"),
        snippet_job("TFS410", {"form": "zip", "metrics": [f"keras.metrics.AUC(name={attack.format('metric')})"]},
                    "metric"),
    ]
    results = verify.run_jobs(jobs, verify.Options(jobs=1))
    assert not (tmp_path / "layer").exists() and not (tmp_path / "metric").exists(), results
    assert results["layer"]["status"] == "confirmed", results  # checked on the default layer instead
    assert results["metric"]["status"] == "inconclusive", results
    fine = [snippet_job("TFS411", {"layer": "keras.layers.Normalization(axis=-1)", "adapt": False}, "ok-layer")]
    assert verify.run_jobs(fine, verify.Options(jobs=1))["ok-layer"]["status"] == "confirmed"


def test_the_lambda_of_a_lambda_layer_runs_on_the_probe_input(tmp_path):
    # docs/verify.md: "for TFS307, the lambda of the Lambda layer, called on a small float input".
    body = touch(tmp_path, "lambda_body")
    job = snippet_job("TFS307", {"layer": f"keras.layers.Lambda(lambda t: ({body}, t * 2.0)[1])",
                                 "imports": "import keras"}, "lambda")
    result = verify.run_jobs([job], verify.Options(jobs=1))["lambda"]
    assert result["status"] == "confirmed", result
    assert (tmp_path / "lambda_body").exists()


def test_call_arguments_are_literals_only(tmp_path):
    snippet = textwrap.dedent("""
        def check(facts, workdir):
            out = []
            for text in facts["texts"]:
                try:
                    out.append(repr(call_arguments(text)))
                except NotLiteral:
                    out.append("NotLiteral")
            return {"status": "not reproduced", "evidence": json.dumps(out)}

        import json
    """)
    texts = ["3, -2.5, 'a', name='x'", "[1, (2, 3)], {'k': None}, True", "tf.float32",
             "1), __import__('pathlib').Path(%r).touch(" % str(tmp_path / "escape"),
             "units", "*args", "f(1)", "1 + 2", "[x for x in range(3)]", "lambda: 0", "k=open('x')"]
    job = verify.Job("literals", "TEST", "<literals>", snippet, {"texts": texts})
    result = verify.run_jobs([job], verify.Options(jobs=1))["literals"]
    got = json.loads(result["evidence"])
    assert got[0] == "([3, -2.5, 'a'], {'name': 'x'})"
    assert got[1] == "([[1, (2, 3)], {'k': None}, True], {})"
    assert "float32" in got[2]
    assert got[3:] == ["NotLiteral"] * 8
    assert not (tmp_path / "escape").exists()


# -- the worker's sandbox -------------------------------------------------------------------

FORGE = '''
import json, os, stat


def forge():
    """What code under check can do: write answers on every pipe it may write to."""
    pipes = []
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and os.get_blocking(fd) is not None:
                pipes.append(fd)
        except OSError:
            pass
    line = json.dumps({{"id": {job_id}, "status": "confirmed", "evidence": "forged", "seconds": 0}})
    written = []
    for fd in pipes:
        try:
            os.write(fd, b"")  # a read end refuses even this
            written.append(fd)
        except OSError:
            pass
    with open({record!r}, "w") as handle:  # before the forgery: the parent kills the worker on it
        handle.write(str(len(written)))
    for fd in written:
        os.write(fd, (line + "\\n" + line.replace('"id": {job_id}', '"id": {next_id}') + "\\n").encode())


forge()
'''


def test_a_forged_answer_is_a_failed_check_and_later_answers_are_not_shifted(tmp_path):
    record = str(tmp_path / "written")
    forger = "def check(facts, workdir):\n    user_code(facts)\n    return {'status': 'not reproduced', 'evidence': 'real'}\n"
    honest = "def check(facts, workdir):\n    return {'status': 'not reproduced', 'evidence': 'honest ' + facts['n']}\n"
    jobs = [verify.Job("forger", "TEST", "<forger>", forger,
                       {"source": FORGE.format(job_id=0, next_id=1, record=record)}),
            verify.Job("after-1", "TEST", "<honest>", honest, {"n": "1"}),
            verify.Job("after-2", "TEST", "<honest>", honest, {"n": "2"})]
    results = verify.run_jobs(jobs, verify.Options(jobs=1))
    assert int(open(record).read()) >= 1  # the forgery reached the answer channel
    assert results["forger"]["status"] == "inconclusive"
    assert "answer channel" in results["forger"]["evidence"] and results["forger"].get("transient"), results
    assert results["after-1"]["evidence"] == "honest 1" and results["after-2"]["evidence"] == "honest 2", results


def test_the_worker_runs_in_its_own_group_directory_and_limits(tmp_path):
    # A descriptor tflint-save's process could pass on: the worker must not get it.
    inherited = os.open(tmp_path / "inherited.txt", os.O_WRONLY | os.O_CREAT)
    os.set_inheritable(inherited, True)
    snippet = textwrap.dedent("""
        import json, os, resource

        def link(fd):
            try:
                return os.readlink("/proc/self/fd/" + fd)
            except OSError:  # the descriptor listdir itself used
                return ""

        def check(facts, workdir):
            home = os.environ["HOME"]
            facts = {
                "group": os.getpgid(0) == os.getpid(),
                "home": home, "tmp": os.environ.get("TMPDIR") == home, "workdir_in_home": workdir.startswith(home),
                "memory": resource.getrlimit(resource.RLIMIT_AS)[0],
                "files": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
                "fds": [link(fd) for fd in os.listdir("/proc/self/fd")],
            }
            return {"status": "not reproduced", "evidence": json.dumps(facts)}
    """)
    try:
        result = verify.run_jobs([verify.Job("sandbox", "TEST", "<sandbox>", snippet, {})],
                                 verify.Options(jobs=1, timeout=20))["sandbox"]
    finally:
        os.close(inherited)
    facts = json.loads(result["evidence"])
    assert not any(link.endswith("inherited.txt") for link in facts["fds"]), facts["fds"]
    assert len([link for link in facts["fds"] if link.startswith("pipe:")]) <= 2, facts["fds"]  # the channel
    assert facts["group"] and facts["tmp"] and facts["workdir_in_home"], facts
    assert os.path.basename(facts["home"]).startswith("tflint-save-verify-")
    assert not os.path.exists(facts["home"])  # removed with the worker
    assert facts["memory"] == MEMORY_LIMIT and facts["files"] == OPEN_FILES_LIMIT
    assert 0 < facts["cpu"] < 10_000


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie waits for reaping only
    except OSError:
        return False


@pytest.mark.parametrize("ending", ["timeout", "exit"])
def test_nothing_the_check_started_outlives_it(tmp_path, ending):
    record = tmp_path / "record.json"
    snippet = textwrap.dedent(f"""
        import json, os, subprocess, time

        def check(facts, workdir):
            child = subprocess.Popen(["sleep", "300"])
            with open({str(record)!r}, "w") as handle:
                json.dump({{"pid": child.pid, "home": os.environ["HOME"], "workdir": workdir}}, handle)
            if facts["hang"]:
                time.sleep(300)
            return {{"status": "not reproduced", "evidence": "left a child behind"}}
    """)
    job = verify.Job(ending, "TEST", "<spawner>", snippet, {"hang": ending == "timeout"})
    result = verify.run_jobs([job], verify.Options(jobs=1, timeout=5))[ending]
    assert result["status"] == ("timeout" if ending == "timeout" else "not reproduced"), result
    left = json.loads(record.read_text())
    deadline = time.monotonic() + 5
    while _alive(left["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(left["pid"]):
        os.kill(left["pid"], signal.SIGKILL)
        pytest.fail("a process the check started kept running after the worker ended")
    assert not os.path.exists(left["home"]) and not os.path.exists(left["workdir"])


def test_no_verify_directory_is_left_in_tmpdir_after_a_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    job = verify.Job("hangs", "TEST", "<hangs>", "import time\ndef check(facts, workdir):\n    time.sleep(300)\n", {})
    assert verify.run_jobs([job], verify.Options(jobs=1, timeout=3))["hangs"]["status"] == "timeout"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tflint-save-verify-")] == []

