"""A notebook's own Keras: its pip installs, and the training job its written modules run in."""

import pytest

from tflint_save import cli, notebookenv
from test_notebook import code, write_notebook

LAYER = """import tensorflow as tf


class Linear(tf.keras.layers.Layer):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.w = tf.Variable(tf.ones((units,)))

    def call(self, x):
        return x * self.w


accuracy = tf.keras.metrics.SparseCategoricalAccuracy()
accuracy.reset_states()
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def codes(capsys, *argv):
    cli.main(["--isolated", "--no-cache", "--select", "TFS305,TFS405,TFS502", *argv])
    out, _ = capsys.readouterr()
    return sorted(line.split(": ")[1].split()[0] for line in out.splitlines() if ": TFS" in line)


@pytest.mark.parametrize("line, version", [
    ("!pip install tensorflow==2.0.0", 2),
    ("%pip install -q tensorflow==2.15", 2),
    ("!pip install -U tensorflow-gpu==1.15 wandb", 2),
    ("!pip3 install --upgrade 'tensorflow>=2.12,<2.16' -q", 2),
    ("!python -m pip install keras==2.12.0", 2),
    ("!pip install tensorflow[and-cuda]==2.14.0 && echo done", 2),
    ("!pip install tf-nightly", 3),
    ("%pip install tensorflow==2.17.0", 3),
    ("!pip install -q keras>=3.0 tensorflow==2.18", 3),
])
def test_pinned_version(line, version):
    assert notebookenv.pinned({1: ["import os", line]}).version == version


@pytest.mark.parametrize("line", [
    "!pip install tensorflow",  # whatever is newest, or what is installed already: unknown
    "!pip install 'tensorflow>=2.0'",  # allows both
    "!pip install tensorflow=={TF_VERSION}",  # IPython expands it at run time
    "!pip install -r requirements.txt tensorflow==$TF",
    "!pip install tf_keras",  # says nothing about tf.keras by itself
    "!pip install tensorflow==2.15 keras>=3",  # cannot both hold
])
def test_pins_that_decide_nothing(line):
    assert notebookenv.pinned({1: [line]}).version is None


@pytest.mark.parametrize("line", [
    "# !pip install tensorflow==2.0.0", "!pip uninstall -y tensorflow==2.0.0", "!pip install wandb numpy==1.26",
    "print('!pip install tensorflow==2.0.0')", "!pip install -r requirements.txt",
])
def test_no_pin(line):
    assert notebookenv.pinned({1: [line]}) is None


def test_a_pinned_notebook_runs_on_its_own_keras_over_the_setting(capsys):
    write_notebook("pinned.ipynb", [code("!pip install tensorflow==2.0.0"), code(LAYER)])
    write_notebook("unpinned.ipynb", [code("!pip install wandb"), code(LAYER)])
    # TF 2.0 is Keras 2: the tf.Variable is tracked and reset_states() exists.
    assert codes(capsys, "--keras-version", "3", "pinned.ipynb") == []
    assert codes(capsys, "--keras-version", "3", "unpinned.ipynb") == ["TFS305", "TFS405"]
    write_notebook("nightly.ipynb", [code("%pip install -q tf-nightly"), code(LAYER)])
    assert codes(capsys, "--keras-version", "2", "nightly.ipynb") == ["TFS305", "TFS405"]


def test_tf_keras_install_with_legacy_variable_is_keras_2(capsys):
    cells = [code("!pip install -q tf_keras tensorflow==2.17"),
             code('import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"'), code(LAYER)]
    write_notebook("legacy.ipynb", cells)
    assert codes(capsys, "--keras-version", "3", "legacy.ipynb") == []
    write_notebook("plain.ipynb", [cells[0], cells[2]])
    assert codes(capsys, "--keras-version", "3", "plain.ipynb") == ["TFS305", "TFS405"]


def test_show_settings_names_the_pin(capsys):
    write_notebook("pinned.ipynb", [code("!pip install tensorflow==2.0.0"), code(LAYER)])
    cli.main(["--isolated", "--show-settings", "pinned.ipynb"])
    out, _ = capsys.readouterr()
    assert "keras 2 for pinned.ipynb: installed by the notebook, cell 1: !pip install tensorflow==2.0.0" in out


TRAINER = """%%writefile trainer/task.py
import tensorflow as tf

checkpoint = tf.keras.callbacks.ModelCheckpoint("checkpoints/model", save_weights_only=True)
"""


@pytest.mark.parametrize("job, expected", [
    # Vertex AI prebuilt training container: TF 2.8, Keras 2
    ('!gcloud ai custom-jobs create --region=us-central1 --display-name=j '
     '--python-package-uris=gs://b/t.tar.gz '
     '--worker-pool-spec=machine-type=n1-standard-4,executor-image-uri='
     'us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-8:latest,python-module=trainer.task', []),
    ('job = aiplatform.CustomTrainingJob(display_name="j", script_path="trainer/task.py",\n'
     '    container_uri="gcr.io/cloud-aiplatform/training/tf-cpu.2-3:latest")', []),
    ('!gcloud ai-platform jobs submit training j --module-name=trainer.task --runtime-version=2.3', []),
    ('!gcloud ai custom-jobs create --worker-pool-spec=executor-image-uri='
     'us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest,python-module=trainer.task', ["TFS502"]),
    # a custom image whose TensorFlow the notebook does not say: unknown, a Keras 3 rule stays silent
    ('!gcloud ai custom-jobs create --worker-pool-spec=container-image-uri=gcr.io/p/trainer:latest', []),
    # no job: the module runs where the notebook runs
    ('!python -m trainer.task', ["TFS502"]),
])
def test_written_module_runs_on_the_training_job_image(capsys, job, expected):
    write_notebook("train.ipynb", [code("import os"), code(TRAINER), code(job)])
    assert codes(capsys, "--keras-version", "3", "train.ipynb") == expected


def test_job_image_versions_that_disagree_are_unknown():
    cells = {1: ["!gcloud ai custom-jobs create "
                 "executor-image-uri=us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-8:latest"],
             2: ["IMAGE = 'us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17:latest'"]}
    assert notebookenv.job_environment(cells).version is None
    assert notebookenv.job_environment({1: ["!python -m trainer.task"]}) is None
