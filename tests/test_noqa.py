"""# noqa directives: unknown codes are a warning; TFS003 (opt-in) reports those that silence nothing."""

import os
import subprocess
import sys
import textwrap

from helpers import lint
from tflint_save import catalog, config, noqa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAVE = "import keras\n\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
WITH_003 = ["ALL", "TFS003"]


def unused(text, keras=3, select=None):
    return [(f.line, f.col, f.message) for f in lint(text, keras=keras, select=select or WITH_003)
            if f.code == "TFS003"]


def test_tfs003_is_opt_in():
    text = SAVE + 'model.save("m.keras")  # noqa: TFS501\n'
    assert [f.code for f in lint(text)] == []  # the default selection, ALL, leaves it out
    assert [f.code for f in lint(text, select=["TFS"])] == []
    assert [f.code for f in lint(text, select=["TFS0", "TFS5"])] == ["TFS003"]
    assert [f.code for f in lint(text, select=WITH_003)] == ["TFS003"]
    assert config.OPT_IN == tuple(code for code, e in catalog.every_entry().items() if e.opt_in)


def test_tfs003_reports_a_code_that_silences_nothing_at_the_comment():
    [(line, col, message)] = unused(SAVE + 'model.save("m.keras")  # noqa: TFS501\n')
    assert (line, col) == (4, 24)
    assert message == ("unused `# noqa` directive for TFS501: no TFS501 finding is reported on this line; "
                       "remove it from the comment")


def test_tfs003_leaves_used_blanket_foreign_and_prefix_directives_alone():
    used = SAVE + 'model.save("exported")  # noqa: TFS501\n'
    assert unused(used) == []
    assert unused(SAVE + 'model.save("m.keras")  # noqa\n') == []  # may serve flake8 or ruff
    assert unused(SAVE + 'model.save("m.keras")  # noqa: E501\n') == []  # another tool's code
    assert unused(SAVE + 'model.save("m.keras")  # noqa: TFS5\n') == []  # a prefix: not judged
    # Only the idle code of a directive is named.
    [(_, _, message)] = unused(SAVE + 'model.save("exported")  # noqa: TFS501, TFS203, E501\n')
    assert "directive for TFS203:" in message


def test_tfs003_does_not_judge_rules_that_did_not_run():
    text = SAVE + 'model.save("m.keras")  # noqa: TFS501\n'
    assert unused(text, keras=2) == []  # TFS501 is a Keras 3 rule
    assert unused(text, select=["TFS1", "TFS003"]) == []  # TFS501 not selected


def test_tfs003_counts_a_statement_first_line_directive_as_used():
    text = SAVE + 'model.save(  # noqa: TFS501\n    "exported",\n)\n'
    assert [f.code for f in lint(text, select=WITH_003)] == []


def test_tfs003_whole_file_directive():
    text = "# tflint-save: noqa: TFS501\n" + SAVE + 'model.save("m.keras")\n'
    [(line, col, message)] = unused(text)
    assert (line, col) == (1, 1) and "`# tflint-save: noqa` directive for TFS501" in message and "in this file" in message
    assert unused("# tflint-save: noqa: TFS501\n" + SAVE + 'model.save("exported")\n') == []
    assert unused("# tflint-save: noqa\n" + SAVE + 'model.save("m.keras")  # noqa: TFS501\n') == []


def test_tfs003_can_itself_be_silenced_on_the_line():
    assert unused(SAVE + 'model.save("m.keras")  # noqa: TFS501, TFS003\n') == []


def test_unknown_codes_of_ours_are_found_others_are_not():
    known = ["TFS001", "TFS101", "TFS501"]
    text = textwrap.dedent("""\
        # tflint-save: noqa: TFS9, E501
        x = 1  # noqa: TFS999, TFS1, E501, F401
        y = 2  # noqa
        z = 3  # NOQA:tfs5019
    """)
    assert noqa.unknown_codes(text, known) == [(1, "TFS9"), (1, "E501"), (2, "TFS999"), (4, "TFS5019")]


def run_cli(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tflint_save", "--keras-version", "3", *args], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)


def test_unknown_code_in_noqa_is_a_warning_naming_it(tmp_path):
    (tmp_path / "m.py").write_text(SAVE + 'model.save("exported")  # noqa: TFS999, E501\n')
    result = run_cli(tmp_path, "m.py")
    assert result.returncode == 1 and "TFS501" in result.stdout  # TFS999 silences nothing
    assert result.stderr == ("tflint-save: warning: m.py:4: unknown rule code TFS999 in a # noqa comment; "
                             "run 'tflint-save --list-rules' to see every code\n")
    # Again from the cache: the warning is kept with the file's result.
    assert run_cli(tmp_path, "m.py").stderr == result.stderr
    assert run_cli(tmp_path, "m.py", "--quiet").stderr == ""


def test_extend_select_turns_tfs003_on_from_the_command_line(tmp_path):
    (tmp_path / "m.py").write_text(SAVE + 'model.save("m.keras")  # noqa: TFS501\n')
    assert run_cli(tmp_path, "m.py").returncode == 0
    result = run_cli(tmp_path, "m.py", "--extend-select", "TFS003")
    assert result.returncode == 1 and result.stdout.startswith("m.py:4:24: TFS003 unused `# noqa` directive")
