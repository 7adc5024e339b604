"""Which Keras a notebook's code runs on, as the notebook itself says.

Two things a notebook says that its project's dependency files cannot:

- ``!pip install tensorflow==2.0.0`` (or ``%pip install -q tensorflow==2.15``, ``tf-nightly``,
  ``tensorflow-gpu==1.15``, ``keras==2.12``): the cells that follow run on the TensorFlow it
  installs, whatever the project declares or the linting machine has (``pinned``).
- ``%%writefile trainer/task.py`` modules that the notebook sends to a training service: they run
  in the service's container, on the TensorFlow of the image the notebook names
  (``us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-8:latest``, ``runtime_version="2.3"``),
  not on the notebook's (``job_environment``).

Read from the cells' text, never run.  A pin or image whose version cannot be decided (a
variable, ``>=2.0`` that allows both Keras, two images that disagree) decides nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tflint_save.dependencies import NAMES, TF_KERAS, Declared
from tflint_save.kerasversion import majors

_INSTALL = re.compile(
    r"^\s*(?:!|%)\s*(?:pip3?|python3?\s+-m\s+pip|\{sys\.executable\}\s+-m\s+pip|uv\s+pip)\s+install\s+(.*)$")
# pip options that take a value as the next word (when not written --opt=value).
_VALUED = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                     "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
                     "--upgrade-strategy", "--python-version", "--platform", "--only-binary", "--no-binary",
                     "--trusted-host", "--cache-dir", "--log", "--proxy", "--timeout", "--retries",
                     "--progress-bar", "--implementation", "--abi", "--report"})
_MENTION = re.compile(r"tensorflow|keras|tf[-_.]nightly", re.IGNORECASE)


@dataclass(frozen=True)
class Pinned:
    """What a notebook's own pip installs say about its Keras."""

    version: Optional[int]  # None: they name TensorFlow/Keras but decide nothing
    source: str  # for --show-settings: "cell 2: !pip install tensorflow==2.0.0"
    tf_keras: bool = False  # it installs tf-keras


def pinned(cells: Dict[int, List[str]]) -> Optional[Pinned]:
    """The Keras the notebook's ``!pip``/``%pip install`` lines fix; None when they name no
    TensorFlow or Keras package."""
    declared: List[Declared] = []
    undecided: List[str] = []
    for number, lines in cells.items():
        for line in lines:
            match = _INSTALL.match(line)
            if match is None:
                continue
            where = f"cell {number}: {line.strip()}"
            words = _words(match.group(1))
            if words is None:
                if _MENTION.search(match.group(1)):
                    undecided.append(where)
                continue
            for word in words:
                found = _requirement(word)
                if found is False:
                    undecided.append(where)
                elif found is not None:
                    name = canonicalize_name(found.name)
                    declared.append(Declared(name, (str(found.specifier),), where, line.strip()))
    if not declared and not undecided:
        return None
    tf_keras = any(d.name == TF_KERAS for d in declared)
    deciding = [d for d in declared if d.name != TF_KERAS]
    if undecided:
        return Pinned(None, undecided[0], tf_keras)
    if not deciding:
        return Pinned(None, declared[0].where, tf_keras)
    allowed: FrozenSet[int] = frozenset({2, 3})
    for d in deciding:
        allowed &= majors(d)
    if len(allowed) != 1:
        return Pinned(None, deciding[0].where, tf_keras)
    return Pinned(min(allowed), "; ".join(dict.fromkeys(d.where for d in deciding)), tf_keras)


def _words(text: str) -> Optional[List[str]]:
    """The requirement words of a pip command line (options and their values left out); None
    when the line cannot be split."""
    text = re.split(r"\s(?:&&|\|\||[;|>#])", " " + text)[0]
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    out: List[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _VALUED
        else:
            out.append(word)
    return out


def _requirement(word: str):
    """A Requirement on a package that decides the Keras version; None for another package;
    False for one of ours whose version the linter cannot know (``tensorflow=={TF}``, a URL)."""
    if not _MENTION.search(word):
        return None
    if any(c in word for c in "{}$"):
        return False  # IPython expands it at run time
    try:
        req = Requirement(word)
    except InvalidRequirement:
        return False
    if canonicalize_name(req.name) not in NAMES:
        return None
    return req


# -- where %%writefile modules run ---------------------------------------------------------------

# Prebuilt training images name their TensorFlow: Vertex AI / AI Platform training containers
# (tf-cpu.2-8, tf-gpu.2-12.py310), Deep Learning Containers (tf2-gpu.2-8) and TensorFlow's own images.
_IMAGE = re.compile(
    r"(?:/training/|deeplearning-platform-release/)tf2?-(?:cpu|gpu)\.(\d+)-(\d+)"
    r"|\btensorflow/tensorflow:(\d+)\.(\d+)")
# AI Platform Training's runtime version is its TensorFlow version.
_RUNTIME = re.compile(r"""(?i)runtime[-_]?version["']?\s*[:=]?\s*["']?(\d+)\.(\d+)\b""")
# A job sent to a training service: the modules it packages run there.
_JOB = re.compile(
    r"ai-platform\s+jobs\s+submit\s+training|ai\s+custom-jobs\s+create|Custom(?:Container|PythonPackage)?"
    r"TrainingJob\b|\bCustomJob\b|worker_pool_specs|executor_?[iI]mage_?[uU]ri|--master-image-uri|"
    r"runtime[-_]?version", re.IGNORECASE)


@dataclass(frozen=True)
class JobEnvironment:
    """Where the modules a notebook writes run: on a training service (``version`` the Keras of
    its image, None when it cannot be told)."""

    version: Optional[int]
    source: str


def job_environment(cells: Dict[int, List[str]]) -> Optional[JobEnvironment]:
    """The training service the notebook sends its written modules to; None when it sends none."""
    text = "\n".join(line for lines in cells.values() for line in lines if not line.lstrip().startswith("#"))
    if not _JOB.search(text):
        return None
    versions: Dict[int, str] = {}
    for match in list(_IMAGE.finditer(text)) + list(_RUNTIME.finditer(text)):
        numbers = [g for g in match.groups() if g is not None]
        major, minor = int(numbers[0]), int(numbers[1])
        versions.setdefault(2 if (major, minor) < (2, 16) else 3, match.group(0).strip())
    if len(versions) == 1:
        [(version, source)] = versions.items()
        return JobEnvironment(version, f"the training job's {source}")
    return JobEnvironment(None, "a training job whose TensorFlow version cannot be told")


def agreed(findings: Sequence, others: Sequence) -> List:
    """The findings (or pending findings) of one Keras version that the other also has, at the
    same place: what holds whichever version runs."""
    def key(item):
        f = getattr(item, "finding", item)
        return (f.code, f.line, f.col)

    keep = {key(o) for o in others}
    return [f for f in findings if key(f) in keep]
