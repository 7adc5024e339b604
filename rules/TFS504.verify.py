"""TFS504: tf.keras.saving (attribute access) under Keras 3."""

import importlib
import sys


def check(facts, workdir):
    attribute = facts.get("attribute") or "tensorflow.keras.saving"
    parts = attribute.split(".")
    if ".".join(parts[:3]) == "tensorflow.keras.saving" and "tensorflow.keras.saving" in sys.modules:
        # An earlier `from tensorflow.keras.saving import ...` in this process creates the attribute.
        return {"status": "inconclusive", "evidence": "tensorflow.keras.saving was already imported in this process"}
    try:
        found = importlib.import_module(parts[0])
        for part in parts[1:]:
            found = getattr(found, part)
    except AttributeError as exc:
        return {"status": "confirmed", "evidence": f"{attribute}: {first_line(exc)}"}
    except ImportError as exc:
        return {"status": "inconclusive", "evidence": f"cannot import {parts[0]}: {first_line(exc)}"}
    return {"status": "not reproduced", "evidence": f"{attribute} exists"}
