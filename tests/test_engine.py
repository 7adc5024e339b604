"""The engine: resolver, positions, suppression, bad input, rule errors."""

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from helpers import codes, lint
from tflint_save.analysis import Analysis
from tflint_save.engine import Rule, lint_text
from tflint_save.names import Resolver
from tflint_save.nodes import walk as nodes_walk
from tflint_save.positions import positions


class Probe(Rule):
    """Records what the resolver says about every called name."""

    code = "TFS999"
    seen = []

    def visit_Call(self, node):
        Probe.seen.append((cst.Module([]).code_for_node(node.func), sorted(self.ctx.names(node.func)), self.ctx.keras))


def resolve(source, path="probe.py"):
    Probe.seen = []
    lint_text(path, textwrap.dedent(source), [Probe], 3)
    return {code: names for code, names, _ in Probe.seen}


@pytest.mark.parametrize(
    "source, call, expected",
    [
        ("import tensorflow as tf\ntf.keras.models.load_model('m')", "tf.keras.models.load_model", ["keras.saving.load_model"]),
        ("from tensorflow import keras\nkeras.layers.Dense(1)", "keras.layers.Dense", ["keras.layers.Dense"]),
        ("import keras\nkeras.saving.load_model('m')", "keras.saving.load_model", ["keras.saving.load_model"]),
        ("from tensorflow.keras.models import load_model as lm\nlm('m')", "lm", ["keras.saving.load_model"]),
        ("import tensorflow.keras as K\nK.layers.Dense(1)", "K.layers.Dense", ["keras.layers.Dense"]),
        ("import tensorflow\ntensorflow.keras.layers.Dense(1)", "tensorflow.keras.layers.Dense", ["keras.layers.Dense"]),
        ("from keras.src.layers.core.dense import Dense\nDense(1)", "Dense", ["keras.layers.Dense"]),
        ("import keras\nkeras.Model()", "keras.Model", ["keras.models.Model"]),
        ("from tensorflow.python.keras.engine.base_layer import Layer\nLayer()", "Layer", ["keras.layers.Layer"]),
        ("import tensorflow as tf\nK = tf.keras\nK.layers.Dense(1)", "K.layers.Dense", ["keras.layers.Dense"]),
        ("import keras\nimport numpy as np\nnp.save('x', 1)", "np.save", ["numpy.save"]),
        ("import keras\nload_model('m')", "load_model", []),
    ],
)
def test_resolver_forms(source, call, expected):
    assert resolve(source)[call] == expected


def test_try_except_fallback_keeps_every_candidate():
    found = resolve(
        """
        try:
            from tensorflow.keras.models import load_model
        except ImportError:
            from mylib.io import load_model
        load_model("m")
        """
    )
    assert found["load_model"] == ["keras.saving.load_model", "mylib.io.load_model"]


def test_parameters_and_locals_shadow_imports():
    found = resolve(
        """
        import tensorflow as tf
        import keras

        def f(tf):
            tf.keras.layers.Dense(1)

        def g():
            keras = make_fake()
            keras.layers.Conv2D(1)

        lam = lambda tf: tf.keras.layers.Flatten()
        tf.keras.layers.Dropout(0.1)
        keras.layers.ReLU()
        """
    )
    assert found["tf.keras.layers.Dense"] == []
    assert found["keras.layers.Conv2D"] == []
    assert found["tf.keras.layers.Flatten"] == []
    assert found["tf.keras.layers.Dropout"] == ["keras.layers.Dropout"]
    assert found["keras.layers.ReLU"] == ["keras.layers.ReLU"]


def test_the_resolver_answers_again_once_its_tables_change():
    # names() is remembered per node (every rule asks about each call); a rule that asks about a
    # node again later, after a rebinding, must get the new answer.
    module = cst.parse_module("import keras\nkeras.layers.Dense(1)\n")
    resolver = Resolver("probe.py")
    resolver.add_import(module.body[0].body[0])
    func = module.body[1].body[0].value.func
    assert resolver.names(func) == {"keras.layers.Dense"}
    resolver.push("function", ["keras"])
    assert resolver.names(func) == set()
    resolver.pop()
    assert resolver.names(func) == {"keras.layers.Dense"}
    resolver.rebind("keras", cst.parse_expression("make_fake()"))
    assert resolver.names(func) == set()


def test_imports_inside_functions_and_class_scope():
    found = resolve(
        """
        class Holder:
            import keras as kk
            def method(self):
                kk.layers.Dense(1)

        def build():
            from tensorflow import keras as local_keras
            local_keras.layers.Dense(2)
        """
    )
    assert found["kk.layers.Dense"] == []  # class bodies are not visible in methods
    assert found["local_keras.layers.Dense"] == ["keras.layers.Dense"]


def test_tf_keras_files_are_keras_2():
    Probe.seen = []
    lint_text("p.py", "import tf_keras as keras\nkeras.layers.Dense(1)\n", [Probe], 3)
    assert Probe.seen == [("keras.layers.Dense", ["keras.layers.Dense"], 2)]


POSITION_SAMPLE = '''\
import tensorflow as tf  # comment é
\t
@decorator(arg=tf.keras.layers.Dense(3))
def f(x,
      y=tf.keras.layers.Dense(
          4, activation="relu")):
    """doc ü"""
    return (tf.keras.models.load_model(
        "m.keras"))

value = [tf.cast(p, tf.int32) for p in data]; other = f"{g(1)}"
if __name__ == "__main__":
    class A(tf.keras.layers.Layer): pass
'''


def test_positions_match_libcst_position_provider():
    module = cst.parse_module(POSITION_SAMPLE)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    wanted = [n for n in expected if isinstance(n, (cst.Call, cst.ClassDef, cst.FunctionDef, cst.SimpleStatementLine, cst.Name))]
    got = positions(module, wanted)
    assert len(wanted) > 20
    for node in wanted:
        r = expected[node]
        assert got[id(node)] == (r.start.line, r.start.column + 1, r.end.line, r.end.column + 1), node


DEFINITIONS_SAMPLE = '''\
import tensorflow as tf


@tf.keras.utils.register_keras_serializable()
class Scale(tf.keras.layers.Layer):  # é in a comment
    def __init__(self, s=1.0, **kw):
        super().__init__(**kw); self.s = s  # trailing

    async def later(self):
        pass
try:
    class Inner: pass
except ImportError:
    def fallback(): return "ü"
finally:
    x = 1
if x:
    def g():
        class Deep(tf.keras.Model):
            v = "€€"
    def h(): return 1
'''


@pytest.mark.parametrize("tail, fast", [("", True), ("    # a comment the block may own\nz = 2\n", False)])
def test_definitions_placed_from_cpython_tree_as_the_code_generation_places_them(tail, fast):
    import ast

    from tflint_save import positions as positions_mod

    text = DEFINITIONS_SAMPLE + tail
    module = cst.parse_module(text)
    wanted = [n for n in nodes_walk(module) if isinstance(n, (cst.ClassDef, cst.FunctionDef))]
    assert len(wanted) == 8
    generated = positions(module, wanted)
    assert generated[id(wanted[1])][2:] == (7, 55)  # __init__ ends after its last line's comment
    got = positions_mod._definitions(module, wanted, text, ast.parse(text))
    assert (got is not None) == fast  # comment lines after a block: the code generation decides
    assert positions(module, wanted, text, ast.parse(text)) == generated


@pytest.mark.parametrize("text", [
    POSITION_SAMPLE,
    DEFINITIONS_SAMPLE,
    DEFINITIONS_SAMPLE.rstrip("\n"),  # the last statement without its newline
    POSITION_SAMPLE.replace("\n", "\r\n"),
    "import keras\n\f\nm = keras.Sequential()  # x\n\n# the footer\n",
])
def test_statements_placed_alone_as_the_module_code_generation_places_them(text):
    import ast

    from tflint_save import positions as positions_mod

    module = cst.parse_module(text)
    tops = {id(n): top for top in module.body for n in nodes_walk(top)}
    wanted = [n for n in nodes_walk(module) if isinstance(n, (cst.Call, cst.Name, cst.SimpleStatementLine, cst.If))]
    generated = positions(module, wanted)
    alone = positions_mod._in_statements(module, {id(n) for n in wanted}, text, ast.parse(text), tops)
    assert alone == generated


def test_statements_placed_alone_only_when_the_trees_agree():
    import ast

    from tflint_save import positions as positions_mod

    text = "import keras\nm = keras.Sequential()\nm.save('m.keras')\n"
    module = cst.parse_module(text)
    call = module.body[2].body[0].value
    assert positions_mod._in_statements(module, {id(call)}, text, ast.parse(text), {id(call): module.body[2]})
    # A node said to be in another statement is not met there: the caller generates the module.
    assert positions_mod._in_statements(module, {id(call)}, text, ast.parse(text), {id(call): module.body[1]}) is None
    lone = text.replace("\nm.save", "\rm.save")  # a lone \r: CPython counts a line that the text split does not
    module = cst.parse_module(lone)
    call = module.body[2].body[0].value
    assert positions_mod._in_statements(module, {id(call)}, lone, ast.parse(lone), {id(call): module.body[2]}) is None


UNSAFE = 'import keras\nm = keras.models.load_model("m.keras", safe_mode=False)'


def test_noqa_all_codes_and_prefixes():
    assert codes(lint(UNSAFE)) == [("TFS203", 2)]
    assert lint(UNSAFE + "  # noqa") == []
    assert lint(UNSAFE + "  # noqa: TFS203") == []
    assert lint(UNSAFE + "  # NOQA:TFS2") == []
    assert lint(UNSAFE + "  # noqa: TFS101, TFS2") == []
    assert codes(lint(UNSAFE + "  # noqa: TFS1")) == [("TFS203", 2)]


def test_noqa_is_read_from_the_reported_line_after_a_form_feed():
    # str.splitlines() also breaks at \f; line numbers count only newlines.
    source = 'import keras\n# page\fbreak\n' + UNSAFE.split("\n")[1]
    assert codes(lint(source)) == [("TFS203", 3)]
    assert lint(source + "  # noqa: TFS203") == []


def test_noqa_on_first_line_of_multiline_statement():
    source = 'import keras\nm = keras.models.load_model(  # noqa: TFS203\n    "m.keras",\n    safe_mode=False,\n)\n'
    assert lint(source) == []
    assert codes(lint(source.replace("  # noqa: TFS203", ""))) == [("TFS203", 4)]


def test_file_level_noqa():
    assert lint("# tflint-save: noqa\n" + UNSAFE) == []
    assert lint("# tflint-save: noqa: TFS203\n" + UNSAFE) == []
    assert codes(lint("# tflint-save: noqa: TFS1\n" + UNSAFE)) == [("TFS203", 3)]
    # Inside a string it is not a comment line.
    assert codes(lint('x = """\n# tflint-save: noqa is text\n"""\n' + UNSAFE)) == [("TFS203", 5)]


def test_syntax_error_is_tfs001_with_its_line():
    found = lint("import keras\n\nx = = 1\n")
    assert [(f.code, f.line, f.col) for f in found] == [("TFS001", 3, 5)]
    assert found[0].message.startswith("could not parse file:")


class Exploding(Rule):
    code = "TFS203"

    def visit_Call(self, node):
        raise ValueError("boom")


def test_rule_exception_is_tfs002_and_other_rules_still_run():
    from tflint_save.checks.loading import TFS204

    source = 'import keras\nm = keras.models.load_model("m.keras", compile=False)\nm.fit(x, y)\n'
    result = lint_text("x.py", source, [Exploding, TFS204], 3)
    assert [(f.code, f.line) for f in result.findings] == [("TFS002", 2), ("TFS204", 3)]
    assert "internal error in TFS203 Exploding (please report): ValueError: boom" in result.findings[0].message
    assert result.error


class Calls(Analysis):
    """Counts calls; a shared analysis for the tests below."""

    made = 0

    def __init__(self, ctx):
        super().__init__(ctx)
        Calls.made += 1
        self.seen = []

    def visit_Call(self, node):
        self.seen.append(node)


class FirstReader(Rule):
    code = "TFS203"
    uses = (Calls,)

    def visit_Call(self, node):
        # The analysis has seen this call already: it gets each node before any rule.
        assert self.ctx.analysis(Calls).seen[-1] is node

    def finish(self):
        self.ctx.report(self.ctx.module, self.code, f"{len(self.ctx.analysis(Calls).seen)} calls")


class SecondReader(FirstReader):
    code = "TFS204"


def test_an_analysis_is_made_once_per_file_and_sees_each_node_before_its_rules():
    Calls.made = 0
    result = lint_text("x.py", "import keras\nkeras.f(g(1))\n", [FirstReader, SecondReader], 3)
    assert Calls.made == 1
    assert [(f.code, f.message) for f in result.findings] == [("TFS203", "2 calls"), ("TFS204", "2 calls")]
    assert not result.error


class Broken(Calls):
    def visit_Call(self, node):
        raise ValueError("boom")


class BrokenReader(FirstReader):
    uses = (Broken,)


def test_an_analysis_that_fails_stops_what_reads_it_and_nothing_else():
    from tflint_save.checks.loading import TFS204

    source = 'import keras\nm = keras.models.load_model("m.keras", compile=False)\nm.fit(x, y)\n'
    result = lint_text("x.py", source, [BrokenReader, TFS204], 3)
    assert [(f.code, f.line) for f in result.findings] == [("TFS002", 2), ("TFS204", 3)]
    assert "internal error in the analysis Broken (please report): ValueError: boom" in result.findings[0].message
    assert result.error


def test_files_without_keras_words_are_not_parsed_by_libcst(monkeypatch):
    import libcst

    def refuse(text):
        raise AssertionError("libcst parsed a file no rule can care about")

    monkeypatch.setattr(libcst, "parse_module", refuse)
    assert lint("def f(x):\n    return x\n") == []


def test_syntax_errors_are_reported_in_every_file():
    # CPython's parser sees every file first: what Python will not run is TFS001, keras or not.
    assert [(f.code, f.line, f.message) for f in lint("def f(:\n")] == [
        ("TFS001", 1, "could not parse file: invalid syntax")]


def test_scripts_that_only_use_project_models_are_still_linted(tmp_path):
    from helpers import lint_files

    files = {
        "models.py": "import keras\nclass Net(keras.Model):\n    def call(self, x):\n        return x\n",
        "train.py": "from models import Net\nnet = Net()\nnet.save('net.h5')\n",
    }
    found = [(f.code, f.path.rsplit("/", 1)[-1]) for f in lint_files(files, str(tmp_path))]
    assert ("TFS306", "train.py") in found


def test_a_loop_or_comprehension_variable_is_not_the_value_the_name_held_before():
    # p held probabilities before the loop; inside it, p is each element of hard_predictions.
    loop = """
import tensorflow as tf
acc = tf.keras.metrics.Accuracy()
p = tf.nn.sigmoid(z)
for p in hard_predictions:
    acc.update_state(y, p)
"""
    assert lint(loop) == []
    assert codes(lint(loop.replace("for p in hard_predictions:", "for q in hard_predictions:"))) == [("TFS401", 6)]
    comprehension = """
import tensorflow as tf
p = tf.nn.sigmoid(z)
classes = [tf.cast(p, tf.int32) for p in label_batches]
"""
    assert lint(comprehension) == []
    assert codes(lint(comprehension.replace("for p in", "for q in"))) == [("TFS407", 4)]
