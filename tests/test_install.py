"""The README's quick start, run for real: a fresh virtual environment, `pip install .`,
then the installed `tflint-save` on docs/examples/ (and --explain from the installed wheel,
which needs the rule catalog shipped inside it)."""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".ci"))

from readme_command import command  # noqa: E402


def _copy_tracked(dest):
    """The repository as a fresh clone would have it (tracked and new files, no venvs)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in listed:
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))


def test_readme_quick_start_in_a_fresh_venv(tmp_path):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        quick_start = command(handle.read(), "quickstart")
    checkout = tmp_path / "checkout"
    _copy_tracked(str(checkout))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    result = subprocess.run(["bash", "-c", quick_start], cwd=checkout, capture_output=True, text=True,
                            env=env, timeout=900)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # The examples are there to show findings: exit 1, and one flake8-style line per finding.
    assert result.returncode == 1, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    lines = [l for l in result.stdout.splitlines() if l.startswith("docs/examples/")]
    assert len(lines) >= 5, result.stdout
    with open(os.path.join(ROOT, "docs", "examples", "expected.txt"), encoding="utf-8") as handle:
        assert lines == handle.read().splitlines()

    installed = checkout / ".venv" / "bin" / "tflint-save"
    explain = subprocess.run([str(installed), "--explain", "TFS101"], cwd=tmp_path, capture_output=True,
                             text=True, env=env, timeout=60)
    assert explain.returncode == 0 and explain.stdout.startswith("# TFS101 ")
    engine = subprocess.run([str(installed), "--explain", "parse-error"], cwd=tmp_path, capture_output=True,
                            text=True, env=env, timeout=60)
    assert engine.returncode == 0 and engine.stdout.startswith("# TFS001 parse-error")
    # The wheel's metadata carries [project.urls]: the rule links are absolute without the checkout.
    listed = subprocess.run([str(installed), "--list-rules", "--output-format", "json"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=60)
    urls = {rule["code"]: rule["url"] for rule in json.loads(listed.stdout)}
    assert urls["TFS001"].startswith("https://") and urls["TFS504"].endswith("/TFS504.md"), urls
    # Nothing of the checkout is importable from tmp_path: this is the wheel's own catalog.
    where = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-c",
                            "import tflint_save.catalog as c; print(c.catalog_dir())"],
                           cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert "site-packages" in where.stdout, where.stdout + where.stderr
