"""What a path expression evaluates to (pathvalues): literals, constants, f-strings, joins,
pathlib, and the defaults of argparse, absl and click options; what stays unknown."""

import ast
import textwrap

import libcst as cst
import pytest

from tflint_save import engine, pathvalues
from tflint_save.pathvalues import PathValue


class Probe(engine.Rule):
    """Reports what ``probe(expression)`` evaluates to, at the place it is called."""

    code = "TFS999"

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "probe":
            found = pathvalues.evaluate(node.args[0].value, self.ctx)
            self.ctx.report(node, self.code, repr(found))


def value(source: str):
    """What the last probe() of ``source`` evaluated to."""
    result = engine.lint_text("train.py", "import keras\n" + textwrap.dedent(source), [Probe], keras=3)
    messages = [f.message for f in result.findings if f.code == "TFS999"]
    assert messages, [(f.code, f.message) for f in result.findings]
    return eval(messages[-1], {"PathValue": PathValue})


ARGPARSE = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument({argument})
args = parser.parse_args()
probe(args.model_path)
"""


@pytest.mark.parametrize("source, expected", [
    ("probe('runs/model.keras')", PathValue("runs/model.keras", True, True)),
    ("MODEL = 'best.h5'\nprobe(MODEL)", PathValue("best.h5", True, True)),
    ("def main():\n    path = 'm.keras'\n    probe(path)", PathValue("m.keras", True, True)),
    ("probe(f'{out_dir}/model_{epoch}.keras')", PathValue(".keras", False, False)),
    ("probe(f'{out_dir}/model.keras')", PathValue("/model.keras", True, False)),
    ("probe(out_dir + '/model.h5')", PathValue("/model.h5", True, False)),
    ("probe(name + '.h5')", PathValue(".h5", False, False)),
    ("probe('model_%d.h5' % epoch)", PathValue(".h5", False, False)),
    ("probe('ckpt/model_{}.weights.h5'.format(epoch))", PathValue(".weights.h5", False, False)),
    ("import os\nCKPT_DIR = 'checkpoints'\nprobe(os.path.join(CKPT_DIR, 'model.keras'))",
     PathValue("checkpoints/model.keras", True, True)),
    ("import os\nprobe(os.path.join(args_dir, 'model.keras'))", PathValue("/model.keras", True, False)),
    ("from pathlib import Path\nprobe(Path(root) / 'models' / 'best.h5')", PathValue("/best.h5", True, False)),
    ("from pathlib import Path\nprobe(Path(root).joinpath('w.weights.h5'))", PathValue("/w.weights.h5", True, False)),
    ("from pathlib import Path\nprobe(str(Path('out/model.h5').with_suffix('.keras')))",
     PathValue("out/model.keras", True, True)),
    ("probe(path.with_suffix('.keras'))", PathValue(".keras", False, False)),
    ("import os\nprobe(os.path.abspath('m.keras'))", PathValue("m.keras", True, True)),
])
def test_expressions(source, expected):
    assert value(source) == expected


@pytest.mark.parametrize("argument, expected", [
    ("'--model-path', default='checkpoints/model.keras'", PathValue("checkpoints/model.keras", True, True)),
    ("'-m', '--model-path', type=str, default='model.h5', help='where'", PathValue("model.h5", True, True)),
    ("'--model_path', default=os.path.join(OUT, 'model.keras')", PathValue("runs/model.keras", True, True)),
    ("'--model_path', default=os.path.join(os.environ['HOME'], 'model.keras')", PathValue("/model.keras", True, False)),
    ("'--model_path', default=OUT + '/model.keras'", PathValue("runs/model.keras", True, True)),
    ("'--path', dest='model_path', default='m.keras'", PathValue("m.keras", True, True)),
    ("'model_path', nargs='?', default='m.keras'", PathValue("m.keras", True, True)),
    ("'--model-path', type=pathlib.Path, default='m.keras'", PathValue("m.keras", True, True)),
    # A SavedModel directory is a value too: its extension is none.
    ("'--model-path', default='export/saved_model'", PathValue("export/saved_model", True, True)),
])
def test_argparse_defaults(argument, expected):
    source = "import os, pathlib\nOUT = 'runs'\n" + ARGPARSE.format(argument=argument)
    assert value(source) == expected


@pytest.mark.parametrize("argument", [
    "'--model-path'",  # no default, and nothing else says what it is
    "'--model-path', default=None",
    "'--model-path', required=True, default='m.keras'",
    "'--model-path', type=resolve_path, default='m.keras'",  # what resolve_path returns is not known
    "'--model-path', nargs='+', default=['m.keras']",
    "'--model-path', action='append', default='m.keras'",
    "'model_path', default='m.keras'",  # a positional argument must be given
    "'--model-path', default=DEFAULTS['model']",
    "'--model-path', **extra",
])
def test_argparse_unknown(argument):
    assert value(ARGPARSE.format(argument=argument)) is None


@pytest.mark.parametrize("change", [
    "if args.resume:\n    args.model_path = 'export/saved_model'",  # overridden on a branch
    "parser.set_defaults(model_path='export')",
    "setattr(args, 'model_path', os.environ['MODEL'])",
    "parser.add_argument('--model_path', default='other.h5')",  # two parsers disagree
])
def test_argparse_value_the_module_changes_is_unknown(change):
    source = ARGPARSE.format(argument="'--model-path', default='m.keras'").replace(
        "probe(", change + "\nprobe(")
    assert value(source) is None


def test_argparse_value_read_in_a_function_that_takes_args():
    source = """
    import argparse

    def main(args):
        probe(args.model_path)

    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("--model_path", default="model.keras")
        main(parser.parse_args())
    """
    assert value(source) == PathValue("model.keras", True, True)


@pytest.mark.parametrize("source", [
    # Not what parse_args() returned: another object with an attribute of the same name.
    "import argparse\np = argparse.ArgumentParser()\np.add_argument('--model_path', default='m.keras')\n"
    "cfg = load_config()\nprobe(cfg.model_path)",
    "import argparse\np = argparse.ArgumentParser()\np.add_argument('--model_path', default='m.keras')\n"
    "class T:\n    def run(self):\n        probe(self.model_path)",
])
def test_other_attributes_are_not_options(source):
    assert value(source) is None


ABSL = """
from absl import app, flags

flags.DEFINE_string("model_path", {default}, help="Where the model is.")
FLAGS = flags.FLAGS

def main(argv):
    probe({read})
{more}
app.run(main)
"""


@pytest.mark.parametrize("default, read, expected", [
    ("'gs://bucket/model.keras'", "FLAGS.model_path", PathValue("gs://bucket/model.keras", True, True)),
    ("default='m.h5'", "flags.FLAGS.model_path", PathValue("m.h5", True, True)),
    ("None", "FLAGS.model_path", None),
])
def test_absl_flags(default, read, expected):
    assert value(ABSL.format(default=default, read=read, more="")) == expected


def test_absl_required_flag_is_unknown():
    source = ABSL.format(default="'m.keras'", read="FLAGS.model_path",
                         more="flags.mark_flag_as_required('model_path')")
    assert value(source) is None


CLICK = """
import click

@click.command()
@click.option({option})
def train(out, epochs=1):
    probe(out)
"""


@pytest.mark.parametrize("option, expected", [
    ("'--out', default='model.keras'", PathValue("model.keras", True, True)),
    ("'-o', '--out', type=click.Path(), default='artifacts/model.h5'", PathValue("artifacts/model.h5", True, True)),
    ("'--output', 'out', default='m.keras'", PathValue("m.keras", True, True)),
    ("'--out'", None),
    ("'--out', default=None", None),
    ("'--out', required=True, default='m.keras'", None),
    ("'--out', multiple=True, default=['m.keras']", None),
    ("'--out', type=int, default='m.keras'", None),
])
def test_click_options(option, expected):
    assert value(CLICK.format(option=option)) == expected


def test_click_option_of_another_function_is_not_this_parameter():
    source = CLICK.format(option="'--out', default='m.keras'").replace("def train(out", "def other(out") + \
        "\ndef train2(out):\n    probe(out)\n"
    assert value(source) is None


@pytest.mark.parametrize("path, extension", [
    (PathValue("m.keras", True, True), ".keras"),
    (PathValue("/best.weights.h5", True, False), ".weights.h5"),
    (PathValue("model.h5", True, True), ".h5"),
    (PathValue(".h5", False, False), None),  # f"{name}.h5" may be "x.weights.h5"
    (PathValue("_best.h5", False, False), ".h5"),  # "..._best.h5" is never "x.weights.h5"
    (PathValue(".weights.h5", False, False), ".weights.h5"),
    (PathValue(".keras", False, False), ".keras"),
    (PathValue("export/saved_model", True, True), ""),  # a SavedModel directory, or a checkpoint prefix
    (PathValue("export/1/", True, True), ""),
    (PathValue("/model.tf", True, False), ".tf"),
    (PathValue("_model", False, False), None),
])
def test_extension(path, extension):
    assert path.extension == extension


def test_read_options_is_the_reader_of_the_program_model_too():
    tree = ast.parse(textwrap.dedent("""
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--out", default="runs/m.keras")
        parser.add_argument("--data", required=True)
    """))
    options = pathvalues.read_options(tree)
    assert options.attribute("args", "out") == PathValue("runs/m.keras", True, True)
    assert options.attribute("args", "data") is None
    assert options.attribute("self", "out") is None
    assert pathvalues.read_options(ast.parse("x = 1\n")) is pathvalues.NO_OPTIONS
