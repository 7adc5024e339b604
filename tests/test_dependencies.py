"""Reading what a project declares about TensorFlow and Keras: every dependency-file kind,
and bad files that must become messages, never exceptions."""

import os
import textwrap

import pytest

from tflint_save import dependencies
from tflint_save.dependencies import conda_specifiers, minimal_environment, poetry_specifiers, read_project
from tflint_save.kerasversion import decide, majors


def write(root, files):
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text).lstrip("\n"))


def declared(root, files):
    write(root, files)
    return read_project(str(root))


def entries(found):
    """The requirements on TensorFlow and Keras (numpy and Python limits: see limits())."""
    return [(d.name, d.specifiers, d.conditional, d.locked) for d in found.declared
            if d.name in dependencies.NAMES]


def limits(found):
    return [(d.name, d.specifiers, d.conditional) for d in found.declared if d.name not in dependencies.NAMES]


def version_of(root, files):
    found = declared(root, files)
    decision, problems = decide(found.declared)
    return (decision.version if decision else None), problems


# -- each kind of file ------------------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"requirements.txt": "numpy>=1.17,<1.23.4\nnumpy<1.20; python_version < '3.8'\npandas\n"},
     [("numpy", ("<1.23.4,>=1.17",), False), ("numpy", ("<1.20",), True)]),
    ({"pyproject.toml": "[project]\nname = 'x'\nrequires-python = '>=3.7,<3.9'\ndependencies = ['numpy<1.22']\n"},
     [("python", (">=3.7,<3.9",), False), ("numpy", ("<1.22",), False)]),
    ({"pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.8'\nnumpy = '~1.21'\n"},
     [("python", (">=3.8,<4",), False), ("numpy", (">=1.21,<1.22",), False)]),
    ({"setup.py": "from setuptools import setup\nsetup(python_requires='>=3.6', install_requires=['numpy'])\n"},
     [("python", (">=3.6",), False), ("numpy", ("",), False)]),
    ({"setup.cfg": "[options]\npython_requires = >=3.6\n"}, [("python", (">=3.6",), False)]),
    ({"environment.yml": "dependencies:\n  - python=3.8\n  - numpy=1.19\n"},
     [("python", ("==3.8.*",), False), ("numpy", ("==1.19.*",), False)]),
    ({"Pipfile": "[packages]\nnumpy = '<1.22'\n[requires]\npython_version = '3.8'\n"},
     [("python", ("==3.8.*",), False), ("numpy", ("<1.22",), False)]),
])
def test_numpy_and_python_limits_are_read_from_every_kind(tmp_path, files, expected):
    assert limits(declared(tmp_path, files)) == expected


def test_pyproject_project_dependencies_and_groups(tmp_path):
    found = declared(tmp_path, {"pyproject.toml": """
        [project]
        name = "x"
        dependencies = ["numpy", "tensorflow==2.15.*"]
        [project.optional-dependencies]
        gpu = ["tensorflow[and-cuda]>=2.16"]
        [dependency-groups]
        dev = ["tf-keras~=2.16", {include-group = "gpu"}]
        [tool.pdm.dev-dependencies]
        lint = ["keras<3"]
        [tool.uv]
        dev-dependencies = ["keras>=3"]
    """})
    assert found.problems == ()
    assert entries(found) == [
        ("tensorflow", ("==2.15.*",), False, False),
        ("tensorflow", (">=2.16",), True, False),
        ("tf-keras", ("~=2.16",), True, False),
        ("keras", ("<3",), True, False),
        ("keras", (">=3",), True, False),
    ]
    assert declared_version(found) == 2  # the unconditional pin decides


def declared_version(found):
    decision, _ = decide(found.declared)
    return decision.version if decision else None


@pytest.mark.parametrize("constraint, expected", [
    ("^2.15", [">=2.15,<3"]),
    ("^0.2.3", [">=0.2.3,<0.3"]),
    ("~2.15", [">=2.15,<2.16"]),
    ("~2.15.1", [">=2.15.1,<2.16"]),
    ("~2", [">=2,<3"]),
    ("2.15.0", ["==2.15.0"]),
    ("2.15.*", ["==2.15.*"]),
    (">= 2.10, < 2.16", [">=2.10,<2.16"]),
    (">=2.10 <2.16", [">=2.10,<2.16"]),
    ("*", [""]),
    ("~=2.15.0", ["~=2.15.0"]),
    ("2.14.* || ^2.16", ["==2.14.*", ">=2.16,<3"]),
])
def test_poetry_constraints_become_pep440(constraint, expected):
    assert poetry_specifiers(constraint) == expected


def test_poetry_tables(tmp_path):
    found = declared(tmp_path, {"pyproject.toml": """
        [tool.poetry.dependencies]
        python = "^3.10"
        tensorflow = "~2.15"
        keras = {version = "^2.15", optional = true}
        [tool.poetry.group.gpu.dependencies]
        tensorflow-macos = [{version = "2.15.0", markers = "sys_platform == 'darwin'"},
                            {version = "2.16.1", python = ">=3.12"}]
    """})
    assert found.problems == ()
    assert entries(found) == [
        ("tensorflow", (">=2.15,<2.16",), False, False),
        ("keras", (">=2.15,<3",), True, False),
        ("tensorflow-macos", ("==2.15.0", "==2.16.1"), True, False),
    ]
    assert declared_version(found) == 2


def test_requirements_with_includes_constraints_hashes_and_continuations(tmp_path):
    found = declared(tmp_path, {
        "requirements.txt": """
            # the base
            -r requirements/base.txt
            --index-url https://example.org/simple
            -e ./local_pkg
            numpy==1.26.4 \\
                --hash=sha256:abc
        """,
        "requirements/base.txt": """
            -r ../requirements.txt
            --requirement=ml.txt
            -c constraints.txt
        """,
        "requirements/ml.txt": "tensorflow-cpu>=2.12,<2.16  # TF 2.15 on the cluster\n",
        "requirements/constraints.txt": "keras==2.15.0 --hash=sha256:def\n",
        "requirements-dev.txt": "tf-keras\n",
    })
    assert found.problems == ()
    assert entries(found) == [
        ("tensorflow-cpu", ("<2.16,>=2.12",), False, False),
        ("keras", ("==2.15.0",), False, False),
        ("tf-keras", ("",), True, False),  # a requirements file beside requirements.txt: sometimes
    ]
    assert declared_version(found) == 2


def test_setup_cfg(tmp_path):
    found = declared(tmp_path, {"setup.cfg": """
        [metadata]
        name = x
        [options]
        install_requires =
            numpy
            tensorflow>=2.16
        [options.extras_require]
        legacy = tf-keras>=2.16
    """})
    assert entries(found) == [("tensorflow", (">=2.16",), False, False), ("tf-keras", (">=2.16",), True, False)]
    assert declared_version(found) == 3


def test_setup_py_literal_and_named_lists_never_executed(tmp_path):
    marker = tmp_path / "ran"
    found = declared(tmp_path, {"setup.py": f"""
        from setuptools import setup
        open({str(marker)!r}, "w").close()  # would prove it ran
        REQUIRED = ["numpy", "tensorflow<2.16"]
        setup(name="x", install_requires=REQUIRED,
              extras_require={{"k": ["keras<3"], "computed": [f"keras>={{3}}"]}})
    """})
    assert not marker.exists()
    assert entries(found) == [("tensorflow", ("<2.16",), False, False), ("keras", ("<3",), True, False)]
    assert declared_version(found) == 2


def test_setup_py_computed_requirements_are_unknown_not_a_problem(tmp_path):
    found = declared(tmp_path, {"setup.py": """
        import setuptools
        setuptools.setup(install_requires=open("requirements.in").read().split())  # tensorflow
    """})
    assert found == dependencies.Found((), ())


ENVIRONMENT = """
    name: train
    channels:
      - conda-forge
    dependencies:
      - python=3.10
      - conda-forge::tensorflow=2.15   # fuzzy: 2.15.*
      - "numpy>=1.24"
      - pip
      - pip:
        - tf-keras==2.15.1
        - --extra-index-url https://example.org
"""


def test_environment_yml(tmp_path):
    found = declared(tmp_path, {"environment.yml": ENVIRONMENT})
    assert found.problems == ()
    assert entries(found) == [("tensorflow", ("==2.15.*",), False, False), ("tf-keras", ("==2.15.1",), False, False)]
    assert declared_version(found) == 2


def test_environment_minimal_reader_matches_yaml():
    yaml = pytest.importorskip("yaml")
    text = textwrap.dedent(ENVIRONMENT)
    conda, pip = minimal_environment(text)
    data = yaml.safe_load(text)["dependencies"]
    assert conda == [d for d in data if isinstance(d, str)]
    assert pip == data[-1]["pip"]


@pytest.mark.parametrize("text", [
    "dependencies: [tensorflow=2.15, numpy]\n",
    "dependencies:\n  - &tf tensorflow=2.15\n  - pip:\n    - keras\n      - nested\n",
    "dependencies:\n  - tensorflow\n  key: value\n",
])
def test_environment_minimal_reader_refuses_what_it_cannot_read(text):
    with pytest.raises(dependencies._Unreadable, match="PyYAML"):
        minimal_environment(text)


@pytest.mark.parametrize("spec, expected", [
    ("tensorflow", ("tensorflow", [""])),
    ("tensorflow=2.15", ("tensorflow", ["==2.15.*"])),
    ("tensorflow=2.15.0=cpu_py311h", ("tensorflow", ["==2.15.0.*"])),
    ("tensorflow==2.15.0", ("tensorflow", ["==2.15.0"])),
    ("tensorflow>=2.10,<2.16", ("tensorflow", [">=2.10,<2.16"])),
    ("tensorflow 2.15.* cuda*", ("tensorflow", ["==2.15.*"])),
    ("conda-forge::keras>=3", ("keras", [">=3"])),
    ("keras=2.15|2.14", ("keras", ["==2.15.*", "==2.14.*"])),
])
def test_conda_match_specs(spec, expected):
    assert conda_specifiers(spec) == expected


def test_pipfile(tmp_path):
    found = declared(tmp_path, {"Pipfile": """
        [[source]]
        url = "https://pypi.org/simple"
        [packages]
        tensorflow = "==2.15.1"
        keras = "*"
        [dev-packages]
        tf-keras = {version = ">=2.15", markers = "python_version < '3.12'"}
    """})
    assert entries(found) == [("tensorflow", ("==2.15.1",), False, False), ("keras", ("",), False, False),
                              ("tf-keras", (">=2.15",), True, False)]
    assert declared_version(found) == 2


def test_lock_files(tmp_path):
    for name, text in (
        ("uv.lock", 'version = 1\n[[package]]\nname = "tensorflow"\nversion = "2.15.1"\n'
                    '[[package]]\nname = "numpy"\nversion = "1.26.4"\n'),
        ("poetry.lock", '[[package]]\nname = "tensorflow"\nversion = "2.15.1"\n'),
        ("Pipfile.lock", '{"_meta": {}, "default": {"tensorflow": {"version": "==2.15.1"}}, "develop": {}}'),
    ):
        root = tmp_path / name
        found = declared(root, {name: text, "pyproject.toml": '[project]\ndependencies = ["tensorflow>=2.10"]\n'})
        assert ("tensorflow", ("==2.15.1",), False, True) in entries(found), name
        # The range allows both; the lock says what is installed.
        assert declared_version(found) == 2, name


def test_files_that_do_not_mention_tensorflow_or_keras_are_not_parsed(tmp_path):
    found = declared(tmp_path, {"pyproject.toml": "[project\nthis is not toml", "setup.py": "def (:"})
    assert found == dependencies.Found((), ())


# -- what the requirements mean -----------------------------------------------------------------------

@pytest.mark.parametrize("requirement, expected", [
    ("tensorflow==2.15.*", {2}),
    ("tensorflow==2.15.0", {2}),
    ("tensorflow<2.16", {2}),
    ("tensorflow~=2.15.0", {2}),
    ("tensorflow<=2.15.1", {2}),
    ("tensorflow>2.15.1,<2.16", {2}),
    ("tensorflow>=2.16", {3}),
    ("tensorflow==2.16.0rc0", {3}),
    ("tensorflow>=2.15", {2, 3}),
    ("tensorflow", {2, 3}),
    ("tensorflow<2.17", {2, 3}),
    ("keras<3", {2}),
    ("keras==2.15.0", {2}),
    ("keras>=3.0", {3}),
    ("keras", {2, 3}),
    ("tf-nightly", {3}),
    ("tensorflow<2,>3", set()),
])
def test_majors(tmp_path, requirement, expected):
    found = declared(tmp_path, {"requirements.txt": requirement + "\n"})
    assert majors(found.declared[0]) == expected


def test_keras_and_tensorflow_together(tmp_path):
    # TensorFlow 2.16 requires Keras 3, so keras<3 narrows an open TensorFlow range to 2.15.
    assert version_of(tmp_path / "a", {"requirements.txt": "tensorflow>=2.12\nkeras<3\n"}) == (2, [])
    assert version_of(tmp_path / "b", {"requirements.txt": "tensorflow>=2.12\nkeras>=3\n"}) == (3, [])
    version, problems = version_of(tmp_path / "c", {"requirements.txt": "tensorflow>=2.16\nkeras<3\n"})
    assert version is None and "no Keras version satisfies these together" in problems[0]


def test_a_range_that_allows_both_is_keras_3_with_a_note(tmp_path):
    found = declared(tmp_path, {"requirements.txt": "tensorflow>=2.10\n"})
    decision, _ = decide(found.declared)
    assert decision.version == 3
    assert "allow both Keras 2" in decision.note and "requirements.txt:1: tensorflow>=2.10" in decision.source


def test_conditional_entries_count_only_without_an_unconditional_one(tmp_path):
    # Platform alternatives, each pinned to 2.15: Keras 2 whichever is installed.
    assert version_of(tmp_path / "a", {"requirements.txt": """
        tensorflow==2.15.0; sys_platform != "darwin"
        tensorflow-macos==2.15.0; sys_platform == "darwin"
    """}) == (2, [])
    # Either may be installed: both.
    found = declared(tmp_path / "b", {"requirements.txt": """
        tensorflow<2.16; python_version < "3.12"
        tensorflow>=2.16; python_version >= "3.12"
    """})
    assert decide(found.declared)[0].note
    # An optional extra pinning 2.15 does not change what the base dependency installs.
    found = declared(tmp_path / "c", {"pyproject.toml": """
        [project]
        dependencies = ["tensorflow>=2.16"]
        [project.optional-dependencies]
        old = ["tensorflow==2.15.*"]
    """})
    assert declared_version(found) == 3


def test_tf_keras_alone_decides_nothing(tmp_path):
    found = declared(tmp_path, {"requirements.txt": "tf-keras==2.16.0\n"})
    assert [d.name for d in found.declared] == ["tf-keras"]
    assert decide(found.declared) == (None, [])


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("files, message", [
    ({"pyproject.toml": '[project]\ndependencies = ["tensorflow==2.15"\n'}, "pyproject.toml: invalid TOML"),
    ({"Pipfile": "[packages]\ntensorflow = ==2.15\n"}, "Pipfile: invalid TOML"),
    ({"uv.lock": "[[package]]\nname = 'tensorflow'\nversion = \n"}, "uv.lock: invalid TOML"),
    ({"Pipfile.lock": '{"default": {"tensorflow": '}, "Pipfile.lock: invalid JSON"),
    ({"setup.py": "setup(install_requires=['tensorflow<2.16'],\n"}, "setup.py: cannot parse setup.py"),
    ({"setup.cfg": "[options\ninstall_requires = tensorflow\n"}, "setup.cfg: invalid setup.cfg"),
    ({"environment.yml": "dependencies:\n  - tensorflow=2.15\n - [oops\n"}, "environment.yml: "),
    ({"requirements.txt": "tensorflow==2.15; platform_flavour == 'x'\n"},
     "requirements.txt:1: cannot read the requirement \"tensorflow==2.15; platform_flavour == 'x'\""),
    ({"requirements.txt": "tensorflow=2.15\n"}, "requirements.txt:1: cannot read the requirement"),
    ({"requirements.txt": "-r missing-tensorflow.txt\n"}, "requirements.txt:1: missing-tensorflow.txt does not exist"),
    ({"pyproject.toml": '[tool.poetry.dependencies]\ntensorflow = "^two"\n'},
     "cannot read the version constraint '^two'"),
    ({"Pipfile": '[packages]\ntensorflow = "=>2.15"\n'}, "cannot read the version '=>2.15' of tensorflow"),
])
def test_bad_files_are_messages_not_exceptions(tmp_path, files, message):
    found = declared(tmp_path, files)
    assert found.declared == ()
    assert len(found.problems) == 1 and message in found.problems[0], found.problems
    assert found.problems[0].endswith("ignoring it")


def test_a_bad_line_leaves_the_good_ones(tmp_path):
    found = declared(tmp_path, {"requirements.txt": "tensorflow==2.15; os_name =! 'nt'\nkeras<3\nbad line here\n"})
    assert [d.name for d in found.declared] == ["keras"]
    assert len(found.problems) == 1  # "bad line here" names nothing of ours: not our business
