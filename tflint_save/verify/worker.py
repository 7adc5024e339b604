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

import __future__
import ast
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
    """Run the user's definitions (``facts["source"]``) as a module; its namespace.  Annotations
    are compiled as strings (``from __future__ import annotations``): none is evaluated."""
    namespace = {"__name__": "user_code"}
    flags = __future__.annotations.compiler_flag
    exec(compile(facts.get("source", ""), "<user code>", "exec", flags=flags, dont_inherit=True), namespace)
    return namespace


# -- values proven literal ------------------------------------------------------------------
# Call-site arguments and other source text from the user's files are never passed to eval:
# only literals (and containers of them, negative numbers, a few named dtypes) become values;
# anything else makes the check inconclusive.

class NotLiteral(ValueError):
    """A value --verify will not evaluate: the reason, for 'inconclusive'."""


DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "bool", "string", "complex64", "complex128")
NAMED_CONSTANTS = {"%s%s" % (prefix, name): name for name in DTYPES
                   for prefix in ("tf.", "tensorflow.", "tf.dtypes.", "tensorflow.dtypes.")}


def _dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return base and "%s.%s" % (base, node.attr)
    return None


def literal_value(node, name=None):
    """The value of an expression node that runs nothing: a literal, a tuple/list/set/dict of
    them, a signed number, a named dtype (``tf.float32``); other dotted names through
    ``name(node)`` when given.  NotLiteral otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float, complex):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [literal_value(e, name) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values if isinstance(node, ast.List) else set(values)
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {literal_value(k, name): literal_value(v, name) for k, v in zip(node.keys, node.values)}
    dotted = _dotted(node)
    if dotted in NAMED_CONSTANTS:
        import tensorflow as tf

        return getattr(tf, NAMED_CONSTANTS[dotted])
    if dotted is not None and name is not None:
        return name(node)
    raise NotLiteral("%s is not a literal (--verify evaluates only literal values from your code)"
                     % (ast.unparse(node)[:80] if hasattr(ast, "unparse") else type(node).__name__))


def _call_node(text):
    try:
        tree = ast.parse("__call(%s)" % text, mode="eval")
    except SyntaxError:
        raise NotLiteral("the arguments %r could not be read" % (text[:80],)) from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "__call"):
        raise NotLiteral("the arguments %r could not be read" % (text[:80],))
    return call


def call_arguments(text, name=None):
    """``(args, kwargs)`` of the source text of a call's arguments (``16, activation="relu"``),
    each value proven literal (see literal_value); NotLiteral otherwise."""
    if not text.strip():
        return [], {}
    call = _call_node(text)
    args, kwargs = [], {}
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise NotLiteral("*%s is not a literal" % _dotted(arg.value))
        args.append(literal_value(arg, name))
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg in kwargs:
            raise NotLiteral("the arguments %r are not all literal keywords" % (text[:80],))
        kwargs[keyword.arg] = literal_value(keyword.value, name)
    return args, kwargs


def safe_value(text, namespace, calls=lambda function: False, lambdas=False, trusted=()):
    """The value of an expression from the user's file, evaluated without eval: literals;
    names of ``namespace`` and module attributes (``keras.layers.Lambda``), or attributes of the
    objects ``trusted`` names (the check's own), looked up; calls of
    what ``calls(function)`` allows, with such arguments; with ``lambdas``, a lambda whose
    defaults are literals (made, not called).  NotLiteral for anything else."""
    import types

    def name(node):
        if (node.id if isinstance(node, ast.Name) else node.attr).startswith("_"):
            raise NotLiteral("%s: private names are not looked up" % _dotted(node))
        if isinstance(node, ast.Name):
            if node.id not in namespace:
                raise NotLiteral("%s is not defined by the checked definitions" % node.id)
            return namespace[node.id]
        base = name(node.value)
        if not isinstance(base, types.ModuleType) and _dotted(node.value) not in trusted:
            raise NotLiteral("%s: only attributes of modules are looked up" % _dotted(node))
        return getattr(base, node.attr)

    def value(node):
        if isinstance(node, ast.Call):
            function = name(node.func) if _dotted(node.func) else None
            if function is None or not calls(function):
                raise NotLiteral("%s is not a call --verify makes" % (_dotted(node.func) or "the callee"))
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise NotLiteral("*args/**kwargs are not evaluated")
            return function(*[value(a) for a in node.args], **{k.arg: value(k.value) for k in node.keywords})
        if isinstance(node, ast.Lambda) and lambdas:
            literal_value(ast.Tuple(node.args.defaults + [d for d in node.args.kw_defaults if d], ast.Load()))
            code = compile(ast.fix_missing_locations(ast.Expression(node)), "<user code>", "eval")
            return eval(code, dict(namespace))  # makes the function; its body runs only when called
        return literal_value(node, name)

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise NotLiteral("%r could not be read" % (text[:80],)) from None
    return value(tree.body)


def keras_in_use():
    """The Keras ``tf.keras`` code runs with: tf_keras (Keras 2) under TF_USE_LEGACY_KERAS."""
    import keras

    if os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True"):
        import tensorflow as tf

        return tf.keras
    return keras


def keras_value(text, namespace, lambdas=False):
    """safe_value() where the calls allowed are those of Keras layer, metric, loss and optimizer
    classes (``keras.metrics.Accuracy(name="acc")``): for the expressions rules record."""
    import keras

    bases = tuple(getattr(getattr(k, family), name) for k in (keras, keras_in_use())
                  for family, name in (("layers", "Layer"), ("metrics", "Metric"), ("losses", "Loss"),
                                       ("optimizers", "Optimizer")))
    return safe_value(text, namespace, calls=lambda f: isinstance(f, type) and issubclass(f, bases), lambdas=lambdas)


def construct(namespace, name, call_args="", extra=""):
    """An instance of the user's class ``name`` from ``namespace``, built with ``call_args`` (the
    source text of the arguments seen at a call site) followed by ``extra``: both must be literal
    (call_arguments), or NotLiteral is raised and nothing is called."""
    args, kwargs = call_arguments(call_args)
    more_args, more_kwargs = call_arguments(extra)
    clash = set(kwargs) & set(more_kwargs)
    if clash:
        raise TypeError("%s() got multiple values for %s" % (name, ", ".join(sorted(clash))))
    return namespace[name](*(list(args) + list(more_args)), **dict(kwargs, **more_kwargs))


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
                                           keras_round_trip, call_arguments, safe_value, keras_value)}
SNIPPET_HELPERS["NotLiteral"] = NotLiteral


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


def sandbox(limits):
    """Limits on this process (the parent also gives it its own process group, directory and
    HOME): address space, open files, and CPU time (set again before each job)."""
    try:
        import resource
    except ImportError:  # not on POSIX: no limits
        return
    for name, key in (("RLIMIT_AS", "memory"), ("RLIMIT_NOFILE", "files")):
        value = limits.get(key)
        if value and hasattr(resource, name):
            kind = getattr(resource, name)
            hard = resource.getrlimit(kind)[1]
            value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
            try:
                resource.setrlimit(kind, (value, value))
            except (ValueError, OSError):
                pass


def cpu_budget(seconds):
    """SIGXCPU ends this worker once a job has used ``seconds`` more CPU time: a stuck check
    stops even if the parent is gone and cannot kill it."""
    try:
        import resource
    except ImportError:
        return
    if seconds:
        used = resource.getrusage(resource.RUSAGE_SELF)
        total = int(used.ru_utime + used.ru_stime + seconds) + 1
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            total = min(total, hard)
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (total, hard))
        except (ValueError, OSError):
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
    # The first line: the run's token, which every answer carries, and the limits.
    try:
        limits = json.loads(jobs.readline() or "{}")
    except ValueError:
        limits = {}
    token = limits.get("token")
    sandbox(limits)

    def send(message):
        answers.write(json.dumps(dict(message, token=token)) + "\n")
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
        cpu_budget(limits.get("cpu_per_job"))
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
