"""Every rule, by family.  A rule's code names its class (``TFS201`` -> ``class TFS201``... see
each module), its catalog entry ``rules/<CODE>.toml`` and its docs ``docs/rules/<CODE>.md``."""

from tflint_save.checks import custom, loading, metrics
from tflint_save.checks import paths, saving, suppression

RULES = [
    *loading.RULES,
    *custom.RULES,
    *metrics.RULES,
    *saving.RULES,
    *paths.RULES,
    *suppression.RULES,
]
