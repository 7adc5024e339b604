"""--verify and --check-rules: run each finding's claim against the installed TensorFlow.

- ``check``: findings and catalog examples -> jobs -> each finding's verification, the summary.
- ``workers``: the processes (``worker.py``, started by path with the chosen interpreter) that
  import TensorFlow once and answer jobs.
- ``cache``: results already known, by job.
- ``source``: the user's definitions a check executes, and nothing else of their modules.

Nothing here imports TensorFlow: only ``worker.py``, in its own process, does.
"""

from tflint_save.verify.cache import Cache, job_key
from tflint_save.verify.check import (
    SNIPPET_SUFFIX, check_rules, confirmed_only, example_facts, facts_for, flags_bad_example, snippet_for,
    verify_findings,
)
from tflint_save.verify.workers import INSTALL, STATUSES, Job, Options, VerifyError, Worker, probe, run_jobs

__all__ = [
    "Cache", "INSTALL", "Job", "Options", "SNIPPET_SUFFIX", "STATUSES", "VerifyError", "Worker", "check_rules",
    "confirmed_only", "example_facts", "facts_for", "flags_bad_example", "job_key", "probe", "run_jobs",
    "snippet_for", "verify_findings",
]
