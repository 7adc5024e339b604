"""Configuration as ruff does it: the closest configuration per file, extend, --config, how the
command line combines with it, .gitignore.  Run as a user runs it (a subprocess), except the
rule-selection table, which checks config.enabled_by against cases run through ruff 0.17.6."""

import os

import pytest

from test_cli import BAD, cli, write
from tflint_save import config

# TFS203 in BAD (safe_mode=False), TFS202 in DIR (a path without an extension, Keras 3).
DIR = 'import keras\nm = keras.models.load_model("saved_dir")\n'
BOTH = BAD + 'm2 = keras.models.load_model("saved_dir")\n'


def codes(result):
    """{path: sorted codes} of a run's concise output."""
    out = {}
    for line in result.stdout.splitlines():
        path, rest = line.split(":", 1)
        out.setdefault(path.replace(os.sep, "/"), []).append(rest.split(": ", 1)[1].split()[0])
    return {path: sorted(found) for path, found in out.items()}


def isolated(tmp_path):
    """An environment whose git configuration (global excludes) is the test's own."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


# -- which configuration a file uses ------------------------------------------------------------

def test_each_file_uses_its_closest_configuration(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS203"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS202"]\n')
    write(tmp_path / "a.py", BOTH)
    write(tmp_path / "sub" / "deep" / "b.py", BOTH)
    result = cli("--no-cache", ".", cwd=tmp_path)
    assert codes(result) == {"a.py": ["TFS202"], "sub/deep/b.py": ["TFS203"]}, result.stderr
    # The same from inside the sub-project, and for a file named outside the current directory.
    assert codes(cli("--no-cache", ".", cwd=tmp_path / "sub")) == {"deep/b.py": ["TFS203"]}
    outside = cli("--no-cache", os.path.join("..", "a.py"), cwd=tmp_path / "sub")
    assert codes(outside) == {"../a.py": ["TFS202"]}


def test_a_pyproject_without_our_table_is_skipped(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS203"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "sub"\ndependencies = ["tflint-save"]\n')
    write(tmp_path / "sub" / "b.py", BAD)
    assert cli("--no-cache", ".", cwd=tmp_path).stdout == ""


@pytest.mark.parametrize("present, used", [
    ((".tflint-save.toml", "tflint-save.toml", "pyproject.toml"), ".tflint-save.toml"),
    (("tflint-save.toml", "pyproject.toml"), "tflint-save.toml"),
    (("pyproject.toml",), "pyproject.toml"),
])
def test_in_one_directory_the_dot_file_then_tflint_save_toml_then_pyproject(tmp_path, present, used):
    # ruff's order: .ruff.toml, ruff.toml, pyproject.toml. Each file ignores a different code.
    bodies = {".tflint-save.toml": 'ignore = ["TFS203"]\n', "tflint-save.toml": 'ignore = ["TFS202"]\n',
              "pyproject.toml": '[tool.tflint-save]\nignore = ["TFS2"]\n'}
    for name in present:
        write(tmp_path / name, bodies[name])
    write(tmp_path / "m.py", BOTH)
    result = cli("--no-cache", "--show-settings", "m.py", cwd=tmp_path)
    assert f"config file: {tmp_path / used}\n" in result.stdout, result.stdout + result.stderr


def test_tflint_save_toml_takes_top_level_keys_and_rejects_a_tool_table(tmp_path):
    write(tmp_path / "tflint-save.toml", '[tool.tflint-save]\nignore = ["TFS203"]\n')
    write(tmp_path / "m.py", BAD)
    result = cli("m.py", cwd=tmp_path)
    assert result.returncode == 2 and "tflint-save.toml: unknown key 'tool'" in result.stderr, result.stderr


def test_extend_inherits_and_adds_as_ruff_does(tmp_path):
    write(tmp_path / "pyproject.toml", """
        [tool.tflint-save]
        ignore = ["TFS203"]
        keras-version = 3
        extend-exclude = ["sub/generated"]
        per-file-ignores = {"sub/scripts/*" = ["TFS202"]}
    """)
    # The child re-enables TFS203 (its layer comes after the base's) and adds an exclusion.
    write(tmp_path / "sub" / "tflint-save.toml",
          'extend = "../pyproject.toml"\nextend-select = ["TFS203"]\nextend-exclude = ["old"]\n')
    for rel in ("sub/m.py", "sub/scripts/s.py", "sub/generated/g.py", "sub/old/o.py", "top.py"):
        write(tmp_path / rel, BOTH)
    result = cli("--no-cache", ".", cwd=tmp_path)
    # The base's globs stay relative to the base's directory: sub/generated, sub/scripts/*.
    assert codes(result) == {"sub/m.py": ["TFS202", "TFS203"], "sub/scripts/s.py": ["TFS203"],
                             "top.py": ["TFS202"]}, result.stdout + result.stderr
    shown = cli("--show-settings", "sub/m.py", cwd=tmp_path).stdout
    assert f"extends: {tmp_path / 'pyproject.toml'}\n" in shown
    assert f"# from {tmp_path / 'pyproject.toml'}, {tmp_path / 'sub' / 'tflint-save.toml'}" in shown


@pytest.mark.parametrize("files, message", [
    ({"a.toml": 'extend = "b.toml"\n', "b.toml": 'extend = "a.toml"\n'}, "circular configuration"),
    ({"a.toml": 'extend = "nope.toml"\n'}, "extend: no such file"),
    ({"a.toml": 'extend = 3\n'}, "extend: expected the path of a configuration file"),
])
def test_a_broken_extend_is_exit_2(tmp_path, files, message):
    for name, body in files.items():
        write(tmp_path / name, body)
    write(tmp_path / "m.py", BAD)
    result = cli("--config", "a.toml", "m.py", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_config_option_is_used_for_every_file_with_globs_from_the_current_directory(tmp_path):
    write(tmp_path / "sub" / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS202"]\n')
    write(tmp_path / "ci.toml", 'ignore = ["TFS203"]\nextend-exclude = ["sub/gen"]\n')
    for rel in ("a.py", "sub/b.py", "sub/gen/c.py"):
        write(tmp_path / rel, BOTH)
    result = cli("--no-cache", "--config", "ci.toml", ".", cwd=tmp_path)
    assert codes(result) == {"a.py": ["TFS202"], "sub/b.py": ["TFS202"]}, result.stdout + result.stderr
    # From sub/, "sub/gen" is sub/sub/gen: nothing excluded (ruff anchors --config at the current directory).
    result = cli("--no-cache", "--config", "../ci.toml", ".", cwd=tmp_path / "sub")
    assert codes(result) == {"b.py": ["TFS202"], "gen/c.py": ["TFS202"]}, result.stdout + result.stderr


def test_a_broken_nested_configuration_stops_the_run(tmp_path):
    write(tmp_path / "sub" / "pyproject.toml", '[tool.tflint-save]\nselct = ["TFS1"]\n')
    write(tmp_path / "sub" / "m.py", BAD)
    write(tmp_path / "a.py", BAD)
    result = cli("--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2 and "unknown key 'selct'" in result.stderr and "Traceback" not in result.stderr


def test_per_directory_keras_version_and_the_cache(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nkeras-version = 3\n')
    write(tmp_path / "legacy" / "tflint-save.toml", 'keras-version = 2\n')
    # Enough files for worker processes (--jobs 2): each worker gets every file's own settings.
    for i in range(8):
        write(tmp_path / f"new_{i}.py", DIR)
        write(tmp_path / "legacy" / f"old_{i}.py", DIR)
    expected = {f"new_{i}.py": ["TFS202"] for i in range(8)}  # TFS202 is a Keras 3 rule
    for jobs in ("1", "2"):
        assert codes(cli("--no-cache", "--jobs", jobs, ".", cwd=tmp_path)) == expected
    first = cli("--jobs", "1", ".", cwd=tmp_path)
    assert codes(first) == expected and codes(cli(".", cwd=tmp_path)) == expected  # written, then read
    # The cached results of legacy/ were keyed with Keras 2: changing it there must not serve them.
    write(tmp_path / "legacy" / "tflint-save.toml", 'keras-version = 3\n')
    both = cli(".", cwd=tmp_path)
    assert codes(both) == {**expected, **{f"legacy/old_{i}.py": ["TFS202"] for i in range(8)}}


def test_stdin_filename_uses_the_configuration_of_that_path(tmp_path):
    write(tmp_path / "sub" / "tflint-save.toml", 'ignore = ["TFS203"]\n')
    assert cli("-", "--stdin-filename", "sub/m.py", cwd=tmp_path, stdin=BAD).stdout == ""
    assert "TFS203" in cli("-", "--stdin-filename", "m.py", cwd=tmp_path, stdin=BAD).stdout


# -- the command line and the configuration --------------------------------------------------------

@pytest.mark.parametrize("body, args, reported", [
    ('ignore = ["TFS203"]', ["--ignore", "TFS202"], []),  # --ignore adds to the configuration's
    ('ignore = ["TFS203"]', ["--extend-ignore", "TFS202"], []),
    ('ignore = ["TFS203"]', ["--select", "TFS2"], ["TFS202", "TFS203"]),  # --select starts again
    ('ignore = ["TFS203"]', ["--extend-select", "TFS203"], ["TFS202", "TFS203"]),
    ('select = ["TFS203"]', ["--extend-ignore", "TFS2"], []),
    ('extend-ignore = ["TFS203"]', [], ["TFS202"]),  # flake8's name is accepted
    ('select = []\nignore = ["TFS203"]', ["--select", "TFS2"], ["TFS202"]),  # ruff carries the ignore over
])
def test_command_line_selection_combines_with_the_configuration_as_in_ruff(tmp_path, body, args, reported):
    write(tmp_path / "tflint-save.toml", body + "\n")
    write(tmp_path / "m.py", BOTH)
    result = cli("--no-cache", "m.py", *args, cwd=tmp_path)
    assert codes(result).get("m.py", []) == reported, result.stdout + result.stderr


# The same cases as ruff 0.17.6 ran them (`ruff check --no-cache [ARGS] x.py` with F401 reported
# or not), with our codes: F -> TFS, F4 -> TFS2, F401 -> TFS203.
RUFF_CASES = [
    ((["TFS"], ["TFS203"], []), (None, [], ["TFS203"]), True),  # select F, ignore F401; --extend-select F401
    ((["TFS203"], ["TFS"], []), None, True),       # the more specific select wins within a layer
    ((["TFS"], ["TFS"], []), None, False),          # a tie: ignore wins
    ((["TFS203"], [], []), (None, ["TFS"], []), False),   # --extend-ignore F
    ((["TFS203"], [], []), (None, ["TFS2"], []), False),  # --ignore F4
    ((None, ["TFS2"], []), (None, [], ["TFS203"]), True),
    ((None, ["TFS203"], []), (None, [], ["TFS"]), True),  # a later layer's broader select still enables
    (([], ["TFS203"], []), (["TFS"], [], []), False),  # select = [] carries its ignore over
    (([], ["TFS203"], []), (None, [], ["TFS"]), False),
    ((["TFS"], ["TFS203"], []), (["ALL"], [], []), True),  # --select ALL starts again
]


@pytest.mark.parametrize("layer, cli_layer, enabled", RUFF_CASES)
def test_rule_selection_matches_ruff(layer, cli_layer, enabled):
    def make(values, origin):
        select, ignore, extend = values
        return config.Selection(tuple(select) if select is not None else None, tuple(ignore), tuple(extend), origin)

    layers = [config.Selection(("ALL",)), make(layer, "config")]
    if cli_layer is not None:
        layers.append(make(cli_layer, "command line"))
    assert config.enabled_by("TFS203", layers) is enabled


def test_unknown_codes_in_configuration_are_warnings_naming_them(tmp_path):
    write(tmp_path / "pyproject.toml",
          '[tool.tflint-save]\nignore = ["TFS203", "TFS999"]\nper-file-ignores = {"x.py" = ["XYZ1"]}\n')
    write(tmp_path / "m.py", BOTH)
    result = cli("--no-cache", "m.py", cwd=tmp_path)
    assert result.returncode == 1 and codes(result) == {"m.py": ["TFS202"]}
    assert "warning" in result.stderr and "ignore: unknown rule code or prefix 'TFS999', ignored" in result.stderr
    assert "'XYZ1'" in result.stderr and result.stderr.count("TFS999") == 1
    # On the command line an unknown code is still a usage error, as in ruff.
    bad = cli("m.py", "--extend-ignore", "TFS999", cwd=tmp_path)
    assert bad.returncode == 2 and "--extend-ignore: unknown rule code or prefix 'TFS999'" in bad.stderr


def test_show_settings_names_each_configuration_and_the_new_keys(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nrespect-gitignore = false\nextend-ignore = ["TFS203"]\n')
    write(tmp_path / "sub" / ".tflint-save.toml", 'select = ["TFS2"]\nforce-exclude = true\n')
    write(tmp_path / "a.py", BAD)
    write(tmp_path / "sub" / "b.py", BAD)
    out = cli("--show-settings", "--ignore", "TFS201", ".", cwd=tmp_path).stdout
    first, second = out.split("\n\n")
    assert first.startswith(f"config file: {tmp_path / 'pyproject.toml'}\n")
    assert f"ignore = ['TFS203', 'TFS201']    # from {tmp_path / 'pyproject.toml'}, command line" in first
    # Run-wide settings come from the root configuration (the current directory's), as in ruff.
    assert f"respect-gitignore = False    # from {tmp_path / 'pyproject.toml'}" in first
    assert "force-exclude = False    # from default" in first and "files = 1 (first: a.py)" in first
    assert second.startswith(f"config file: {tmp_path / 'sub' / '.tflint-save.toml'}\n")
    assert f"select = ['TFS2']    # from {tmp_path / 'sub' / '.tflint-save.toml'}" in second
    assert "rules = TFS202, TFS203, TFS204, TFS205, TFS206\n" in second  # --ignore TFS201 applies to every configuration
    assert "respect-gitignore" not in second


# -- .gitignore ----------------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path):
    """A git work tree (ruff reads .gitignore only inside one: a .git directory is what marks it)."""
    root = tmp_path / "repo"
    (root / ".git" / "info").mkdir(parents=True)
    for rel in ("gen/a.py", "keep/b.py", "keep/sub/c.py", "keep/sub/d.py", "x.py", "notes.py"):
        write(root / rel, BAD)
    write(root / ".gitignore", "gen/\n*.py[co]\nnotes.py\n")
    write(root / "keep" / ".gitignore", "!notes.py\n")
    write(root / "keep" / "sub" / ".gitignore", "d.py\n")
    return root


def linted(result):
    return sorted(codes(result))


def test_gitignored_files_are_not_linted(repo, tmp_path):
    env = isolated(tmp_path)
    assert linted(cli("--no-cache", ".", cwd=repo, env=env)) == ["keep/b.py", "keep/sub/c.py", "x.py"]
    # The parent's .gitignore applies from a sub-directory too; a deeper "!pattern" wins.
    write(repo / "keep" / "notes.py", BAD)
    assert linted(cli("--no-cache", ".", cwd=repo / "keep", env=env)) == ["b.py", "notes.py", "sub/c.py"]


def test_git_info_exclude_and_the_global_excludes_file(repo, tmp_path):
    env = isolated(tmp_path)
    write(repo / ".git" / "info" / "exclude", "b.py\n")
    write(tmp_path / "home" / ".config" / "git" / "ignore", "c.py\n")  # git's default global file
    assert linted(cli("--no-cache", ".", cwd=repo, env=env)) == ["x.py"]
    # core.excludesFile replaces the default one.
    write(tmp_path / "home" / ".gitconfig", '[user]\n\tname = me\n[core]\n\texcludesFile = "~/my-ignore"\n')
    write(tmp_path / "home" / "my-ignore", "x.py\n")
    assert linted(cli("--no-cache", ".", cwd=repo, env=env)) == ["keep/sub/c.py"]


def test_no_respect_gitignore(repo, tmp_path):
    env = isolated(tmp_path)
    everything = ["gen/a.py", "keep/b.py", "keep/sub/c.py", "keep/sub/d.py", "notes.py", "x.py"]
    assert linted(cli("--no-cache", "--no-respect-gitignore", ".", cwd=repo, env=env)) == everything
    write(repo / "pyproject.toml", "[tool.tflint-save]\nrespect-gitignore = false\n")
    assert linted(cli("--no-cache", ".", cwd=repo, env=env)) == everything
    assert len(linted(cli("--no-cache", "--respect-gitignore", ".", cwd=repo, env=env))) == 3


def test_files_named_on_the_command_line_are_linted_even_if_gitignored(repo, tmp_path):
    env = isolated(tmp_path)
    named = ["gen/a.py", "keep/sub/d.py"]
    assert linted(cli("--no-cache", *named, cwd=repo, env=env)) == named
    # ruff 0.17.6 lints them with --force-exclude too: that applies the exclude globs, not .gitignore.
    assert linted(cli("--no-cache", "--force-exclude", *named, cwd=repo, env=env)) == named
    # A directory named on the command line is searched, whatever .gitignore says of it.
    assert linted(cli("--no-cache", "gen", cwd=repo, env=env)) == ["gen/a.py"]


def test_gitignore_outside_a_git_repository_is_not_read(tmp_path):
    # As ruff: a .gitignore means something only in a git work tree.
    write(tmp_path / "plain" / ".gitignore", "gen/\n")
    write(tmp_path / "plain" / "gen" / "a.py", BAD)
    assert linted(cli("--no-cache", ".", cwd=tmp_path / "plain", env=isolated(tmp_path))) == ["gen/a.py"]


# -- symbolic links (issue 12) --------------------------------------------------------------------

FIXABLE = "import keras\nacc = keras.metrics.Accuracy()\nacc.reset_states()\n"  # TFS405, a safe fix


def test_a_symlinked_file_is_linted_and_fixed_once(tmp_path):
    write(tmp_path / "pkg" / "a.py", FIXABLE)
    os.symlink("a.py", tmp_path / "pkg" / "link.py")
    os.symlink("pkg", tmp_path / "linked_dir")  # not entered, as in ruff
    result = cli("--no-cache", "--keras-version", "3", ".", cwd=tmp_path)
    assert codes(result) == {"pkg/a.py": ["TFS405"]}, result.stdout
    assert codes(cli("--no-cache", "--keras-version", "3", "pkg/link.py", "pkg/a.py", cwd=tmp_path)) == \
        {"pkg/link.py": ["TFS405"]}
    # --fix found the file "changed while it was being fixed" (exit 2) when it came twice.
    fixed = cli("--no-cache", "--keras-version", "3", "--fix", ".", cwd=tmp_path)
    assert fixed.returncode == 0 and fixed.stdout == "", fixed.stdout + fixed.stderr
    assert "reset_state()" in (tmp_path / "pkg" / "a.py").read_text()


def test_a_symlink_loop_and_a_broken_link_are_named(tmp_path):
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    os.symlink("gone.py", tmp_path / "dangling.py")
    write(tmp_path / "m.py", BAD)
    result = cli("--no-cache", "loop1", "dangling.py", "m.py", cwd=tmp_path)
    assert result.returncode == 2 and "TFS203" in result.stdout
    assert "tflint-save: error: loop1: symbolic link loop" in result.stderr
    assert "tflint-save: error: dangling.py: broken symbolic link (to 'gone.py', which does not exist)" in result.stderr


def test_isolated_reads_no_configuration_and_show_files_lists_what_would_be_linted(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tflint-save]\nignore = ["TFS203"]\nextend-exclude = ["gen"]\n')
    write(tmp_path / "m.py", BAD)
    write(tmp_path / "gen" / "g.py", BAD)
    assert cli("--no-cache", "m.py", cwd=tmp_path).stdout == ""
    assert codes(cli("--no-cache", "--isolated", ".", cwd=tmp_path)) == {"gen/g.py": ["TFS203"], "m.py": ["TFS203"]}
    shown = cli("--show-files", ".", cwd=tmp_path)
    assert (shown.returncode, shown.stdout) == (0, "m.py\n")
    assert cli("--show-files", "--isolated", ".", cwd=tmp_path).stdout.splitlines() == ["m.py",
                                                                                          os.path.join("gen", "g.py")]
    both = cli("--isolated", "--config", "pyproject.toml", "m.py", cwd=tmp_path)
    assert both.returncode == 2 and "--config and --isolated cannot be used together" in both.stderr


def test_the_readme_configuration_example_is_valid(tmp_path):
    import re

    from test_cli import ROOT

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("## Configuration", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert 'extend = "../pyproject.toml"' in example
    write(tmp_path / "pyproject.toml", example.replace("../pyproject.toml", "base.toml"))
    write(tmp_path / "base.toml", 'ignore = ["TFS203"]\n')
    write(tmp_path / "m.py", BAD)
    result = cli("--show-settings", "m.py", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert f"extends: {tmp_path / 'base.toml'}" in result.stdout


def test_ignore_files_are_read_anywhere_and_decide_before_gitignore(tmp_path):
    # ruff 0.17.6: a .ignore (ripgrep's) counts outside git too, and any .ignore match beats
    # any .gitignore match, however deep.
    env = isolated(tmp_path)
    write(tmp_path / "plain" / ".ignore", "a.py\n")
    write(tmp_path / "plain" / "p" / "q" / "a.py", BAD)
    write(tmp_path / "plain" / "p" / "q" / "b.py", BAD)
    assert linted(cli("--no-cache", ".", cwd=tmp_path / "plain" / "p", env=env)) == ["q/b.py"]
    write(tmp_path / "plain" / "p" / "q" / ".ignore", "!a.py\n")
    assert linted(cli("--no-cache", ".", cwd=tmp_path / "plain" / "p", env=env)) == ["q/a.py", "q/b.py"]
    (tmp_path / "plain" / ".git").mkdir()
    write(tmp_path / "plain" / ".ignore", "!b.py\n")
    write(tmp_path / "plain" / "p" / "q" / ".gitignore", "b.py\n")
    assert linted(cli("--no-cache", ".", cwd=tmp_path / "plain" / "p", env=env)) == ["q/a.py", "q/b.py"]
    assert linted(cli("--no-cache", "--no-respect-gitignore", ".", cwd=tmp_path / "plain", env=env)) == \
        ["p/q/a.py", "p/q/b.py"]


def test_a_negated_per_file_ignores_glob_applies_to_the_other_files(tmp_path):
    # ruff 0.17.6: "!y.py" = ["F401"] silenced F401 in x.py and kept it in y.py.
    write(tmp_path / "sub" / "tflint-save.toml", '[per-file-ignores]\n"!sub/keep/*" = ["TFS203"]\n')
    write(tmp_path / "sub" / "keep" / "k.py", BAD)
    write(tmp_path / "sub" / "other.py", BAD)
    result = cli("--no-cache", ".", cwd=tmp_path / "sub")
    assert codes(result) == {}, result.stdout  # "sub/keep/*" is relative to sub/: sub/sub/keep/*
    write(tmp_path / "sub" / "tflint-save.toml", '[per-file-ignores]\n"!keep/*" = ["TFS203"]\n')
    assert codes(cli("--no-cache", ".", cwd=tmp_path / "sub")) == {"keep/k.py": ["TFS203"]}
