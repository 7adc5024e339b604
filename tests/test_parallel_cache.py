"""--jobs and the result cache: the same output as one process without a cache, every time."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tflint_save import cache, run
from tflint_save import run as parallel  # the pool lives in run.py
from tflint_save.config import Settings
from tflint_save.discovery import discover

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A project whose findings need the cross-file index: the layers are defined in other files
# than the load_model() call, and Attention is a Layer only through BaseLayer in another file.
PROJECT = {
    "layers/__init__.py": "",
    "layers/base.py": """
        import keras


        class BaseLayer(keras.layers.Layer):
            def __init__(self, units=4, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def get_config(self):
                return {"units": self.units}
    """,
    "layers/attention.py": """
        from layers.base import BaseLayer


        class Attention(BaseLayer):
            def __init__(self, heads):
                super().__init__()
                self.heads = heads

            def get_config(self):
                config = super().get_config()
                config.update({"heads": self.heads})
                return config
    """,
    "train.py": """
        import keras
        from layers.attention import Attention

        model = keras.Sequential([keras.Input((4,)), Attention(2)])
        model.save("m.keras")
        restored = keras.models.load_model("m.keras")
    """,
}


def filler(i):
    return f"""
        import keras


        class Scale{i}(keras.layers.Layer):
            def __init__(self, factor={i}.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, x):
                return x * self.factor
    """


def write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))


@pytest.fixture
def project(tmp_path):
    files = dict(PROJECT)
    files.update({f"extra/scale_{i}.py": filler(i) for i in range(30)})
    write(tmp_path / "proj", files)
    return tmp_path / "proj"


def paths_of(root):
    return discover([str(root)], [])[0]


def as_rows(report):
    return [(f.path, f.line, f.col, f.code, f.message, f.end_line, f.end_col) for f in report.findings]


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tflint_save", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# -- parallel ---------------------------------------------------------------------------------

def test_jobs_give_the_same_findings_including_cross_file_ones(project, monkeypatch, tmp_path):
    settings = Settings(keras_version=3)
    files = paths_of(project)
    single = run.lint_paths(files, settings, jobs=1)
    codes = {f.code for f in single.findings}
    assert {"TFS201", "TFS303", "TFS304"} <= codes, codes
    tfs201 = [f for f in single.findings if f.code == "TFS201"][0]
    assert "Attention" in tfs201.message and tfs201.path.endswith("train.py")

    # Record which process linted each file: the work must really have left this one.
    pids = tmp_path / "pids"
    pids.mkdir()
    original = run.lint_file

    def spy(path, *args, **kwargs):
        (pids / str(os.getpid())).touch()
        return original(path, *args, **kwargs)

    monkeypatch.setattr(run, "lint_file", spy)
    double = run.lint_paths(files, settings, jobs=2)
    assert as_rows(double) == as_rows(single)
    used = {int(p) for p in os.listdir(pids)}
    assert used and os.getpid() not in used and len(used) == 2


def test_cli_output_is_identical_with_one_or_two_jobs(project):
    one = cli(str(project), "-j", "1", "--no-cache")
    two = cli(str(project), "--jobs", "2", "--no-cache")
    assert one.returncode == two.returncode == 1, one.stderr
    assert one.stdout == two.stdout
    assert "TFS201" in one.stdout and "TFS303" in one.stdout and "TFS304" in one.stdout
    assert two.stderr == ""


def test_small_runs_stay_in_process(tmp_path, monkeypatch):
    assert parallel.workers_for(3, 8) == 0
    assert parallel.workers_for(1000, 1) == 0
    assert parallel.workers_for(1000, 4) == 4
    per_worker = parallel.MIN_FILES_PER_WORKER[parallel._context().get_start_method()]
    assert parallel.workers_for(2 * per_worker, 8) == 2 and parallel.workers_for(2 * per_worker - 1, 8) == 0
    write(tmp_path, PROJECT)

    def no_pool(*args):
        raise AssertionError("a pool was started for a small run")

    monkeypatch.setattr(parallel, "_in_pool", no_pool)
    report = run.lint_paths(paths_of(tmp_path), Settings(keras_version=3), jobs=8)
    assert any(f.code == "TFS201" for f in report.findings)


def test_bad_jobs_value_is_a_usage_error(tmp_path):
    result = cli(str(tmp_path), "--jobs", "0")
    assert result.returncode == 2 and "--jobs" in result.stderr


# -- cache ------------------------------------------------------------------------------------

def make_cache(root, settings=None):
    settings = settings or Settings(keras_version=3)
    return cache.for_run(settings, run.enabled_rules(settings), str(root))


def test_unchanged_files_come_from_the_cache(project, tmp_path, monkeypatch):
    settings = Settings(keras_version=3)
    files = paths_of(project)
    reference = run.lint_paths(files, settings)
    first = run.lint_paths(files, settings, cache=make_cache(tmp_path / "c", settings))
    assert as_rows(first) == as_rows(reference)
    entries = os.listdir(tmp_path / "c" / make_cache(tmp_path / "c").salt)
    assert len(entries) == len(files)

    def fail(*args, **kwargs):
        raise AssertionError("an unchanged file was linted again")

    monkeypatch.setattr(run, "lint_file", fail)
    second = run.lint_paths(files, settings, cache=make_cache(tmp_path / "c", settings))
    assert as_rows(second) == as_rows(reference)


def test_the_cross_file_index_comes_from_the_cache_too(project, tmp_path, monkeypatch):
    settings = Settings(keras_version=3)
    files = paths_of(project)
    run.lint_paths(files, settings, cache=make_cache(tmp_path / "c"))
    train = project / "train.py"
    # The model is saved there too: a load finds custom objects only in what a linked save wrote.
    train.write_text(train.read_text() + "model.save('other.keras'); other = keras.models.load_model('other.keras')\n")
    linted = []
    original = run.lint_file

    def spy(path, *args, **kwargs):
        linted.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(run, "lint_file", spy)
    cached = run.lint_paths(files, settings, cache=make_cache(tmp_path / "c"))
    assert linted == [str(train)]
    monkeypatch.setattr(run, "lint_file", original)
    assert as_rows(cached) == as_rows(run.lint_paths(files, settings))
    loads = [f for f in cached.findings if f.code == "TFS201"]
    assert [f.line for f in loads] == [7, 8] and all("Attention" in f.message for f in loads)


def test_the_key_covers_content_path_keras_version_and_rules(tmp_path):
    three = make_cache(tmp_path)
    base = three.key("a.py", b"import keras\n")
    assert three.key("a.py", b"import keras\n") == base
    assert three.key("a.py", b"import keras  \n") != base
    assert three.key("b.py", b"import keras\n") != base
    assert make_cache(tmp_path, Settings(keras_version=2)).key("a.py", b"import keras\n") != base
    fewer = Settings(keras_version=3, ignore=["TFS201"])
    assert make_cache(tmp_path, fewer).key("a.py", b"import keras\n") != base
    # Selection applied after linting (per-file-ignores) does not change the per-file result.
    ignores = Settings(keras_version=3, per_file_ignores={"x.py": ["TFS3"]})
    assert make_cache(tmp_path, ignores).key("a.py", b"import keras\n") == base


def test_results_survive_the_json_round_trip(project):
    settings = Settings(keras_version=3)
    rules = run.enabled_rules(settings)
    nb = project / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["import keras\n",
                  "m = keras.models.load_model('m')\n", "m.compile()\n"]}], "metadata": {}}))
    for path in paths_of(project):
        result = run.lint_file(path, settings, rules)
        back = cache.result_from_json(json.loads(json.dumps(cache.result_to_json(result))))
        assert back == result
        assert [f.data for f in back.findings] == [f.data for f in result.findings]
        assert [(p.code, p.finding, p.data) for p in back.pending] == [(p.code, p.finding, p.data) for p in result.pending]
        assert [f.cell for f in back.findings] == [f.cell for f in result.findings]


def test_a_corrupt_cache_is_ignored_with_a_warning(project, tmp_path):
    first = cli(str(project), "--cache-dir", str(tmp_path / "c"))
    folder = next(p for p in (tmp_path / "c").iterdir() if p.is_dir())
    for entry in list(folder.iterdir())[:5]:
        entry.write_bytes(b"\x00not json")
    second = cli(str(project), "--cache-dir", str(tmp_path / "c"))
    assert second.stdout == first.stdout and second.returncode == 1
    assert second.stderr.count("warning") == 1 and "corrupt" in second.stderr
    third = cli(str(project), "--cache-dir", str(tmp_path / "c"))  # rewritten
    assert third.stdout == first.stdout and third.stderr == ""


def test_an_entry_for_another_key_is_corrupt(tmp_path):
    store = make_cache(tmp_path)
    result = run.lint_file("x.py", Settings(keras_version=3), [], text="import keras\n")
    store.put("a" * 40, result)
    os.replace(os.path.join(store.folder, "a" * 40 + ".json"), os.path.join(store.folder, "b" * 40 + ".json"))
    assert store.get("b" * 40) is None and store.warnings
    assert store.get("c" * 40) is None and len(store.warnings) == 1  # a miss is not a warning


def test_an_unwritable_cache_is_a_warning_not_an_error(project, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli(str(project), "--cache-dir", str(blocker / "cache"))
    reference = cli(str(project), "--no-cache")
    assert result.returncode == 1 and result.stdout == reference.stdout
    assert result.stderr.count("warning") == 1 and "cannot write" in result.stderr


def test_the_cache_lives_beside_the_config_file_else_in_the_current_directory(project, tmp_path):
    (project / "pyproject.toml").write_text("[tool.tflint-save]\nignore = []\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli(str(project), cwd=str(elsewhere))
    assert (project / cache.DIR_NAME / cache.TAG_NAME).is_file()
    assert (project / cache.DIR_NAME / ".gitignore").read_text().strip().endswith("*")
    assert not (elsewhere / cache.DIR_NAME).exists()
    (project / "pyproject.toml").unlink()
    cli(str(project / "train.py"), cwd=str(elsewhere))
    assert (elsewhere / cache.DIR_NAME).is_dir()


def tree(root):
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, dirs, names in os.walk(root) for n in dirs + names)


def test_no_cache_writes_nothing_and_nothing_else_is_written(project):
    before = tree(project)
    cli(str(project), "--no-cache", cwd=str(project))
    assert tree(project) == before
    cli(str(project), cwd=str(project))
    added = set(tree(project)) - set(before)
    assert cache.DIR_NAME in added and all(p.startswith(cache.DIR_NAME) for p in added)
    assert set(before) <= set(tree(project))


def test_the_cache_directory_is_never_linted(project):
    cli(str(project), cwd=str(project))
    stray = project / cache.DIR_NAME / "stray.py"
    stray.write_text("import keras\nkeras.models.load_model('m')\n")
    files = paths_of(project)
    assert files and not any(cache.DIR_NAME in f for f in files)
    # ...even with exclusions replaced on the command line.
    result = cli(str(project), "--exclude", "nothing")
    assert cache.DIR_NAME not in result.stdout


def test_standard_input_with_jobs_and_cache(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    source = "import keras\nm = keras.models.load_model('m.keras', compile=False)\nm.fit(x)\n"
    result = subprocess.run([sys.executable, "-m", "tflint_save", "-", "-j", "2", "--stdin-filename", "s.py"],
                            input=source, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout.startswith("s.py:3:1: TFS204"), result.stdout + result.stderr


def test_no_processes_means_one_process_and_a_warning(project, monkeypatch, capsys):
    from tflint_save import isolate

    class NoProcesses:  # what multiprocessing does without /dev/shm or in a sandbox
        def get_start_method(self):
            return "fork"

        def Pipe(self):
            raise OSError(38, "Function not implemented")

    settings = Settings(keras_version=3)
    files = paths_of(project)
    reference = run.lint_paths(files, settings, jobs=1)
    monkeypatch.setattr(isolate, "context", NoProcesses)
    report = run.lint_paths(files, settings, jobs=2)
    assert as_rows(report) == as_rows(reference)
    assert capsys.readouterr().err.count("continuing in one process") == 1
