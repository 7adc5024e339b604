"""Every rule, by family.  A rule's code names its class (``TFS201`` -> ``class TFS201``... see
each module), its catalog entry ``rules/<CODE>.toml`` and its docs ``docs/rules/<CODE>.md``."""

from tflint_save.checks import custom, loading

RULES = [
    *loading.RULES,
    *custom.RULES,
]
