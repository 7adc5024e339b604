"""The --verify worker: runs rule snippets inside the interpreter that has TensorFlow.

tflint-save starts this file BY PATH with the chosen interpreter (``python worker.py``),
so it must need nothing but the standard library until it imports TensorFlow, and nothing
from tflint_save at all: the project's environment may not have tflint-save installed.

``worker.py --probe`` prints one JSON object (interpreter, TensorFlow and Keras
versions from the installed distributions, whether ``tensorflow`` can be found) without
importing TensorFlow.

Otherwise it imports TensorFlow and Keras once, says ``{"ready": true, "tensorflow": ...,
"keras": ...}`` (or ``{"ready": false, "error": ...}``), then reads jobs as JSON lines on
standard input, ``{"id", "code", "snippet", "snippet_path", "facts"}``, and answers each
with ``{"id", "status", "evidence", "seconds"}``.  Each job runs in its own temporary
directory (its working directory meanwhile), removed afterwards; Keras's global registries
and safe mode are restored after it.  Timeouts are the parent's business: it kills a worker
that does not answer in time and starts another.
"""

import gc
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings

STATUSES = ("confirmed", "not reproduced", "inconclusive")
TF_DISTRIBUTIONS = (
    "tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tensorflow-gpu",
    "tf-nightly", "tf-nightly-cpu",
)
MAX_EVIDENCE = 2000


def probe():
    from importlib import metadata, util

    def version(name):
        try:
            return metadata.version(name)
        except Exception:
            return None

    tensorflow = next((v for v in map(version, TF_DISTRIBUTIONS) if v), None)
    try:
        importable = util.find_spec("tensorflow") is not None
    except Exception:
        importable = False
    return {
        "python": sys.executable,
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "tensorflow": tensorflow,
        "keras": version("keras"),
        "importable": importable,
    }


def first_line(exc):
    """The exception's type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[0]) if text else type(exc).__name__


def in_brief(exc, limit=240):
    """The exception's type and its whole message on one line, cut at ``limit`` characters:
    Keras wraps one sentence over several lines, and nests the cause further down."""
    text = " ".join(str(exc).split())
    return "%s: %s" % (type(exc).__name__, text[:limit]) if text else type(exc).__name__


def user_code(facts):
    """Run the user's definitions (``facts["source"]``) as a module; its namespace."""
    namespace = {"__name__": "user_code"}
    exec(compile(facts.get("source", ""), "<user code>", "exec"), namespace)
    return namespace


def keras_in_use():
    """The Keras ``tf.keras`` code runs with: tf_keras (Keras 2) under TF_USE_LEGACY_KERAS."""
    import keras

    if os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True"):
        import tensorflow as tf

        return tf.keras
    return keras


def construct(namespace, name, call_args="", extra=""):
    """An instance of the user's class ``name`` from ``namespace``, built with ``call_args`` (the
    source text of the arguments seen at a call site) followed by ``extra``."""
    joined = ", ".join(part for part in (call_args, extra) if part)
    return eval("__cls(%s)" % joined, dict(namespace, __cls=namespace[name]))


def keras_round_trip(obj, namespace, workdir, shape=None):
    """``obj`` saved as ``.keras`` in ``workdir`` and loaded back, with the classes of ``namespace``
    as custom_objects: a Model as it is, a layer in a Sequential (after ``keras.Input(shape)`` when
    a shape is given).  The loaded Model, or the loaded layer."""
    keras = keras_in_use()
    path = os.path.join(workdir, "roundtrip.keras")
    if isinstance(obj, keras.Model):
        model = obj
    else:
        model = keras.Sequential(([keras.Input(shape)] if shape is not None else []) + [obj])
    model.save(path)
    customs = {k: v for k, v in namespace.items() if isinstance(v, type)}
    loaded = keras.models.load_model(path, custom_objects=customs, compile=False)
    return loaded if model is obj else loaded.layers[-1]


# What every snippet finds in its globals, so that the snippets hold only their checks.
SNIPPET_HELPERS = {f.__name__: f for f in (first_line, in_brief, user_code, keras_in_use, construct,
                                           keras_round_trip)}


class KerasState:
    """What a check may change in Keras's process-wide state, to put back afterwards."""

    REGISTRIES = ("keras.src.saving.object_registration", "keras.saving.object_registration")
    NAMES = ("GLOBAL_CUSTOM_OBJECTS", "GLOBAL_CUSTOM_NAMES", "_GLOBAL_CUSTOM_OBJECTS", "_GLOBAL_CUSTOM_NAMES")

    def __init__(self):
        self.dicts = []
        for module_name in self.REGISTRIES:
            module = sys.modules.get(module_name)
            for name in self.NAMES:
                value = getattr(module, name, None)
                if isinstance(value, dict) and all(value is not d for d, _ in self.dicts):
                    self.dicts.append((value, dict(value)))
        self.safe_mode = self._safe_mode()
        self.environ = dict(os.environ)
        self.path = list(sys.path)

    @staticmethod
    def _serialization_lib():
        return sys.modules.get("keras.src.saving.serialization_lib")

    def _safe_mode(self):
        lib = self._serialization_lib()
        return lib.in_safe_mode() if lib is not None and hasattr(lib, "in_safe_mode") else None

    def restore(self):
        for live, saved in self.dicts:
            live.clear()
            live.update(saved)
        lib = self._serialization_lib()
        if lib is not None and self._safe_mode() != self.safe_mode:
            if hasattr(lib, "SAFE_MODE"):  # Keras 2
                lib.SAFE_MODE.safe_mode = self.safe_mode
            else:  # Keras 3 keeps it in its global state
                from keras.src.backend.common import global_state

                global_state.set_global_attribute("safe_mode_saving", self.safe_mode)
        if os.environ != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        sys.path[:] = self.path


def load_check(job):
    namespace = {"__name__": "tflint_save_snippet_%s" % job.get("code", ""), "__file__": job.get("snippet_path", ""),
                 **SNIPPET_HELPERS}
    exec(compile(job["snippet"], job.get("snippet_path") or "<snippet>", "exec"), namespace)
    check = namespace.get("check")
    if not callable(check):
        raise TypeError("the snippet defines no check(facts, workdir) function")
    return check


def run_job(job, keras):
    start = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="tflint-save-verify-")
    state = KerasState()
    cwd = os.getcwd()
    try:
        os.chdir(workdir)
        with warnings.catch_warnings():
            check = load_check(job)
            result = check(dict(job.get("facts") or {}), workdir)
        if not isinstance(result, dict) or result.get("status") not in STATUSES:
            status, evidence = "inconclusive", "the snippet returned %r, not a status" % (result,)
        else:
            status, evidence = result["status"], str(result.get("evidence", ""))
    except (Exception, SystemExit) as exc:
        status = "inconclusive"
        evidence = "the check itself failed: %s" % first_line(exc)
        traceback.print_exc()
    finally:
        os.chdir(cwd)
        state.restore()
        try:
            keras.backend.clear_session()
        except Exception:
            traceback.print_exc()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "id": job.get("id"),
        "status": status,
        "evidence": evidence[:MAX_EVIDENCE],
        "seconds": round(time.perf_counter() - start, 3),
    }


def quiet(tf):
    try:
        tf.get_logger().setLevel("ERROR")
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except Exception:
        pass


def serve():
    # The protocol keeps private copies of stdin/stdout; whatever a check prints (Python or
    # C++) goes to stderr, and a check that reads input gets end-of-file.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    jobs = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdin = open(os.devnull)

    def send(message):
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
        import keras
    except BaseException as exc:
        traceback.print_exc()
        send({"ready": False, "error": first_line(exc), "python": sys.executable})
        return 3
    quiet(tf)
    # TensorFlow's import leaves millions of objects; frozen, they no longer make every
    # garbage collection (clear_session() runs one after each check) cost a quarter second.
    gc.collect()
    gc.freeze()
    send({"ready": True, "tensorflow": tf.__version__, "keras": keras.__version__, "python": sys.executable})
    for line in jobs:
        if not line.strip():
            continue
        send(run_job(json.loads(line), keras))
    return 0


def main(argv):
    # Run by path, Python put this file's folder first on sys.path: it would shadow modules
    # named like tflint_save's own (config, source...) for the code the checks import.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    if argv[1:] == ["--probe"]:
        sys.stdout.write(json.dumps(probe()) + "\n")
        return 0
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
